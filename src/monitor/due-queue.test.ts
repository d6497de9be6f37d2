import { describe, expect, it } from 'vitest';

import { BUDGET_WINDOW_MS } from './budget.js';
import { DueQueue, stretchFloorMs, type ScheduledDevice } from './due-queue.js';
import { mulberry32 as prng } from './test-support/prng.js';

function devices(count: number, intervalMs: number, first = 100_000_000): ScheduledDevice[] {
  return Array.from({ length: count }, (_, i) => ({ number: String(first + i), intervalMs }));
}

/** Checks the next due device at `at`, as a cycle would: picked, taken, finished. */
function checkNext(queue: DueQueue, at: number): string {
  const pass = queue.beginPass(at, at + 1);
  const pick = queue.peek(pass);
  if (pick === undefined) throw new Error(`nothing due at ${at}`);
  queue.take(pass, pick);
  queue.finish(pick, at, 'checked', false);
  return pick.entry.number;
}

describe('stretchFloorMs', () => {
  it.each([
    { intervals: Array<number>(100).fill(60_000), spacing: 2_000, floor: 200_000 },
    { intervals: Array<number>(30).fill(60_000), spacing: 2_000, floor: 0 },
    { intervals: Array<number>(31).fill(60_000), spacing: 2_000, floor: 62_000 },
    { intervals: [], spacing: 2_000, floor: 0 },
    // 10 fast devices and 90 slow ones: the slow ones keep 600 s, the fast ones share the rest
    {
      intervals: [...Array<number>(10).fill(10_000), ...Array<number>(90).fill(600_000)],
      spacing: 2_000,
      floor: 28_572,
    },
  ])('$intervals.length devices, spacing $spacing → $floor', ({ intervals, spacing, floor }) => {
    expect(stretchFloorMs(intervals, spacing)).toBe(floor);
  });

  it('keeps the load within the budget', () => {
    const random = prng(7);
    for (let run = 0; run < 200; run++) {
      const intervals = Array.from({ length: 1 + Math.floor(random() * 300) }, () =>
        Math.round(5_000 + random() * 900_000),
      );
      const spacing = Math.ceil(BUDGET_WINDOW_MS / (1 + Math.floor(random() * 60)));
      const floor = stretchFloorMs(intervals, spacing);
      const load = intervals.reduce((sum, i) => sum + spacing / Math.max(i, floor), 0);
      expect(load).toBeLessThanOrEqual(1 + 1e-9);
      if (floor > 0) expect(load).toBeGreaterThan(0.99);
    }
  });
});

describe('DueQueue', () => {
  it('after a restart, a device is due one interval after its stored last check', () => {
    const queue = new DueQueue();
    queue.apply(
      [
        { number: '1', intervalMs: 60_000, lastCheckAt: 990_000 },
        { number: '2', intervalMs: 60_000 },
      ],
      2_000,
      1_000_000,
    );
    expect(queue.dueAt('1')).toBe(1_050_000);
    expect(queue.dueAt('2')).toBe(1_000_000);
  });

  it('a reload keeps the last checks, drops removed devices and spreads added ones from now', () => {
    const queue = new DueQueue();
    // 2/min: spacing 30 s; three new devices spread over their first minute
    queue.apply(devices(3, 60_000), 30_000, 0);
    expect(checkNext(queue, 0)).toBe('100000000');
    expect(checkNext(queue, 30_000)).toBe('100000001');
    const dueOfKept = queue.dueAt('100000001');
    queue.apply([...devices(2, 60_000, 100_000_001), { number: '7', intervalMs: 60_000 }], 30_000, 40_000);
    expect(queue.dueAt('100000001')).toBe(dueOfKept);
    expect(queue.dueAt('100000000')).toBeUndefined();
    expect(queue.dueAt('7')).toBe(40_000);
  });

  it('offers confirmations first, then the most overdue, ties in configuration order', () => {
    const queue = new DueQueue();
    queue.apply(
      [
        { number: 'a', intervalMs: 60_000, lastCheckAt: 0 },
        { number: 'b', intervalMs: 60_000, lastCheckAt: -10_000 },
        { number: 'c', intervalMs: 60_000, lastCheckAt: 0 },
      ],
      1_000,
      100_000,
    );
    queue.checkSoon('c');
    const pass = queue.beginPass(100_000, 110_000);
    const order: string[] = [];
    for (let pick = queue.peek(pass); pick !== undefined; pick = queue.peek(pass)) {
      order.push(`${pick.entry.number}${pick.urgent ? '!' : ''}`);
      queue.take(pass, pick);
    }
    expect(order).toEqual(['c!', 'b', 'a']);
  });
});
