import { describe, expect, it } from 'vitest';
import { FLAP_PERIOD_MS, FLAP_SCRIPT, dueFlapEvents } from './flap-script.js';

describe('dueFlapEvents', () => {
  it('lists the first cycle in time order, the one-time drop included', () => {
    expect(dueFlapEvents(0, FLAP_PERIOD_MS)).toEqual([
      { atMs: 20_000, deviceIndex: 1, status: 'disconnected' },
      { atMs: 45_000, deviceIndex: 3, status: 'not connected' },
      { atMs: 60_000, deviceIndex: 1, status: 'connected' },
      { atMs: 100_000, deviceIndex: 2, status: 'disconnected' },
      { atMs: 140_000, deviceIndex: 2, status: 'connected' },
      { atMs: 150_000, deviceIndex: 4, status: 'not initialized' },
      { atMs: 170_000, deviceIndex: 4, status: 'connected' },
    ]);
  });

  it('repeats every period, without the one-time rule', () => {
    const second = dueFlapEvents(FLAP_PERIOD_MS, 2 * FLAP_PERIOD_MS);
    expect(second.map((e) => e.atMs - FLAP_PERIOD_MS)).toEqual([
      20_000, 60_000, 100_000, 140_000, 150_000, 170_000,
    ]);
    expect(second.some((e) => e.deviceIndex === 3)).toBe(false);
  });

  it('is half-open: (from, to]', () => {
    expect(dueFlapEvents(19_999, 20_000)).toHaveLength(1);
    expect(dueFlapEvents(20_000, 44_999)).toHaveLength(0);
  });

  it('replays at most two periods after a long gap, ending in the same state', () => {
    const to = 1_000 * FLAP_PERIOD_MS + 30_000;
    const events = dueFlapEvents(0, to);
    expect(events.length).toBeLessThanOrEqual(2 * FLAP_SCRIPT.length + 1);
    const last = (idx: number): string | undefined =>
      events.filter((e) => e.deviceIndex === idx).at(-1)?.status;
    expect([last(1), last(2), last(3), last(4)]).toEqual([
      'disconnected',
      'connected',
      'not connected',
      'connected',
    ]);
  });
});
