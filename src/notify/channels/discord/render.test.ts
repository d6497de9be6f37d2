import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import {
  accountNote,
  BERLIN,
  deliveryNote,
  deviceNote,
  T0,
  upEvent,
  UTC,
} from '../../test-support/fixtures.js';
import {
  DISCORD_COLOURS,
  DISCORD_CONTENT,
  DISCORD_DESCRIPTION,
  DISCORD_EMBEDS_TOTAL,
  DISCORD_MAX_EMBEDS,
  DISCORD_TITLE,
  discordMessage,
  embedChars,
} from './render.js';

const fiftyDown = (): NotificationEvent[] =>
  Array.from({ length: 50 }, (_, i) => {
    const n = String(50 - i).padStart(2, '0');
    return deviceNote({ number: `10000000${n}`, name: `Phone ${n}` });
  });

describe('discordMessage (golden)', () => {
  it('a single DOWN: content line, one red embed with every fact, mentions off', () => {
    expect(discordMessage([deviceNote({ labels: { team: 'sales' } })], BERLIN)).toMatchInlineSnapshot(`
      {
        "allowed_mentions": {
          "parse": [],
        },
        "content": "**DOWN: Sales phone (123456789) disconnected**
      Times are in Europe/Berlin. Sent by whatsgate-monitor. Status page: <https://monitor.example.com/>",
        "embeds": [
          {
            "color": 14171198,
            "description": "**Status:** disconnected since 2026-11-24 18:29:00 +01:00 (was connected)
      **Labels:** team=sales
      **Meaning:** The device was linked, but the link is lost (the phone is offline or WhatsApp was logged out).
      **What to do:** Check the phone: powered on, online, WhatsApp open. If it stays disconnected, re-link it with a QR code.
      **Re-link:** \`whatsgate-monitor connect 123456789\`
      [https://monitor.example.com/reconnect/123456789](https://monitor.example.com/reconnect/123456789)",
            "timestamp": "2026-11-24T17:30:00.000Z",
            "title": "DOWN — Sales phone (123456789), account main",
          },
        ],
      }
    `);
  });

  it('an UP: green, the outage, no re-link', () => {
    expect(discordMessage([deviceNote({ event: upEvent() })], UTC)).toMatchInlineSnapshot(`
      {
        "allowed_mentions": {
          "parse": [],
        },
        "content": "**UP: Sales phone (123456789) connected**
      Times are in UTC. Sent by whatsgate-monitor.",
        "embeds": [
          {
            "color": 2336090,
            "description": "**Status:** connected since 2026-11-24 18:00:00 +00:00 (was disconnected)
      **Outage:** 2026-11-24 17:29:00 +00:00 to 2026-11-24 18:00:00 +00:00 (31 min)
      **Meaning:** The device is linked and working.",
            "timestamp": "2026-11-24T18:00:00.000Z",
            "title": "UP — Sales phone (123456789), account main",
          },
        ],
      }
    `);
  });

  it('a grouped outage of 50: at most 10 embeds and 6000 characters, worst first, "…and N more"', () => {
    const { content, embeds } = discordMessage(fiftyDown(), BERLIN);
    expect(content.split('\n')[0]).toBe(
      '**DOWN: 50 devices — Phone 01 (1000000001) disconnected, Phone 02 (1000000002) disconnected, Phone 03 (1000000003) disconnected, …**',
    );
    expect(embeds.length).toBeLessThanOrEqual(DISCORD_MAX_EMBEDS);
    expect(embeds.reduce((n, e) => n + embedChars(e), 0)).toBeLessThanOrEqual(DISCORD_EMBEDS_TOTAL);
    const cards = embeds.slice(0, -1);
    expect(cards.map((e) => e.title)).toEqual(
      cards.map((_, i) => {
        const n = String(i + 1).padStart(2, '0');
        return `DOWN — Phone ${n} (10000000${n}), account main`;
      }),
    );
    expect(embeds.at(-1)).toEqual({
      description: `…and ${50 - cards.length} more — [see the status page](https://monitor.example.com/)`,
      color: DISCORD_COLOURS.info,
    });
    expect(cards.length).toMatchInlineSnapshot(`9`);
  });

  it('a stalled device renders its counts, since when, meaning, what to do and the re-link, amber', () => {
    const stalled = deliveryNote();
    const message = discordMessage([stalled], UTC);
    expect(message.embeds[0]?.color).toBe(DISCORD_COLOURS.warn);
    expect(message).toMatchInlineSnapshot(`
      {
        "allowed_mentions": {
          "parse": [],
        },
        "content": "**STALLED: Sales phone (123456789) not sending (50 pending)**
      Times are in UTC. Sent by whatsgate-monitor.",
        "embeds": [
          {
            "color": 15774258,
            "description": "**Delivery:** 500 sent, 50 pending, 10 failed today; 1000 left in the balance
      **Since:** 2026-11-24 16:30:00 +00:00 (1 h)
      **Meaning:** The device says connected, but 50 messages wait as pending and none has been sent since 2026-11-24 16:30:00 +00:00.
      **What to do:** Open WhatsApp on the phone and check it is online (powered on, with data, not in battery saver); messages usually go out once it is. If they stay pending, re-link the device with a QR code.
      **Re-link:** \`whatsgate-monitor connect 123456789\`",
            "timestamp": "2026-11-24T17:30:00.000Z",
            "title": "STALLED — Sales phone (123456789), account main",
          },
        ],
      }
    `);
  });

  it.each<[string, NotificationEvent, number]>([
    ['down', deviceNote(), DISCORD_COLOURS.bad],
    ['unreachable', accountNote(), DISCORD_COLOURS.bad],
    ['reminder', deviceNote({ event: { type: 'device.reminder' } }), DISCORD_COLOURS.warn],
    ['flapping', deviceNote({ event: { type: 'device.flapping' } }), DISCORD_COLOURS.warn],
    ['up', deviceNote({ event: upEvent() }), DISCORD_COLOURS.good],
    [
      'account recovered',
      accountNote({ event: { type: 'account.recovered', reason: null, message: null } }),
      DISCORD_COLOURS.good,
    ],
    ['test', { id: 't', kind: 'test', at: T0, channel: 'chat' }, DISCORD_COLOURS.info],
  ])('colour by severity: %s', (_name, event, colour) => {
    expect(discordMessage([event], UTC).embeds[0]?.color).toBe(colour);
  });

  it('an audit report is its summary, clipped inside the limits, with the status page', () => {
    const lines = ['WhatsGate device audit — 2026-11-17 to 2026-11-24', '3 devices, uptime 99.1 %', ''];
    lines.push('ACCOUNT DEVICE NAME', 'main 1 One', '', 'Needs attention:');
    for (let i = 0; i < 200; i++) lines.push(`  - Phone ${i} (${i}, account main): never connected: link it`);
    const audit: NotificationEvent = {
      id: 'a',
      kind: 'audit',
      at: T0,
      subject: '[whatsgate] Audit: 3 devices, uptime 99.1 %',
      text: lines.join('\n'),
      html: '<p>…</p>',
      report: {},
    };
    const { content, embeds } = discordMessage([audit], BERLIN);
    expect(content.length).toBeLessThanOrEqual(DISCORD_CONTENT);
    expect(embeds).toHaveLength(1);
    const [embed] = embeds;
    expect(embed?.title).toBe('REPORT — Audit: 3 devices, uptime 99.1 %');
    expect(embed?.title?.length).toBeLessThanOrEqual(DISCORD_TITLE);
    expect(embed?.description.length).toBeLessThanOrEqual(DISCORD_DESCRIPTION);
    expect(embed?.description).toContain('3 devices, uptime 99.1 %');
    expect(embed?.description).toContain('Needs attention:');
    expect(embed?.description).not.toContain('ACCOUNT DEVICE NAME');
    expect(embed?.description).toContain('**Full report:** [https://monitor.example.com/]');
  });

  it('escapes markdown in names; allowed_mentions stops "@everyone" in a name from pinging', () => {
    const message = discordMessage([deviceNote({ name: '@everyone *bold* [x](http://evil)' })], UTC);
    expect(message.allowed_mentions).toEqual({ parse: [] });
    expect(message.embeds[0]?.title).toBe(
      String.raw`DOWN — @everyone \*bold\* \[x\](http://evil) (123456789), account main`,
    );
  });
});
