import { describe, expect, it } from 'vitest';

import { BUDGET_WINDOW_MS, Budget } from './budget.js';

/** Takes every slot the budget offers from `from` to `to`, jumping straight to each. */
function drain(budget: Budget, from: number, to: number): number[] {
  const calls: number[] = [];
  let now = from;
  for (;;) {
    now = budget.nextFreeAt(now);
    if (now >= to) return calls;
    expect(budget.tryAcquire(now)).toBe(true);
    calls.push(now);
  }
}

function maxInAnyWindow(calls: readonly number[]): number {
  let max = 0;
  let lo = 0;
  for (let hi = 0; hi < calls.length; hi++) {
    while (calls[hi]! - calls[lo]! >= BUDGET_WINDOW_MS) lo++;
    max = Math.max(max, hi - lo + 1);
  }
  return max;
}

describe('Budget', () => {
  it.each([1, 7, 30, 60, 45])('spaces calls evenly at %i/min and never exceeds it in any window', (rate) => {
    const budget = new Budget({ ratePerMinute: rate });
    const calls = drain(budget, 0, 10 * BUDGET_WINDOW_MS);
    const spacing = Math.ceil(BUDGET_WINDOW_MS / rate);
    expect(budget.spacingMs).toBe(spacing);
    for (let i = 1; i < calls.length; i++) expect(calls[i]! - calls[i - 1]!).toBeGreaterThanOrEqual(spacing);
    expect(maxInAnyWindow(calls)).toBeLessThanOrEqual(rate);
    expect(calls.length).toBeGreaterThanOrEqual(10 * rate - 1);
  });

  it('refuses a call before the spacing has passed', () => {
    const budget = new Budget({ ratePerMinute: 30 });
    expect(budget.tryAcquire(1_000)).toBe(true);
    expect(budget.tryAcquire(2_999)).toBe(false);
    expect(budget.nextFreeAt(1_500)).toBe(3_000);
    expect(budget.tryAcquire(3_000)).toBe(true);
  });

  it('after a reload that lowers the rate, waits for the old calls to leave the window', () => {
    const budget = new Budget({ ratePerMinute: 30 });
    const before = drain(budget, 0, 60_000);
    expect(before).toHaveLength(30);
    budget.setRate(10);
    // 30 calls in the last minute: the 10th newest (at 40 s) must age out first
    expect(budget.nextFreeAt(60_000)).toBe(40_000 + BUDGET_WINDOW_MS);
    const after = drain(budget, 60_000, 300_000);
    for (const call of after) {
      const window = [...before, ...after].filter((c) => c > call - BUDGET_WINDOW_MS && c <= call);
      expect(window.length).toBeLessThanOrEqual(10);
    }
  });

  it('counts calls recorded out of band', () => {
    const budget = new Budget({ ratePerMinute: 2 });
    budget.record(0);
    expect(budget.nextFreeAt(0)).toBe(30_000);
    budget.record(10_000);
    expect(budget.nextFreeAt(10_000)).toBe(60_000);
  });

  it('pauses for Retry-After', () => {
    const budget = new Budget({ ratePerMinute: 30 });
    expect(budget.tryAcquire(0)).toBe(true);
    expect(budget.onRateLimited(500, 45_000)).toBe(45_500);
    expect(budget.isPaused(45_499)).toBe(true);
    expect(budget.tryAcquire(45_499)).toBe(false);
    expect(budget.nextFreeAt(10_000)).toBe(45_500);
    expect(budget.tryAcquire(45_500)).toBe(true);
  });

  it('backs off 60 s doubling to 10 min without Retry-After, and a success resets it', () => {
    const budget = new Budget({ ratePerMinute: 30 });
    let now = 0;
    const pauses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const until = budget.onRateLimited(now);
      pauses.push(until - now);
      now = until;
    }
    expect(pauses).toEqual([60_000, 120_000, 240_000, 480_000, 600_000, 600_000]);
    budget.onSuccess();
    expect(budget.onRateLimited(now) - now).toBe(60_000);
  });

  it('does not escalate the backoff for calls that were in flight when the pause began', () => {
    const budget = new Budget({ ratePerMinute: 30 });
    expect(budget.onRateLimited(0)).toBe(60_000);
    expect(budget.onRateLimited(300)).toBe(60_000);
    expect(budget.onRateLimited(60_000)).toBe(180_000);
  });

  it('is not stalled by a wall clock stepped back', () => {
    const budget = new Budget({ ratePerMinute: 30 });
    budget.tryAcquire(10_000_000);
    budget.onRateLimited(10_000_000, 30_000);
    // the clock jumps back an hour: the pause still ends 30 s after "now"
    expect(budget.nextFreeAt(6_400_000)).toBe(6_430_000);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects rate %s', (rate) => {
    expect(() => new Budget({ ratePerMinute: rate })).toThrow(RangeError);
  });
});
