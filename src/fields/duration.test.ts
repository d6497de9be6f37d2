import { describe, expect, it } from 'vitest';
import { formatDuration, formatRate, parseDuration, parseRate } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['4h', 14_400_000],
    ['14d', 1_209_600_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
    ['1m30s500ms', 90_500],
    ['1.5h', 5_400_000],
    [' 30s ', 30_000],
    ['0', 0],
    ['0s', 0],
    [0, 0],
  ] as const)('%j → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([['30'], ['30x'], ['s'], [''], ['-1h'], ['1h 30m'], ['30 s'], ['h1'], [30], [1.5]] as const)(
    'refuses %j',
    (input) => {
      expect(parseDuration(input)).toBeNull();
    },
  );
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [30_000, '30s'],
    [5_400_000, '1h30m'],
    [1_209_600_000, '14d'],
    [90_500, '1m30s500ms'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('parseRate', () => {
  it.each([
    ['30/min', 30],
    ['1/s', 60],
    ['120/h', 2],
    ['1/h', 1 / 60],
    ['0.5/s', 30],
    ['45/minute', 45],
    ['10 / m', 10],
  ])('%s → %d per minute', (input, perMinute) => {
    expect(parseRate(input)).toBeCloseTo(perMinute, 10);
  });

  it.each([['30'], ['0/min'], ['30/day'], ['/min'], ['-1/s'], ['thirty/min']])('refuses %s', (input) => {
    expect(parseRate(input)).toBeNull();
  });

  it.each([
    [30, '30/min'],
    [0.5, '30/h'],
    [2.5, '2.5/min'],
  ])('formats %d per minute as %s', (perMinute, text) => {
    expect(formatRate(perMinute)).toBe(text);
  });
});
