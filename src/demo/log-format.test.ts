import { describe, expect, it } from 'vitest';
import { formatClock, formatLogLine } from './log-format.js';

const UTC = { timeZone: 'UTC' };

describe('formatLogLine', () => {
  it.each([
    [
      'an alert',
      {
        level: 'info',
        time: '2026-01-02T03:04:05.678Z',
        service: 'whatsgate-monitor',
        component: 'notify',
        event: 'device.down',
        device: '100000001',
        name: 'Sales phone',
        msg: 'alert device.down: Sales phone (100000001) disconnected',
      },
      '03:04:05 INFO  notify    alert device.down: Sales phone (100000001) disconnected event=device.down device=100000001 name="Sales phone"',
    ],
    [
      'a check with numbers and null',
      {
        level: 'debug',
        time: '2026-01-02T03:04:05Z',
        component: 'poller',
        msg: 'checked',
        from: null,
        ms: 3,
      },
      '03:04:05 DEBUG poller    checked from=null ms=3',
    ],
    [
      'an error object',
      {
        level: 'error',
        time: '2026-01-02T03:04:05Z',
        msg: 'tick failed',
        err: { type: 'Error', message: 'boom', stack: '…' },
      },
      '03:04:05 ERROR           tick failed err="boom"',
    ],
  ])('%s', (_what, entry, expected) => {
    expect(formatLogLine(JSON.stringify(entry), UTC)).toBe(expected);
  });

  it.each(['not json', '[1,2]', '42', ''])('passes %j through unchanged', (line) => {
    expect(formatLogLine(line, UTC)).toBe(line);
  });

  it('formats the clock in the given zone', () => {
    expect(formatClock('2026-07-01T12:00:00Z', 'Europe/Berlin')).toBe('14:00:00');
    expect(formatClock('not a time')).toBe('not a time');
  });
});
