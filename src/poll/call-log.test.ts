// The call log against a real SQLite file: the epoch a call is logged under, what a restore counts
// (once), and a store that cannot log — a second connection holding `BEGIN EXCLUSIVE` — going on
// unlogged on a single node, and making no call in HA (strict).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayClient } from '../gateway/client.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { StoredCallLog } from './call-log.js';
import { MeteredGateway } from './metered-gateway.js';

const START = 1_700_000_000_000;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function scratchStore(): { store: SqliteStore; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wgm-call-log-'));
  const file = join(dir, 'monitor.db');
  const store = openSqliteStore(file, { busyTimeoutMs: 20 });
  cleanups.push(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, file };
}

/** Another process's connection: holds the write lock until released. */
function lockFrom(file: string): { release: () => void } {
  const other = new Database(file);
  other.exec('BEGIN EXCLUSIVE');
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    other.exec('COMMIT');
    other.close();
  };
  cleanups.push(release);
  return { release };
}

const client: GatewayClient = {
  status: () => Promise.resolve({ kind: 'status', status: 'connected', raw: 'connected' }),
  connect: () => Promise.reject(new Error('not in these tests')),
  balance: () => Promise.reject(new Error('not in these tests')),
  delete: () => Promise.reject(new Error('not in these tests')),
  sendText: () => Promise.reject(new Error('not in these tests')),
  close: () => Promise.resolve(),
};

function gatewayWith(callLog: StoredCallLog, clock: FakeClock): MeteredGateway {
  return new MeteredGateway({ account: 'main', client, rateLimitPerMinute: 30, clock, callLog });
}

