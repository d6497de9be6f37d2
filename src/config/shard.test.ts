import { describe, expect, it } from 'vitest';
import { parseShard, shardOf } from './shard.js';

describe('shards', () => {
  it.each([
    ['1/1', { index: 1, count: 1 }],
    ['2/3', { index: 2, count: 3 }],
    [' 3/3 ', { index: 3, count: 3 }],
    ['0/3', null],
    ['4/3', null],
    ['1/0', null],
    ['a/b', null],
    ['2', null],
  ])('parseShard(%j)', (text, expected) => {
    expect(parseShard(text)).toEqual(expected);
  });

  it('puts every number in exactly one shard, spread roughly evenly, the same every time', () => {
    const counts = [0, 0, 0, 0];
    for (let n = 0; n < 4000; n++) {
      const number = String(491500000000 + n * 7);
      const shard = shardOf(number, 4);
      expect(shard).toBe(shardOf(number, 4));
      counts[shard - 1]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(shardOf('123456789', 3)).toBe(shardOf('123456789', 3));
  });
});
