import { describe, expect, it } from 'vitest';
import { accountNote, BERLIN, deviceNote, MIN, T0, upEvent, UTC } from '../test-support/fixtures.js';
import { auditSummary, cardOf, clip, fitCount, headline, moreText, severityOf, tagOf } from './cards.js';

describe('severityOf', () => {
  it.each([
    ['device.down', 'bad'],
    ['account.unreachable', 'bad'],
    ['device.not_found', 'bad'],
    ['device.reminder', 'warn'],
    ['device.flapping', 'warn'],
    ['device.stalled', 'warn'],
    ['device.failing', 'warn'],
    ['device.balance_low', 'warn'],
    ['device.something_new', 'warn'],
    ['device.up', 'good'],
    ['account.recovered', 'good'],
    ['device.delivery_recovered', 'good'],
    ['test', 'info'],
    ['audit.report', 'info'],
  ])('%s → %s', (type, severity) => {
    expect(severityOf(type)).toBe(severity);
  });
});

describe('tagOf', () => {
  it.each([
    ['device.down', 'DOWN'],
    ['device.reminder', 'STILL DOWN'],
    ['device.stalled', 'STALLED'],
    ['device.balance_low', 'LOW BALANCE'],
  ])('%s → %s', (type, tag) => {
    expect(tagOf(type)).toBe(tag);
  });
});

describe('fitCount', () => {
  it.each<[string, number[], { budget: number; maxCount: number; moreCost: number }, number]>([
    ['all fit', [10, 10, 10], { budget: 30, maxCount: 3, moreCost: 5 }, 3],
    ['too many: one slot goes to "…and N more"', [1, 1, 1, 1], { budget: 100, maxCount: 3, moreCost: 1 }, 2],
    ['too big: the more line’s room is kept', [10, 10, 10], { budget: 29, maxCount: 10, moreCost: 5 }, 2],
    ['at least one, however big', [500], { budget: 100, maxCount: 10, moreCost: 5 }, 1],
    ['at least one of many', [500, 1], { budget: 100, maxCount: 10, moreCost: 5 }, 1],
  ])('%s', (_name, sizes, limits, n) => {
    expect(fitCount(sizes, limits)).toBe(n);
  });
});

describe('wording shared by the chat channels', () => {
  it('headline: the email subject without its prefix', () => {
    expect(headline([deviceNote()])).toBe('DOWN: Sales phone (123456789) disconnected');
    expect(headline([deviceNote({ number: '1', name: 'A', event: upEvent() }), deviceNote()])).toBe(
      'DOWN: 1 device, UP: 1 device — Sales phone (123456789) disconnected, A (1) connected',
    );
  });

  it('moreText: the status page as a link, or the command', () => {
    const link = (href: string, text: string) => `[${text}](${href})`;
    expect(moreText(38, BERLIN, link)).toBe(
      '…and 38 more — [see the status page](https://monitor.example.com/)',
    );
    expect(moreText(38, UTC, link)).toBe('…and 38 more — `whatsgate-monitor status` lists every device');
  });

  it('a reminder says how long the outage lasts; an unreachable account what to check', () => {
    const reminder = cardOf(deviceNote({ event: { type: 'device.reminder', at: T0 + 245 * MIN } }), UTC);
    expect(reminder.lines).toContainEqual({
      label: 'Down since',
      text: '2026-11-24 17:29:00 +00:00 (4 h 6 min)',
    });
    const account = cardOf(accountNote(), UTC);
    expect(account.lines.map((l) => l.label)).toEqual(['Since', 'Error', 'Meaning', 'What to do']);
  });

  it('auditSummary: the opening lines and "Needs attention", not the table', () => {
    const text = [
      'WhatsGate device audit — period',
      '2 devices, uptime 99 %',
      '',
      'ACCOUNT  DEVICE',
      'main     1',
      '',
      'Needs attention:',
      '  - A (1, account main): stale',
      '      whatsgate-monitor connect 1',
      '',
      'Uptime counts observed time only.',
    ].join('\n');
    expect(auditSummary(text)).toBe(
      [
        'WhatsGate device audit — period',
        '2 devices, uptime 99 %',
        '',
        'Needs attention:',
        '  - A (1, account main): stale',
        '      whatsgate-monitor connect 1',
      ].join('\n'),
    );
  });

  it('clip', () => {
    expect(clip('abcdef', 6)).toBe('abcdef');
    expect(clip('abcdefg', 6)).toBe('abcde…');
  });
});
