import type { Config } from './types.js';

/** `--shard I/N` (SPEC §9): this process polls only the devices whose number hashes to shard I. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Parses `I/N` with 1 ≤ I ≤ N; null when it is not that. */
export function parseShard(text: string): Shard | null {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (m === null) return null;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return count >= 1 && index >= 1 && index <= count ? { index, count } : null;
}

/** FNV-1a over the digits: stable across versions and machines, so every replica agrees. */
export function shardOf(number: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < number.length; i++) {
    h ^= number.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % count) + 1;
}

/** The config with only this shard's devices; accounts keep their names (metrics labels). */
export function selectShard(config: Config, shard: Shard): Config {
  return {
    ...config,
    accounts: config.accounts.map((a) => ({
      ...a,
      devices: a.devices.filter((d) => shardOf(d.number, shard.count) === shard.index),
    })),
  };
}
