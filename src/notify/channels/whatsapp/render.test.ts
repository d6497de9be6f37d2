// Golden renderings: what an operator reads in WhatsApp.

import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import { accountNote, BERLIN, deviceNote, T0, upEvent, UTC } from '../../test-support/fixtures.js';
import { TEXT_LIMIT, whatsappText } from './render.js';

const DOWN_LINE = (n: string): string =>
  `🔴 *DOWN* Phone ${n} (1000000${n}), account main — disconnected since 2026-11-24 18:29:00 +01:00 (was connected)`;

const fifty = (): NotificationEvent[] =>
  Array.from({ length: 50 }, (_, i) => {
    const n = String(50 - i).padStart(2, '0');
    return deviceNote({
      number: `1000000${n}`,
      name: `Phone ${n}`,
      outage: { down: 50, total: 60, likelyGatewaySide: false },
    });
  });

describe('whatsappText', () => {
  it('a single DOWN: what, since when (in the time zone), meaning, what to do, how to re-link', () => {
    expect(whatsappText([deviceNote({ labels: { team: 'sales' } })], BERLIN)).toBe(
      [
        '🔴 *DOWN: Sales phone (123456789) disconnected*',
        'Sales phone (123456789), account main',
        '*Status:* disconnected since 2026-11-24 18:29:00 +01:00 (was connected)',
        '*Labels:* team=sales',
        '*Meaning:* The device was linked, but the link is lost (the phone is offline or WhatsApp was logged out).',
        '*What to do:* Check the phone: powered on, online, WhatsApp open. If it stays disconnected, re-link it with a QR code.',
        '*Re-link:* ```whatsgate-monitor connect 123456789```',
        'https://monitor.example.com/reconnect/123456789',
        '_Times in Europe/Berlin._ Status page: https://monitor.example.com/',
      ].join('\n'),
    );
  });

  it('an UP: the outage span, no re-link', () => {
    expect(whatsappText([deviceNote({ event: upEvent() })], BERLIN)).toBe(
      [
        '🟢 *UP: Sales phone (123456789) connected*',
        'Sales phone (123456789), account main',
        '*Status:* connected since 2026-11-24 19:00:00 +01:00 (was disconnected)',
        '*Outage:* 2026-11-24 18:29:00 +01:00 to 2026-11-24 19:00:00 +01:00 (31 min)',
        '*Meaning:* The device is linked and working.',
        '_Times in Europe/Berlin._ Status page: https://monitor.example.com/',
      ].join('\n'),
    );
  });

  it('an outage of 50: the count so far, worst first, cut on a whole line within 4000 characters', () => {
    const text = whatsappText(fifty(), BERLIN);
    expect([...text].length).toBeLessThanOrEqual(TEXT_LIMIT);
    const lines = text.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      '🔴 *DOWN: 50 devices — Phone 01 (100000001) disconnected, Phone 02 (100000002) disconnected, Phone 03 (100000003) disconnected, …*',
      '50 of 60 devices of account main down so far.',
      DOWN_LINE('01'),
    ]);
    expect(lines.slice(-5)).toEqual([
      DOWN_LINE('32'),
      '…and 18 more — see https://monitor.example.com/',
      '*disconnected:* Check the phone: powered on, online, WhatsApp open. If it stays disconnected, re-link it with a QR code.',
      '*Re-link a device:* ```whatsgate-monitor connect NUMBER``` or https://monitor.example.com/reconnect/NUMBER',
      '_Times in Europe/Berlin._ Status page: https://monitor.example.com/',
    ]);
    // Cut as late as possible: one more device line would not have fit.
    expect([...text].length + [...DOWN_LINE('33')].length + 1).toBeGreaterThan(TEXT_LIMIT);
  });

  it('without public_url: the commands instead of links', () => {
    const text = whatsappText(fifty(), UTC);
    expect(text).not.toContain('http');
    expect(text).toContain('more — see ```whatsgate-monitor status```');
    expect(whatsappText([deviceNote()], UTC)).toContain(
      '*Re-link:* ```whatsgate-monitor connect 123456789```\n_Times in UTC._',
    );
  });

  // A delivery-health event (SPEC §10): the device is connected, so the status's generic meaning
  // ("linked and working") and connection advice would mislead; the facts stay.
  it('a delivery-health event: named by its type, without the connection advice', () => {
    const stalled = deviceNote({
      event: {
        type: 'device.stalled',
        status: 'connected',
        previousStatus: null,
        since: T0 - 60 * 60_000,
        downSince: undefined,
      },
    });
    expect(whatsappText([stalled], BERLIN)).toBe(
      [
        '🟠 *STALLED: Sales phone (123456789) connected*',
        'Sales phone (123456789), account main',
        '*Status:* connected since 2026-11-24 17:30:00 +01:00',
        '_Times in Europe/Berlin._ Status page: https://monitor.example.com/',
      ].join('\n'),
    );
  });

  it('an unreachable account: the error and what to do', () => {
    expect(whatsappText([accountNote()], UTC)).toBe(
      [
        '🔴 *UNREACHABLE: account main unreachable*',
        'account main',
        '*Since:* 2026-11-24 17:28:00 +00:00',
        '*Error:* unauthorized: the gateway rejected the access token (HTTP 401/403)',
        '*Meaning:* The monitor cannot check the devices of this account. Their statuses are unknown meanwhile — not down.',
        '*What to do:* The gateway rejects the access token (HTTP 401/403): check the account’s `token`.',
        '_Times in UTC._',
      ].join('\n'),
    );
  });

  it('a test message names the channel', () => {
    const text = whatsappText([{ id: 't', kind: 'test', at: T0, channel: 'wa' }], UTC);
    expect(text.split('\n')[0]).toBe('ℹ️ *TEST: test message for channel wa*');
    expect(text).toContain('If you read this, the channel works.');
  });
});
