import { describe, expect, it } from 'vitest';
import { isoWithOffset, isoWithOffsetExact } from './time.js';

describe('isoWithOffset', () => {
  it.each([
    [Date.UTC(2026, 10, 24, 17, 30, 5, 999), 'UTC', '2026-11-24T17:30:05+00:00'],
    [Date.UTC(2026, 10, 24, 17, 30, 5), 'Europe/Berlin', '2026-11-24T18:30:05+01:00'],
    [Date.UTC(2026, 6, 1, 0, 0, 0), 'Europe/Berlin', '2026-07-01T02:00:00+02:00'],
    [Date.UTC(2026, 0, 1, 3, 0, 0), 'America/New_York', '2025-12-31T22:00:00-05:00'],
    [Date.UTC(2026, 0, 1, 0, 0, 0), 'Asia/Kolkata', '2026-01-01T05:30:00+05:30'],
  ])('%i in %s → %s', (ms, tz, expected) => {
    expect(isoWithOffset(ms, tz)).toBe(expected);
    expect(Date.parse(expected)).toBe(Math.floor(ms / 1000) * 1000);
  });
});

describe('isoWithOffset’s cache of offsets per hour', () => {
  // Around changes of offset (DST both ways, a zone that changed its base offset, half- and
  // quarter-hour zones), every second the cache answers must be what Intl says.
  it.each([
    ['Europe/Berlin', Date.UTC(2026, 2, 29, 1, 0, 0)],
    ['Europe/Berlin', Date.UTC(2026, 9, 25, 1, 0, 0)],
    ['America/New_York', Date.UTC(2026, 2, 8, 7, 0, 0)],
    ['Australia/Lord_Howe', Date.UTC(2026, 3, 4, 15, 0, 0)],
    ['Asia/Kathmandu', Date.UTC(1986, 0, 1, 0, 0, 0)],
    ['Pacific/Apia', Date.UTC(2011, 11, 30, 10, 0, 0)],
  ])('%s around %i', (zone, change) => {
    for (let ms = change - 2 * 3_600_000; ms <= change + 2 * 3_600_000; ms += 7_001) {
      expect(isoWithOffset(ms, zone)).toBe(isoWithOffsetExact(ms, zone));
    }
    for (const ms of [change - 1, change, change + 1, change - 1000, change + 999]) {
      expect(isoWithOffset(ms, zone)).toBe(isoWithOffsetExact(ms, zone));
    }
  });
});
