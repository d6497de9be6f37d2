import { describe, expect, it } from 'vitest';
import { STALL_DRILL, drillModeAt } from './delivery-drill.js';

describe('the demo stall drill', () => {
  it.each([
    [0, 'normal'],
    [29_999, 'normal'],
    [30_000, 'stall'],
    [109_999, 'stall'],
    [110_000, 'normal'],
    [STALL_DRILL.periodMs + 30_000, 'stall'],
  ] as const)('at %i ms the device is %s', (at, mode) => {
    expect(drillModeAt(at)).toBe(mode);
  });
});
