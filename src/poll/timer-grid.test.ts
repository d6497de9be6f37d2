import { describe, expect, it } from 'vitest';

import type { Timer } from '../monitor/clock.js';
import { mulberry32 } from '../monitor/test-support/prng.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { TimerGrid, type ExactTimer } from './timer-grid.js';

/** Exact timers on a FakeClock, counted: each is one wake-up of the process. */
function exactOn(clock: FakeClock): { exact: ExactTimer; armed: () => number } {
  let armed = 0;
  const exact: ExactTimer = (ms, fn) => {
    armed++;
    const controller = new AbortController();
    clock.sleep(ms, controller.signal).then(fn, () => undefined);
    return { cancel: () => controller.abort() } satisfies Timer;
  };
  return { exact, armed: () => armed };
}

const STEP = 250;

describe('TimerGrid', () => {
  it('fires each timer between its due time and min(slack, step) after it, sharing wake-ups', async () => {
    const clock = new FakeClock(1_000_003);
    const { exact, armed } = exactOn(clock);
    const grid = new TimerGrid(STEP, exact, () => clock.monotonic());
    const random = mulberry32(17);
    const fired: { due: number; at: number; slack: number }[] = [];
    const n = 2_000;
    for (let i = 0; i < n; i++) {
      const ms = Math.floor(random() * 60_000);
      const slack = [0, 10, 100, 250, 1_000, Number.POSITIVE_INFINITY][i % 6]!;
      const due = clock.monotonic() + ms;
      grid.timer(ms, () => fired.push({ due, at: clock.monotonic(), slack }), slack);
    }
    await clock.advance(61_000 + STEP);
    expect(fired).toHaveLength(n);
    for (const f of fired) {
      expect(f.at).toBeGreaterThanOrEqual(f.due);
      expect(f.at - f.due).toBeLessThanOrEqual(Math.min(f.slack, STEP));
    }
    // One wake-up per grid boundary for the timers that can reach theirs; an exact timer for the
    // rest (no slack, or too little to reach the next boundary).
    const boundaries = new Set<number>();
    let exactOnes = 0;
    for (const f of fired) {
      const boundary = Math.ceil(f.due / STEP) * STEP;
      if (f.slack > 0 && boundary <= f.due + Math.min(f.slack, STEP)) boundaries.add(boundary);
      else exactOnes++;
    }
    expect(armed()).toBe(exactOnes + boundaries.size);
    expect(boundaries.size).toBeLessThanOrEqual(61_000 / STEP + 1);
    expect(grid.pendingBuckets).toBe(0);
  });

  it('joins timers due within one step into one underlying timer, and cancels it with the last', async () => {
    const clock = new FakeClock(0);
    const { exact, armed } = exactOn(clock);
    const grid = new TimerGrid(STEP, exact, () => clock.monotonic());
    const fired: number[] = [];
    const a = grid.timer(10, () => fired.push(1), STEP);
    const b = grid.timer(200, () => fired.push(2), STEP);
    grid.timer(240, () => fired.push(3), STEP);
    expect(armed()).toBe(1);
    expect(grid.pendingBuckets).toBe(1);
    a.cancel();
    a.cancel();
    await clock.advance(STEP);
    expect(fired).toEqual([2, 3]);
    expect(clock.monotonic()).toBe(STEP);
    b.cancel(); // after it fired: nothing
    const c = grid.timer(100, () => fired.push(4), STEP);
    expect(grid.pendingBuckets).toBe(1);
    c.cancel();
    expect(grid.pendingBuckets).toBe(0);
    expect(clock.pendingSleeps).toBe(0);
    await clock.advance(1_000);
    expect(fired).toEqual([2, 3]);
  });

  it('never waits past the slack: a boundary beyond it means an exact timer', async () => {
    const clock = new FakeClock(0);
    const { exact } = exactOn(clock);
    const grid = new TimerGrid(STEP, exact, () => clock.monotonic());
    let at = -1;
    grid.timer(100, () => (at = clock.monotonic()), 50); // boundary 250 > 100 + 50
    await clock.advance(STEP);
    expect(at).toBe(100);
  });
});