describe('StoredCallLog', () => {
  it('logs each call under the lease epoch it is made under', async () => {
    const { store } = scratchStore();
    const clock = new FakeClock(START);
    let epoch: number | null = 7;
    const log = new StoredCallLog({
      store,
      account: 'main',
      clock,
      origin: 'daemon',
      caller: 'replica-a',
      epoch: () => epoch,
    });
    const gateway = gatewayWith(log, clock);
    expect(await gateway.takeSlot(clock.monotonic())).not.toBeNull();
    await clock.advance(60_000);
    epoch = 8;
    expect(await gateway.takeSlot(clock.monotonic())).not.toBeNull();
    const rows = await store.apiCalls('main');
    expect(rows.map((r) => [r.at, r.epoch, r.caller, r.origin])).toEqual([
      [START, 7, 'replica-a', 'daemon'],
      [START + 60_000, 8, 'replica-a', 'daemon'],
    ]);
  });

  it('restores every call of the window once, then only what other processes logged since', async () => {
    const { store } = scratchStore();
    const clock = new FakeClock(START);
    const row = (caller: string, at: number) =>
      ({ account: 'main', at, kind: 'check', origin: 'daemon', caller, epoch: 3 }) as const;
    await store.recordApiCall(row('old-leader', START - 30_000));
    await store.recordApiCall(row('this', START - 20_000));
    const log = new StoredCallLog({ store, account: 'main', clock, origin: 'daemon', caller: 'this' });
    // The first restore counts this token's rows too: a poller made anew in the same process.
    expect((await log.restore()).map((c) => c.at)).toEqual([START - 30_000, START - 20_000]);
    await store.recordApiCall(row('old-leader', START - 10_000));
    await store.recordApiCall(row('this', START - 5_000));
    expect((await log.restore()).map((c) => c.at)).toEqual([START - 10_000]);
    expect(await log.restore()).toEqual([]);
  });

  it('single node: goes on unlogged while the store cannot log, warning once, and logs again later', async () => {
    const { store, file } = scratchStore();
    const clock = new FakeClock(START);
    const warnings: string[] = [];
    const log = new StoredCallLog({
      store,
      account: 'main',
      clock,
      origin: 'daemon',
      onWarn: (m) => warnings.push(m),
    });
    const gateway = gatewayWith(log, clock);
    const lock = lockFrom(file);
    expect(await gateway.takeSlot(clock.monotonic())).not.toBeNull();
    await clock.advance(10_000);
    expect(await gateway.takeSlot(clock.monotonic())).not.toBeNull();
    lock.release();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not log a call .*unlogged for 30 s/);
    expect(await store.apiCalls('main')).toEqual([]);
    await clock.advance(30_000);
    expect(await gateway.takeSlot(clock.monotonic())).not.toBeNull();
    expect(await store.apiCalls('main')).toHaveLength(1);
  });

  it('HA (strict): makes no call it could not log, and asks the store again a spacing later', async () => {
    const { store, file } = scratchStore();
    const clock = new FakeClock(START);
    const warnings: string[] = [];
    const log = new StoredCallLog({
      store,
      account: 'main',
      clock,
      origin: 'daemon',
      epoch: () => 4,
      strict: true,
      onWarn: (m) => warnings.push(m),
    });
    const gateway = gatewayWith(log, clock);
    const lock = lockFrom(file);
    const now = clock.monotonic();
    expect(await gateway.takeSlot(now)).toBeNull();
    // Not at once again (a cycle would spin on it), but after a spacing.
    expect(gateway.nextFreeAt(now)).toBe(now + gateway.spacingMs);
    await clock.advance(gateway.spacingMs);
    expect(await gateway.takeSlot(clock.monotonic())).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not log a call .*no call is made until it can be logged/);
    lock.release();
    await clock.advance(gateway.spacingMs);
    const slot = await gateway.takeSlot(clock.monotonic());
    expect(slot).not.toBeNull();
    expect((await store.apiCalls('main')).map((r) => r.epoch)).toEqual([4]);
  });

  it('HA (strict): asks nothing while this replica does not lead (no epoch)', async () => {
    const { store } = scratchStore();
    const clock = new FakeClock(START);
    let epoch: number | null = null;
    const log = new StoredCallLog({
      store,
      account: 'main',
      clock,
      origin: 'daemon',
      epoch: () => epoch,
      strict: true,
    });
    const gateway = gatewayWith(log, clock);
    expect(await gateway.takeSlot(clock.monotonic())).toBeNull();
    expect(await store.apiCalls('main')).toEqual([]);
    epoch = 9;
    await clock.advance(gateway.spacingMs);
    expect(await gateway.takeSlot(clock.monotonic())).not.toBeNull();
    expect((await store.apiCalls('main')).map((r) => r.epoch)).toEqual([9]);
  });

  it('HA (strict): a restore that cannot read the store rejects; a single node counts nothing', async () => {
    const { store } = scratchStore();
    const clock = new FakeClock(START);
    const options = { store, account: 'main', clock, origin: 'daemon' } as const;
    await store.close();
    await expect(new StoredCallLog({ ...options, strict: true }).restore()).rejects.toMatchObject({
      reason: 'closed',
    });
    expect(await new StoredCallLog(options).restore()).toEqual([]);
  });

  it('logs the reservations of every account asked in one turn in one transaction, each its own row', async () => {
    const { store } = scratchStore();
    let transactions = 0;
    // The store as the logs see it, counting the transactions they open.
    const counted = new Proxy(store, {
      get(target, key) {
        if (key === 'transaction') {
          return (...args: Parameters<Store['transaction']>) => {
            transactions++;
            return target.transaction(...args);
          };
        }
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const clock = new FakeClock(START);
    const gateways = ['a', 'b', 'c', 'd', 'e'].map(
      (account) =>
        new MeteredGateway({
          account,
          client,
          rateLimitPerMinute: 30,
          clock,
          callLog: new StoredCallLog({ store: counted, account, clock, origin: 'daemon', epoch: () => 2 }),
        }),
    );
    const slots = await Promise.all(gateways.map((g) => g.takeSlot(clock.monotonic())));
    expect(slots.every((slot) => slot !== null)).toBe(true);
    expect(transactions).toBe(1);
    for (const account of ['a', 'b', 'c', 'd', 'e']) {
      expect(
        (await store.apiCalls(account)).map((r) => [r.at, r.epoch]),
        account,
      ).toEqual([[START, 2]]);
    }
    // One account's next reservation waits for its first: the per-account order holds.
    await clock.advance(gateways[0]!.spacingMs);
    const [again] = await Promise.all([gateways[0]!.takeSlot(clock.monotonic())]);
    expect(again).not.toBeNull();
    expect(await store.apiCalls('a')).toHaveLength(2);
  });

  it('single node: a batch the store refuses lets each of its calls go on unlogged, as alone', async () => {
    const { store, file } = scratchStore();
    const clock = new FakeClock(START);
    const warnings: string[] = [];
    const gateways = ['a', 'b', 'c'].map(
      (account) =>
        new MeteredGateway({
          account,
          client,
          rateLimitPerMinute: 30,
          clock,
          callLog: new StoredCallLog({
            store,
            account,
            clock,
            origin: 'daemon',
            onWarn: (m) => warnings.push(m),
          }),
        }),
    );
    const lock = lockFrom(file);
    const slots = await Promise.all(gateways.map((g) => g.takeSlot(clock.monotonic())));
    lock.release();
    expect(slots.every((slot) => slot !== null)).toBe(true);
    expect(warnings).toHaveLength(3);
    expect(await store.apiCalls('a')).toEqual([]);
  });

  it('HA (strict): a lease that lapsed while the batch waited logs nothing and makes no call', async () => {
    const { store } = scratchStore();
    const clock = new FakeClock(START);
    // Leading when the call is asked for, no longer when its batch is written.
    let asked = 0;
    const log = new StoredCallLog({
      store,
      account: 'main',
      clock,
      origin: 'daemon',
      epoch: () => (asked++ === 0 ? 5 : null),
      strict: true,
    });
    expect(await gatewayWith(log, clock).takeSlot(clock.monotonic())).toBeNull();
    expect(asked).toBe(2);
    expect(await store.apiCalls('main')).toEqual([]);
  });
});
