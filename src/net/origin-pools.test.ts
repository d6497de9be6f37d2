import { describe, expect, it } from 'vitest';

import { OriginPools } from './origin-pools.js';

describe('OriginPools', () => {
  it('one pool per origin and connect timeout, shared by its leases', async () => {
    const pools = new OriginPools();
    const a = pools.lease('http://127.0.0.1:1', 1_000);
    const b = pools.lease('http://127.0.0.1:1', 1_000);
    const otherOrigin = pools.lease('http://127.0.0.1:2', 1_000);
    const otherTimeout = pools.lease('http://127.0.0.1:1', 5_000);
    expect(pools.size).toBe(3);
    const shared = await a.pool();
    expect(await b.pool()).toBe(shared);
    expect(await otherOrigin.pool()).not.toBe(shared);
    expect(await otherTimeout.pool()).not.toBe(shared);
    await Promise.all([a, b, otherOrigin, otherTimeout].map((lease) => lease.release()));
    expect(pools.size).toBe(0);
  });

  it('the last lease closes the pool; releasing twice counts once', async () => {
    const pools = new OriginPools();
    const a = pools.lease('http://127.0.0.1:1', 1_000);
    const b = pools.lease('http://127.0.0.1:1', 1_000);
    const pool = await a.pool();
    await a.release();
    await a.release();
    expect(pool.closed).toBe(false);
    expect(pools.size).toBe(1);
    await b.release();
    expect(pool.closed).toBe(true);
    expect(pools.size).toBe(0);
  });

  it('a lease after the last release gets a new pool', async () => {
    const pools = new OriginPools();
    const first = pools.lease('http://127.0.0.1:1', 1_000);
    const old = await first.pool();
    await first.release();
    const next = pools.lease('http://127.0.0.1:1', 1_000);
    const fresh = await next.pool();
    expect(fresh).not.toBe(old);
    expect(fresh.closed).toBe(false);
    await next.release();
  });

  it('a lease that never made its pool loads nothing and closes nothing', async () => {
    const pools = new OriginPools();
    const idle = pools.lease('http://127.0.0.1:1', 1_000);
    await idle.release();
    expect(pools.size).toBe(0);
  });
});
