import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

const S = 1000;

describe('backoffDelay', () => {
  it.each([
    [1, 10],
    [2, 20],
    [3, 40],
    [4, 80],
    [5, 160],
    [6, 320],
    [7, 600],
    [8, 600],
    [100, 600],
  ])('after failure %i: %i s', (failures, seconds) => {
    expect(backoffDelay(failures)).toBe(seconds * S);
  });
});
