// What the rollup tests share: a seeded random source, a device row to save.

import type { DeviceRow } from '../store.js';

/** Small, seeded, so a failure names the history that caused it. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function deviceRow(device: string, account = 'main'): DeviceRow {
  return {
    account,
    device,
    status: 'connected' as const,
    statusRaw: 'connected',
    health: 'UP' as const,
    statusSince: 0,
    lastCheckAt: 0,
    probeError: null,
    transitions: 0,
    state: {},
  };
}
