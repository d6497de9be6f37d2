// What the property tests share: a seeded random source with the few draws they make, and the
// seed loop. Reproducible: every run derives from a seed; a failure names it, and
// PROPERTY_SEED=<seed> npx vitest run <file> replays just that one.

import { mulberry32 } from './prng.js';

export interface Rng {
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

export function rng(seed: number): Rng {
  const next = mulberry32(seed);
  return {
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => {
      const x = xs[Math.floor(next() * xs.length)];
      if (x === undefined) throw new Error('pick from an empty list');
      return x;
    },
    chance: (p) => next() < p,
  };
}

/** The seeds a run checks: `PROPERTY_SEED` alone when set (`replay`), else `runs` from `base`. */
export function propertySeeds(base: number, runs: number): { seeds: number[]; replay: boolean } {
  const fixed = process.env['PROPERTY_SEED'];
  return fixed === undefined
    ? { seeds: Array.from({ length: runs }, (_, i) => base + i), replay: false }
    : { seeds: [Number(fixed)], replay: true };
}

/** `check` for every seed; a failure is rethrown naming its seed and how to replay it. */
export function forEverySeed(seeds: readonly number[], check: (seed: number) => void): void {
  for (const seed of seeds) {
    try {
      check(seed);
    } catch (err) {
      throw new Error(
        `invariant broken for seed ${seed} (replay with PROPERTY_SEED=${seed}): ${String(err)}`,
        {
          cause: err,
        },
      );
    }
  }
}
