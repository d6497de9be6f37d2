import { describe, expect, it } from 'vitest';
import { isoWithOffset } from './time.js';

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
