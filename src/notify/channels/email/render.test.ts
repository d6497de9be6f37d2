import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import { emailSubject, escapeHtml, parseImageDataUrl, renderEmail } from './render.js';
import {
  accountNote,
  BERLIN,
  deviceNote,
  MIN,
  PNG_BASE64,
  QR_DATA_URL,
  T0,
  upEvent,
  UTC,
} from '../../test-support/fixtures.js';

const test = (channel: string): NotificationEvent => ({ id: 't', kind: 'test', at: T0, channel });

describe('emailSubject', () => {
  it.each<[string, NotificationEvent[], string]>([
    ['a drop', [deviceNote()], '[whatsgate] DOWN: Sales phone (123456789) disconnected'],
    [
      'an unpaired device',
      [deviceNote({ event: { status: 'not_connected' } })],
      '[whatsgate] DOWN: Sales phone (123456789) not connected',
    ],
    [
      'a device without a name shows its number once',
      [deviceNote({ number: '555', name: '555', event: { status: 'not_initialized' } })],
      '[whatsgate] DOWN: 555 not initialized',
    ],
    ['a recovery', [deviceNote({ event: upEvent() })], '[whatsgate] UP: Sales phone (123456789) connected'],
    [
      'a reminder',
      [deviceNote({ event: { type: 'device.reminder', at: T0 + 240 * MIN } })],
      '[whatsgate] STILL DOWN: Sales phone (123456789) disconnected',
    ],
    [
      'flapping',
      [deviceNote({ event: { type: 'device.flapping' } })],
      '[whatsgate] FLAPPING: Sales phone (123456789) flapping',
    ],
    ['an unreachable account', [accountNote()], '[whatsgate] UNREACHABLE: account main unreachable'],
    [
      'an account back',
      [accountNote({ event: { type: 'account.recovered', reason: null, message: null } })],
      '[whatsgate] REACHABLE: account main reachable again',
    ],
    ['a test', [test('ops')], '[whatsgate] TEST: test message for channel ops'],
    [
      'a mixed cycle: counts worst first, then the events worst first',
      [
        deviceNote({ number: '1', name: 'Up one', event: upEvent() }),
        deviceNote({ number: '2', name: 'Reminded', event: { type: 'device.reminder' } }),
        deviceNote({ number: '3', name: 'Flappy', event: { type: 'device.flapping' } }),
        accountNote({ account: 'second' }),
        deviceNote({ number: '4', name: 'Dropped' }),
      ],
      '[whatsgate] DOWN: 1 device (Dropped), UNREACHABLE: 1 account (second), FLAPPING: 1 device (Flappy), ' +
        'STILL DOWN: 1 device (Reminded), UP: 1 device (Up one)',
    ],
    [
      'two drops name both',
      [deviceNote({ number: '2', name: 'B' }), deviceNote({ number: '1', name: 'A' })],
      '[whatsgate] DOWN: 2 devices (A, B)',
    ],
  ])('%s', (_name, events, subject) => {
    expect(emailSubject(events)).toBe(subject);
  });

  it('an outage of 50 devices is one subject: the count, the first devices by name, then …', () => {
    const events = Array.from({ length: 50 }, (_, i) => {
      const n = String(50 - i).padStart(2, '0');
      return deviceNote({ number: `1000000${n}`, name: `Phone ${n}` });
    });
    expect(emailSubject(events)).toBe(
      '[whatsgate] DOWN: 50 devices (Phone 01, Phone 02, Phone 03, Phone 04, Phone 05, Phone 06, Phone 07, ' +
        'Phone 08, Phone 09, Phone 10, …)',
    );
  });

  it('a released group names the outage so far: worst first, then "N of M of account …"', () => {
    const outage = { down: 12, total: 40, likelyGatewaySide: true };
    const events = [
      deviceNote({ number: '3', name: 'Desk', event: upEvent() }),
      deviceNote({ number: '2', name: 'Support', outage }),
      deviceNote({ number: '1', name: 'Sales phone', outage }),
    ];
    expect(emailSubject(events)).toBe(
      '[whatsgate] DOWN: 2 devices (Sales phone, Support), UP: 1 device (Desk) — 12 of 40 of account main',
    );
    // One event keeps its single-event subject; the outage line is in the body only.
    expect(emailSubject([deviceNote({ outage })])).toBe(
      '[whatsgate] DOWN: Sales phone (123456789) disconnected',
    );
  });

  it('a recovery never hides an outage in a group: down leads even when listed last', () => {
    const events = [
      ...Array.from({ length: 5 }, (_, i) =>
        deviceNote({ number: `${i}`, name: `Up ${i}`, event: upEvent() }),
      ),
      deviceNote({ number: '9', name: 'Zed' }),
    ];
    expect(emailSubject(events)).toMatch(/^\[whatsgate\] DOWN: 1 device \(Zed\), UP: 5 devices \(Up 0, /);
  });
});

describe('renderEmail', () => {
  it('a mass outage opens with the count so far and, when the drops came together, the likely cause', () => {
    const together = { down: 12, total: 40, likelyGatewaySide: true };
    const mail = renderEmail(
      [
        deviceNote({ number: '1', name: 'A', outage: together }),
        deviceNote({ number: '2', name: 'B', outage: together }),
      ],
      UTC,
    );
    const lines = mail.text.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'DOWN: 2 devices (A, B) — 12 of 40 of account main',
      '',
      '12 of 40 devices of account main down so far. Most of the account’s devices dropped within minutes of each other: the cause is likely on the gateway’s side (a WhatsApp or WhatsGate incident), not the phones.',
      '',
    ]);
    expect(mail.html).toContain(
      '<p>12 of 40 devices of account main down so far. Most of the account’s devices',
    );
    const apart = { down: 2, total: 40, likelyGatewaySide: false };
    const calm = renderEmail([deviceNote({ number: '1', name: 'A', outage: apart })], UTC);
    expect(calm.text).toContain('\n2 of 40 devices of account main down so far.\n');
    expect(calm.text).not.toContain('gateway’s side');
    expect(renderEmail([deviceNote()], UTC).text).not.toContain('down so far');
  });

  it('a drop: status in the words of the gateway, times in the configured zone, meaning, what to do, re-link', () => {
    const mail = renderEmail([deviceNote({ labels: { team: 'sales' } })], BERLIN);
    expect(mail.subject).toBe('[whatsgate] DOWN: Sales phone (123456789) disconnected');
    expect(mail.text).toBe(
      [
        'DOWN: Sales phone (123456789) disconnected',
        '',
        'DOWN — Sales phone (123456789), account main',
        '  Status:      disconnected since 2026-11-24 18:29:00 +01:00 (was connected)',
        '  Labels:      team=sales',
        '  Meaning:     The device was linked, but the link is lost (the phone is offline or WhatsApp was logged out).',
        '  What to do:  Check the phone: powered on, online, WhatsApp open. If it stays disconnected, re-link it with a QR code.',
        '  Re-link:     whatsgate-monitor connect 123456789 (on the monitor’s host)',
        '               https://monitor.example.com/reconnect/123456789',
        '',
        '-- ',
        'Times are in Europe/Berlin. Sent by whatsgate-monitor.',
        'Status page: https://monitor.example.com/',
        '',
      ].join('\n'),
    );
    expect(mail.html).toMatch(
      /<code style="[^"]*">whatsgate-monitor connect 123456789<\/code> \(on the monitor’s host\)/,
    );
    // The link text may break anywhere: a long URL must not widen the mail on a phone.
    expect(mail.html).toContain(
      '<a href="https://monitor.example.com/reconnect/123456789" style="word-break: break-all; overflow-wrap: anywhere;">https://monitor.example.com/reconnect/123456789</a>',
    );
    expect(mail.images).toEqual([]);
  });

  it.each([
    ['UTC', UTC, '2026-11-24 17:29:00 +00:00'],
    ['Europe/Berlin (winter)', BERLIN, '2026-11-24 18:29:00 +01:00'],
    ['America/New_York', { timeZone: 'America/New_York', publicUrl: null }, '2026-11-24 12:29:00 -05:00'],
    ['Asia/Kolkata', { timeZone: 'Asia/Kolkata', publicUrl: null }, '2026-11-24 22:59:00 +05:30'],
  ])('times in %s', (_zone, ctx, since) => {
    const mail = renderEmail([deviceNote()], ctx);
    expect(mail.text).toContain(`disconnected since ${since} (was connected)`);
    expect(mail.html).toContain(`disconnected since ${since} (was connected)`);
    expect(mail.text).toContain(`Times are in ${ctx.timeZone}.`);
  });

  it.each([
    ['not_connected', 'exists at the gateway but is not paired', 'Scan a QR code'],
    ['not_initialized', 'no session loaded', 'give it a minute; otherwise re-link'],
    ['unknown', 'status the monitor does not know', 'WhatsGate dashboard'],
  ] as const)('explains %s and what to do', (status, meaning, action) => {
    const { text, html } = renderEmail([deviceNote({ event: { status } })], UTC);
    for (const part of [text, html]) {
      expect(part).toContain(meaning);
      expect(part).toContain(action);
    }
  });

  it('without public_url: the connect command only, no link, no status page', () => {
    const { text, html } = renderEmail([deviceNote()], UTC);
    expect(text).toContain('Re-link:     whatsgate-monitor connect 123456789 (on the monitor’s host)\n\n');
    expect(text).not.toContain('/reconnect/');
    expect(html).not.toContain('href=');
  });

  it('a reminder says how long the outage lasts', () => {
    const { text } = renderEmail(
      [deviceNote({ event: { type: 'device.reminder', at: T0 + 4 * 60 * MIN + 5 * MIN } })],
      UTC,
    );
    expect(text).toContain('STILL DOWN — Sales phone (123456789), account main');
    expect(text).toContain('Down since:  2026-11-24 17:29:00 +00:00 (4 h 6 min)');
  });

  it('a recovery tells the outage and gives no re-link instructions', () => {
    const { text } = renderEmail([deviceNote({ event: upEvent() })], BERLIN);
    expect(text).toContain('UP — Sales phone (123456789), account main');
    expect(text).toContain('Outage:      2026-11-24 18:29:00 +01:00 to 2026-11-24 19:00:00 +01:00 (31 min)');
    expect(text).not.toContain('Re-link');
  });

  it('an unreachable account says it is not a device outage, and what to check', () => {
    const { text } = renderEmail([accountNote()], UTC);
    expect(text).toContain('UNREACHABLE — account main');
    expect(text).toContain('unauthorized: the gateway rejected the access token (HTTP 401/403)');
    expect(text).toContain('unknown meanwhile — not down');
    expect(text).toContain('check the account’s `token`');
  });

  it('a QR code becomes an inline image referenced by cid, and the text says where it is', () => {
    const mail = renderEmail([deviceNote({ qrCode: QR_DATA_URL })], BERLIN);
    expect(mail.images).toEqual([
      {
        cid: 'qr-123456789-0@whatsgate-monitor',
        filename: 'qr-123456789.png',
        contentType: 'image/png',
        base64: PNG_BASE64,
      },
    ]);
    expect(mail.html).toContain('<img src="cid:qr-123456789-0@whatsgate-monitor"');
    expect(mail.text).toContain('QR code:     Shown below (in the HTML part of this email)');
  });

  it('a QR code that is not an image data URL is left out rather than embedded', () => {
    const mail = renderEmail([deviceNote({ qrCode: 'javascript:alert(1)' })], UTC);
    expect(mail.images).toEqual([]);
    expect(mail.html).not.toContain('javascript:');
  });

  it('names and labels are HTML-escaped', () => {
    const { html } = renderEmail([deviceNote({ name: '<b>Sales</b> & "co"', labels: { team: '<x>' } })], UTC);
    expect(html).toContain('&lt;b&gt;Sales&lt;/b&gt; &amp; &quot;co&quot;');
    expect(html).toContain('team=&lt;x&gt;');
    expect(html).not.toContain('<b>Sales');
  });

  it('50 devices: one email listing every device, worst first', () => {
    const events = [
      deviceNote({ number: '999', name: 'Back again', event: upEvent() }),
      ...Array.from({ length: 50 }, (_, i) =>
        deviceNote({
          number: `1000000${String(i).padStart(2, '0')}`,
          name: `Phone ${String(i).padStart(2, '0')}`,
        }),
      ),
    ];
    const { text } = renderEmail(events, UTC);
    const headers = text.split('\n').filter((l) => / — .*, account main$/.test(l));
    expect(headers).toHaveLength(51);
    expect(headers[0]).toBe('DOWN — Phone 00 (100000000), account main');
    expect(headers[49]).toBe('DOWN — Phone 49 (100000049), account main');
    expect(headers[50]).toBe('UP — Back again (999), account main');
  });

  it('a test message says which channel it tested', () => {
    const { subject, text } = renderEmail([test('ops')], UTC);
    expect(subject).toBe('[whatsgate] TEST: test message for channel ops');
    expect(text).toContain('If you read this, the channel works.');
  });
});

describe('helpers', () => {
  it.each([
    [QR_DATA_URL, { contentType: 'image/png', base64: PNG_BASE64 }],
    ['data:image/jpeg;base64,AAAA', { contentType: 'image/jpeg', base64: 'AAAA' }],
    ['data:text/html;base64,AAAA', null],
    ['data:image/png,notbase64', null],
    ['https://example.com/qr.png', null],
  ])('parseImageDataUrl(%s)', (input, expected) => {
    expect(parseImageDataUrl(input)).toEqual(expected);
  });

  it('escapeHtml', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
