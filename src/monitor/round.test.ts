import { describe, expect, it } from 'vitest';
import { roundMs } from './round.js';

const known = (intervalMs: number) => ({ intervalMs, known: true });
const notFound = (intervalMs: number) => ({ intervalMs, known: false });

describe('roundMs', () => {
  it.each([
    ['no devices', [], 2000, 0],
    ['all fit the budget: the interval', [known(60_000), known(60_000)], 2000, 60_000],
    ['mixed intervals: the longest, every device due once', [known(60_000), known(300_000)], 2000, 300_000],
    // 40 devices every 60 s need 40/min; at 30/min (spacing 2 s) each is checked every 80 s
    ['stretched by the budget', Array.from({ length: 40 }, () => known(60_000)), 2000, 80_000],
    ['devices the gateway does not know do not stretch it', [known(60_000), notFound(600_000)], 2000, 60_000],
    ['only unknown devices: their interval', [notFound(600_000)], 2000, 600_000],
  ])('%s', (_name, devices, spacing, expected) => {
    expect(roundMs(devices, spacing)).toBe(expected);
  });
});
