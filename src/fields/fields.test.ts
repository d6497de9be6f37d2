import { describe, expect, it } from 'vitest';
import { cronLongestGapMs, normalizeDeviceNumber, parseListen } from './fields.js';

describe('normalizeDeviceNumber', () => {
  it.each([
    ['123456789', '123456789'],
    ['+491511234567', '491511234567'],
    ['+49 151 1234567', '491511234567'],
    ['+49-151-1234567', '491511234567'],
    ['0049151', '0049151'],
    [491511234567, '491511234567'],
    ['123456789012345', '123456789012345'],
  ] as const)('%j → %s', (input, digits) => {
    expect(normalizeDeviceNumber(input)).toBe(digits);
  });

  it.each([
    ['12ab'],
    [''],
    ['+'],
    ['++49'],
    ['49 (151) 12'],
    ['1234567890123456'],
    ['49  151'],
    ['-49'],
    [1.5],
    [-4],
  ] as const)('refuses %j', (input) => {
    expect(normalizeDeviceNumber(input)).toBeNull();
  });
});

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:8749', { host: '127.0.0.1', port: 8749 }],
    ['[::1]:8749', { host: '::1', port: 8749 }],
    ['localhost:9000', { host: 'localhost', port: 9000 }],
    [':8749', { host: '0.0.0.0', port: 8749 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
  ])('%s', (input, address) => {
    expect(parseListen(input)).toEqual(address);
  });

  it.each([['8749'], ['::1:8749'], ['127.0.0.1:70000'], ['[nope]:80'], ['bad host:80'], ['127.0.0.1:']])(
    'refuses %s',
    (input) => {
      expect(typeof parseListen(input)).toBe('string');
    },
  );
});

describe('cronLongestGapMs', () => {
  it.each([
    ['*/10 * * * * *', 10_000],
    ['* * * * *', 60_000],
    ['*/5 * * * *', 300_000],
    ['0 * * * *', 3_600_000],
    ['0 9,17 * * *', 16 * 3_600_000],
    ['0 9 * * 1', 7 * 86_400_000],
    ['0 9 * * 1-5', 3 * 86_400_000],
    ['0 0 1 * *', 31 * 86_400_000],
    // 29 February: a leap day every 4 years
    ['0 0 29 2 *', 1461 * 86_400_000],
    // day of month OR day of week when both are restricted: the 13th or any Friday
    ['0 0 13 * 5', 7 * 86_400_000],
  ])('%s → %d ms', (expression, gap) => {
    expect(cronLongestGapMs(expression)).toBe(gap);
  });
});
