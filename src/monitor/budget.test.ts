import { describe, expect, it } from 'vitest';

import {
  BUDGET_MARGIN_MS,
  BUDGET_WINDOW_MS,
  Budget,
  OUT_OF_BAND_SHARE,
  outOfBandLimit,
  plannedSpacingMs,
} from './budget.js';

const SPAN_MS = BUDGET_WINDOW_MS + BUDGET_MARGIN_MS;

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

function maxInAnyWindow(calls: readonly number[], windowMs = BUDGET_WINDOW_MS): number {
  let max = 0;
  let lo = 0;
  for (let hi = 0; hi < calls.length; hi++) {
    while (calls[hi]! - calls[lo]! >= windowMs) lo++;
    max = Math.max(max, hi - lo + 1);
  }
  return max;
}

describe('Budget', () => {
  it.each([1, 7, 30, 60, 45])('spaces calls evenly at %i/min and never exceeds it in any window', (rate) => {
    const budget = new Budget({ ratePerMinute: rate });
    const calls = drain(budget, 0, 10 * BUDGET_WINDOW_MS);
    const spacing = Math.ceil(SPAN_MS / rate);
    expect(budget.spacingMs).toBe(spacing);
    for (let i = 1; i < calls.length; i++) expect(calls[i]! - calls[i - 1]!).toBeGreaterThanOrEqual(spacing);
    // the margin holds too: windows a margin longer than 60 s are within the rate
    expect(maxInAnyWindow(calls, SPAN_MS)).toBeLessThanOrEqual(rate);
    expect(calls.length).toBeGreaterThanOrEqual(Math.floor((10 * BUDGET_WINDOW_MS) / spacing));
  });

  it('refuses a call before the spacing has passed', () => {
    const budget = new Budget({ ratePerMinute: 30 });
    expect(budget.spacingMs).toBe(2_034);
    expect(budget.tryAcquire(1_000)).toBe(true);
    expect(budget.tryAcquire(3_033)).toBe(false);
    expect(budget.nextFreeAt(1_500)).toBe(3_034);
    expect(budget.tryAcquire(3_034)).toBe(true);
  });

  it('grants a slot only when the log proves room, whatever the caller asks', () => {
    // 30 calls recorded in a burst (another process, a restore): spacing alone would allow the
    // next one 2 s later; the log says not before the first leaves the window and the margin.
    const budget = new Budget({ ratePerMinute: 30 });
    for (let i = 0; i < 30; i++) budget.record(i * 100);
    expect(budget.nextFreeAt(5_000)).toBe(SPAN_MS);
    for (const t of [5_000, 30_000, 60_000, SPAN_MS - 1]) expect(budget.tryAcquire(t)).toBe(false);
    expect(budget.tryAcquire(SPAN_MS)).toBe(true);
  });

  it('records calls out of order (another process logged them late) and still counts them', () => {
    const budget = new Budget({ ratePerMinute: 2 });
    budget.record(10_000);
    budget.record(5_000);
    expect(budget.nextFreeAt(20_000)).toBe(5_000 + SPAN_MS);
  });

  it('keeps out-of-band calls to their share, and checks may still go', () => {
    const budget = new Budget({ ratePerMinute: 30 });
    const limit = outOfBandLimit(30);
    expect(limit).toBe(Math.floor(30 * OUT_OF_BAND_SHARE));
    let now = 0;
    for (let i = 0; i < limit; i++) {
      now = budget.nextFreeAt(now, 'out_of_band');
      expect(budget.tryAcquire(now, 'out_of_band')).toBe(true);
    }
    const next = budget.nextFreeAt(now, 'out_of_band');
    expect(next).toBe(SPAN_MS);
    const check = budget.nextFreeAt(now);
    expect(check).toBe(now + budget.spacingMs);
    expect(budget.tryAcquire(check, 'out_of_band')).toBe(false);
    expect(budget.tryAcquire(check)).toBe(true);
  });

  it.each([
    [30, 7, Math.ceil(SPAN_MS / 23)],
    [60, 15, Math.ceil(SPAN_MS / 45)],
    [4, 1, Math.ceil(SPAN_MS / 3)],
    [1, 1, SPAN_MS],
  ])('at %i/min sets aside %i out-of-band calls when planning checks', (rate, oob, spacing) => {
    expect(outOfBandLimit(rate)).toBe(oob);
    expect(plannedSpacingMs(rate)).toBe(spacing);
  });

  it('after a reload that lowers the rate, waits for the old calls to leave the window', () => {
    const budget = new Budget({ ratePerMinute: 30 });
    const before = drain(budget, 0, 60_000);
    expect(before).toHaveLength(30);
    budget.setRate(10);
    // 30 calls in the last minute: the 10th newest must age out first
    expect(budget.nextFreeAt(60_000)).toBe(before[20]! + SPAN_MS);
    const after = drain(budget, 60_000, 300_000);
    for (const call of after) {
      const window = [...before, ...after].filter((c) => c > call - SPAN_MS && c <= call);
      expect(window.length).toBeLessThanOrEqual(10);
    }
  });

  it('counts calls recorded out of band', () => {
    const budget = new Budget({ ratePerMinute: 2 });
    budget.record(0);
    expect(budget.nextFreeAt(0)).toBe(30_500);
    budget.record(10_000);
    expect(budget.nextFreeAt(10_000)).toBe(SPAN_MS);
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

  it.each([
    ['Retry-After: 99999999999 s', 99_999_999_999_000],
    ['a far-future HTTP date', Date.UTC(9999, 11, 31) - Date.now()],
    ['one hour', 3_600_000],
  ])('caps a pause of %s at the 10-minute backoff cap', (_, retryAfterMs) => {
    const budget = new Budget({ ratePerMinute: 30 });
    expect(budget.onRateLimited(1_000, retryAfterMs)).toBe(601_000);
    expect(budget.nextFreeAt(2_000)).toBe(601_000);
  });

  it('tells since when the account is rate limited, until a valid answer', () => {
    const budget = new Budget({ ratePerMinute: 30 });
    expect(budget.rateLimitedSince).toBeNull();
    budget.onRateLimited(5_000, 30_000);
    budget.onRateLimited(40_000);
    expect(budget.rateLimitedSince).toBe(5_000);
    budget.onSuccess();
    expect(budget.rateLimitedSince).toBeNull();
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects rate %s', (rate) => {
    expect(() => new Budget({ ratePerMinute: rate })).toThrow(RangeError);
  });
});
