import { describe, expect, it } from 'vitest';
import {
  CAPPED_GROWTH_FROM_DEVICES,
  CAPPED_GROWTH_PERCENT,
  collectGarbage,
  heapGrowthPercentFor,
  tuneHeapGrowth,
} from './heap.js';

describe('heap growth for a fleet', () => {
  it('leaves V8 to decide below the large-fleet size and caps growth from it', () => {
    expect(heapGrowthPercentFor(0)).toBe(0);
    expect(heapGrowthPercentFor(CAPPED_GROWTH_FROM_DEVICES - 1)).toBe(0);
    expect(heapGrowthPercentFor(CAPPED_GROWTH_FROM_DEVICES)).toBe(CAPPED_GROWTH_PERCENT);
    expect(heapGrowthPercentFor(100_000)).toBe(CAPPED_GROWTH_PERCENT);
  });

  it("keeps the operator's own --heap-growing-percent", () => {
    expect(tuneHeapGrowth(100_000, ['--heap-growing-percent=20'])).toBeNull();
    expect(tuneHeapGrowth(100_000, ['--heap_growing_percent', '20'])).toBeNull();
  });

  it('sets the flag otherwise, and sets it back for a small fleet (a reload that shrank it)', () => {
    expect(tuneHeapGrowth(100_000, [])).toBe(CAPPED_GROWTH_PERCENT);
    expect(tuneHeapGrowth(10, [])).toBe(0);
  });
});

describe('collectGarbage', () => {
  it('collects an object nothing reaches any more, without --expose-gc', async () => {
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    const ref = new WeakRef({ payload: new Array(10_000).fill(1) });
    // A WeakRef keeps its target for the rest of the job that made or read it.
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
    // The flag is cleared again: the process gains no global `gc`.
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});
