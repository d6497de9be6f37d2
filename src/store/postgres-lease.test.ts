import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeWithPostgres } from '../test-support/postgres.js';
import type { Fence } from './lease.js';
import { isHaStore } from './lease.js';
import { openPostgresStore, type PostgresStore } from './postgres-store.js';
import { msg } from './test-support/outbox-contract.js';
import { emptyTables, expireLease, lockWaiters, withClient, within } from './test-support/postgres-sql.js';
import { change, device, rejection } from './test-support/store-contract.js';

const LEASE = 'poller';
const TTL = 15_000;

describeWithPostgres('PostgreSQL lease and fence', (db) => {
  // Two replicas (a, b) on one database, each with a pool of its own.
  let a: PostgresStore;
  let b: PostgresStore;
  beforeEach(async () => {
    [a, b] = await Promise.all([openPostgresStore(db().url), openPostgresStore(db().url)]);
    await emptyTables(db().url);
  });
  afterEach(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  /** `store` claims the lease (it must be free) and fences its writes at the epoch it got. */
  async function lead(store: PostgresStore, holder: string): Promise<number> {
    const epoch = await store.acquireLease(LEASE, holder, TTL);
    expect(epoch).not.toBeNull();
    store.setFence({ lease: LEASE, epoch });
    return epoch!;
  }

  describe('lease', () => {
    it('is an HaStore', () => {
      expect(isHaStore(a)).toBe(true);
    });

    it('nobody holds it at first; the first claim gets epoch 1, expiring after its ttl by the database clock', async () => {
      expect(await a.leaseHolder(LEASE)).toBeNull();
      expect(await a.acquireLease(LEASE, 'a', TTL)).toBe(1);
      const held = await b.leaseHolder(LEASE);
      expect(held).toMatchObject({ holder: 'a', epoch: 1 });
      expect(held!.expiresInMs).toBeGreaterThan(TTL - 5_000);
      expect(held!.expiresInMs).toBeLessThanOrEqual(TTL);
    });

    it('a second claim while it holds is refused — another holder’s, or the holder’s own', async () => {
      await a.acquireLease(LEASE, 'a', TTL);
      expect(await b.acquireLease(LEASE, 'b', TTL)).toBeNull();
      expect(await a.acquireLease(LEASE, 'a', TTL)).toBeNull();
      expect(await a.leaseHolder(LEASE)).toMatchObject({ holder: 'a', epoch: 1 });
    });

    it('leases of different names are apart', async () => {
      expect(await a.acquireLease('shard-1', 'a', TTL)).toBe(1);
      expect(await b.acquireLease('shard-2', 'b', TTL)).toBe(1);
    });

    it('once it lapsed, another takes it over at the next epoch', async () => {
      await a.acquireLease(LEASE, 'a', TTL);
      await expireLease(db().url, LEASE);
      expect((await b.leaseHolder(LEASE))!.expiresInMs).toBeLessThanOrEqual(0);
      expect(await b.acquireLease(LEASE, 'b', TTL)).toBe(2);
      expect(await a.leaseHolder(LEASE)).toMatchObject({ holder: 'b', epoch: 2 });
      await expireLease(db().url, LEASE);
      expect(await a.acquireLease(LEASE, 'a', TTL)).toBe(3);
    });

    it('renewal extends it and keeps the epoch', async () => {
      await a.acquireLease(LEASE, 'a', 1_000);
      expect(await a.renewLease(LEASE, 'a', 1, 60_000)).toBe(true);
      const held = await a.leaseHolder(LEASE);
      expect(held).toMatchObject({ holder: 'a', epoch: 1 });
      expect(held!.expiresInMs).toBeGreaterThan(50_000);
    });

    it('renewal fails once it lapsed (even with nobody else there), at another epoch, or by another holder', async () => {
      await a.acquireLease(LEASE, 'a', TTL);
      expect(await a.renewLease(LEASE, 'a', 2, TTL)).toBe(false);
      expect(await b.renewLease(LEASE, 'b', 1, TTL)).toBe(false);
      await expireLease(db().url, LEASE);
      expect(await a.renewLease(LEASE, 'a', 1, TTL)).toBe(false);
      expect(await b.renewLease('none', 'a', 1, TTL)).toBe(false);
    });

    it('release lets it lapse at once for the next holder; a stale release does nothing', async () => {
      await a.acquireLease(LEASE, 'a', TTL);
      await a.releaseLease(LEASE, 'a', 1);
      expect(await b.acquireLease(LEASE, 'b', TTL)).toBe(2);
      await a.releaseLease(LEASE, 'a', 1);
      expect(await a.leaseHolder(LEASE)).toMatchObject({ holder: 'b', epoch: 2 });
      expect((await a.leaseHolder(LEASE))!.expiresInMs).toBeGreaterThan(0);
    });

    it('refuses a ttl that is not a positive whole number of ms', async () => {
      await expect(a.acquireLease(LEASE, 'a', 0)).rejects.toThrow(RangeError);
      await expect(a.renewLease(LEASE, 'a', 1, 1.5)).rejects.toThrow(RangeError);
      await expect(a.renewLease(LEASE, 'a', 1.5, TTL)).rejects.toThrow(RangeError);
    });

    it('names and holders with quotes and backslashes are kept as given', async () => {
      const name = "it's \\ a 'lease'";
      const holder = "host's \\ pid";
      expect(await a.acquireLease(name, holder, TTL)).toBe(1);
      expect(await b.leaseHolder(name)).toMatchObject({ holder, epoch: 1 });
      expect(await a.renewLease(name, holder, 1, TTL)).toBe(true);
      await a.releaseLease(name, holder, 1);
      expect(await b.acquireLease(name, 'b', TTL)).toBe(2);
    });
  });

  describe('nothing waits unbounded', () => {
    it('a claim or a renewal while another session holds the lease row fails within the lease timeout (2 s), then works', async () => {
      await lead(a, 'a');
      await withClient(db().url, async (other) => {
        // A session that took the row as a fenced write does, then does nothing.
        await other.query('BEGIN');
        await other.query('SELECT epoch FROM ha_lease WHERE name = $1 FOR SHARE', [LEASE]);
        const started = performance.now();
        const [claim, renewal] = await within(
          10_000,
          'the claim and the renewal',
          Promise.all([
            rejection(b.acquireLease(LEASE, 'b', TTL)),
            rejection(a.renewLease(LEASE, 'a', 1, TTL)),
          ]),
        );
        expect(performance.now() - started).toBeLessThan(4_000);
        expect(claim).toMatchObject({ name: 'StoreError', reason: 'locked' });
        expect(renewal).toMatchObject({ name: 'StoreError', reason: 'locked' });
        await other.query('ROLLBACK');
      });
      expect(await a.renewLease(LEASE, 'a', 1, TTL)).toBe(true);
      expect(await b.acquireLease(LEASE, 'b', TTL)).toBeNull();
    });

    it('a leader paused in a fenced write (idle in transaction, the lease row FOR SHARE) is ended by the server, and a standby takes over', async () => {
      const paused = await openPostgresStore(db().url, { idleInTransactionTimeoutMs: 300 });
      try {
        await lead(paused, 'paused');
        // Its lease lapses (it writes on until another takes over); then it pauses mid-write.
        await expireLease(db().url, LEASE);
        let resume!: () => void;
        const stopped = new Promise<void>((resolve) => (resume = resolve));
        let wrote!: () => void;
        const holding = new Promise<void>((resolve) => (wrote = resolve));
        const write = rejection(
          paused.transaction(async (tx) => {
            await tx.setMeta('before the pause', '1');
            wrote();
            await stopped;
            await tx.setMeta('after the pause', '1');
          }),
        );
        await holding;
        // The standby's claim waits for the paused session's row lock, until the server ends that
        // session — sooner than the claim's own timeout; were it later, the next claim gets it.
        const deadline = performance.now() + 10_000;
        let epoch: number | null = null;
        while (epoch === null) {
          try {
            epoch = await within(10_000, 'the claim', b.acquireLease(LEASE, 'b', TTL));
          } catch (err) {
            if (performance.now() > deadline || (err as { reason?: unknown }).reason !== 'locked') throw err;
          }
          if (epoch === null && performance.now() > deadline) throw new Error('no takeover in 10 s');
        }
        expect(epoch).toBe(2);
        resume();
        expect(await write).toMatchObject({ name: 'StoreError' });
        expect(await b.getMeta('before the pause')).toBeNull();
        expect(await b.getMeta('after the pause')).toBeNull();
        await expect(paused.setMeta('later', '1')).rejects.toMatchObject({ reason: 'deposed' });
      } finally {
        await paused.close();
      }
    });

    it('the lease has a pool of its own: a renewal is not held up by transactions holding every connection of the store', async () => {
      const one = await openPostgresStore(db().url, { poolSize: 1 });
      try {
        const epoch = await one.acquireLease(LEASE, 'one', TTL);
        const renewed = await one.transaction(async (tx) => {
          await tx.getMeta('k');
          return within(5_000, 'the renewal', one.renewLease(LEASE, 'one', epoch!, TTL));
        });
        expect(renewed).toBe(true);
        expect(await within(5_000, 'the holder', one.leaseHolder(LEASE))).toMatchObject({ holder: 'one' });
      } finally {
        await one.close();
      }
    });
  });

  describe('fence', () => {
    /** Every kind of write a deposed holder might still try. */
    const writes: [string, (s: PostgresStore) => Promise<unknown>][] = [
      ['saveDevices', (s) => s.saveDevices([{ row: device('main', '1'), change: change('main', '1', 5) }])],
      ['appendHistory', (s) => s.appendHistory(change('main', '1', 5))],
      ['saveAccount', (s) => s.saveAccount({ account: 'main', reachable: true, state: {} })],
      [
        'recordDeliveryProblems',
        (s) =>
          s.recordDeliveryProblems([
            { account: 'main', device: '1', problem: 'stalled', kind: 'started', at: 1 },
          ]),
      ],
      [
        'recordApiCall',
        (s) =>
          s.recordApiCall({ account: 'main', at: 1, kind: 'check', origin: 'daemon', caller: 'a', epoch: 1 }),
      ],
      [
        'addSilence',
        (s) => s.addSilence({ account: null, device: null, until: 9, reason: null, createdAt: 1 }),
      ],
      ['setMeta', (s) => s.setMeta('k', 'v')],
      ['prune', (s) => s.prune(10)],
      ['outbox.enqueue', (s) => s.outbox.enqueue([msg('late', 'ops')])],
      ['outbox.hold', (s) => s.outbox.hold([msg('late-held', 'ops')])],
      ['outbox.putFiring', (s) => s.outbox.putFiring({ channel: 'am', key: 'k', event: {}, updatedAt: 1 })],
      ['a transaction', (s) => s.transaction((tx) => tx.setMeta('tx', 'v'))],
      ['an outbox transaction', (s) => s.outbox.transaction((tx) => tx.enqueue([msg('tx', 'ops')]))],
    ];

    /** What a write could have left: every table's rows but the lease and what `keep` seeded. */
    async function snapshot(): Promise<unknown> {
      return withClient(db().url, async (c) => {
        const out: Record<string, unknown[]> = {};
        for (const t of [
          'devices',
          'history',
          'accounts',
          'delivery_problems',
          'api_calls',
          'silences',
          'meta',
          'outbox',
          'alertmanager_firing',
        ]) {
          out[t] = (await c.query(`SELECT * FROM ${t} ORDER BY 1`)).rows;
        }
        return out;
      });
    }

    it.each(writes)(
      'a deposed holder’s %s is refused with reason deposed, and writes nothing',
      async (_what, write) => {
        await lead(a, 'a');
        await a.outbox.enqueue([msg('pending', 'ops')]);
        await expireLease(db().url, LEASE);
        expect(await b.acquireLease(LEASE, 'b', TTL)).toBe(2);
        const before = await snapshot();
        const err = await rejection(write(a));
        expect(err).toMatchObject({ name: 'StoreError', reason: 'deposed' });
        expect((err as Error).message).toContain(`another replica holds the lease "${LEASE}" at epoch 2`);
        expect(await snapshot()).toEqual(before);
      },
    );

    it('a deposed holder cannot claim an outbox message, nor mark one sent', async () => {
      await lead(a, 'a');
      await a.outbox.enqueue([msg('m', 'ops')]);
      const id = (await a.outbox.find('m'))!.id;
      await expireLease(db().url, LEASE);
      await b.acquireLease(LEASE, 'b', TTL);
      await expect(a.outbox.markAttempting(id, 1)).rejects.toMatchObject({ reason: 'deposed' });
      await expect(a.outbox.markSent(id, 5, 1)).rejects.toMatchObject({ reason: 'deposed' });
      expect(await b.outbox.find('m')).toMatchObject({ attempts: 0, state: 'pending' });
      // Reads are not fenced: a standby serves pages from the shared store.
      expect(await a.outbox.find('m')).not.toBeNull();
      expect(await a.getDevices()).toEqual([]);
    });

    it('the holder writes while it holds — and after a lapse, until another takes over', async () => {
      await lead(a, 'a');
      await a.setMeta('k', '1');
      await expireLease(db().url, LEASE);
      await a.setMeta('k', '2');
      expect(await b.getMeta('k')).toBe('2');
    });

    it('a fence without an epoch (a standby) refuses every write; no fence, no check', async () => {
      await lead(a, 'a');
      b.setFence({ lease: LEASE, epoch: null });
      await expect(b.setMeta('k', 'v')).rejects.toMatchObject({ reason: 'deposed' });
      await expect(b.outbox.enqueue([msg('x', 'ops')])).rejects.toMatchObject({ reason: 'deposed' });
      b.setFence(null);
      await b.setMeta('k', 'v');
      expect(await a.getMeta('k')).toBe('v');
    });

    it('a fenced transaction checks once and holds the lease row to its end; reads in it are free', async () => {
      const epoch = await lead(a, 'a');
      const fence: Fence = { lease: LEASE, epoch };
      a.setFence(fence);
      await a.transaction(async (tx) => {
        expect(await tx.getMeta('k')).toBeNull();
        await tx.setMeta('k', 'v');
        await tx.outbox.enqueue([msg('m', 'ops')]);
        await tx.transaction((inner) => inner.setMeta('inner', '1'));
      });
      expect(await b.getMeta('inner')).toBe('1');
    });

    it('a write in flight makes a takeover wait for its commit: the write lands before the new epoch', async () => {
      await lead(a, 'a');
      await expireLease(db().url, LEASE);
      let takeover: Promise<number | null> | undefined;
      await a.transaction(async (tx) => {
        await tx.setMeta('in-flight', '1');
        takeover = b.acquireLease(LEASE, 'b', TTL);
        await lockWaiters(db().url);
        await tx.outbox.enqueue([msg('in-flight', 'ops')]);
      });
      expect(await takeover!).toBe(2);
      expect(await b.getMeta('in-flight')).toBe('1');
      expect(await b.outbox.find('in-flight')).not.toBeNull();
      await expect(a.setMeta('after', '1')).rejects.toMatchObject({ reason: 'deposed' });
    });

    it('a takeover first, then the old holder’s transaction is refused at its first write, whole', async () => {
      await lead(a, 'a');
      await expireLease(db().url, LEASE);
      await b.acquireLease(LEASE, 'b', TTL);
      const err = await rejection(
        a.transaction(async (tx) => {
          expect(await tx.getMeta('x')).toBeNull();
          await tx.setMeta('x', '1');
        }),
      );
      expect(err).toMatchObject({ reason: 'deposed' });
      expect(await b.getMeta('x')).toBeNull();
    });
  });

  describe('outbox claims', () => {
    it('two replicas claiming the same messages side by side never both claim one (SKIP LOCKED)', async () => {
      a.setFence(null);
      const deliveryIds = Array.from({ length: 40 }, (_, i) => `m${i}`);
      await a.outbox.enqueue(deliveryIds.map((id) => msg(id, 'ops')));
      const ids = await Promise.all(deliveryIds.map(async (d) => (await a.outbox.find(d))!.id));
      // Each claims every message inside a transaction it keeps open until both are done, so a
      // claim made by one is still locked when the other gets to it.
      let arrived = 0;
      let release!: () => void;
      const bothDone = new Promise<void>((resolve) => (release = resolve));
      const claimAll = (store: PostgresStore, order: number[]) =>
        store.outbox.transaction(async (tx) => {
          const mine: number[] = [];
          for (const id of order) if (await tx.markAttempting(id, 1)) mine.push(id);
          if (++arrived === 2) release();
          await bothDone;
          return mine;
        });
      const [byA, byB] = await Promise.all([claimAll(a, ids), claimAll(b, [...ids].reverse())]);
      expect(byA.filter((id) => byB.includes(id))).toEqual([]);
      expect([...byA, ...byB].sort((x, y) => x - y)).toEqual(ids);
      expect(byA.length).toBeGreaterThan(0);
      expect(byB.length).toBeGreaterThan(0);
    });

    it('a claim held by another replica’s transaction is skipped at once, not waited for', async () => {
      await a.outbox.enqueue([msg('m', 'ops')]);
      const id = (await a.outbox.find('m'))!.id;
      await a.outbox.transaction(async (tx) => {
        expect(await tx.markAttempting(id, 1)).toBe(true);
        expect(await b.outbox.markAttempting(id, 1)).toBe(false);
      });
      expect(await b.outbox.markAttempting(id, 2)).toBe(true);
      expect((await b.outbox.find('m'))!.attempts).toBe(2);
    });

    it('a claim is a compare-and-set on the attempts: two claimers that read the same count claim that attempt once', async () => {
      await a.outbox.enqueue([msg('m', 'ops')]);
      const seenByA = (await a.outbox.find('m'))!;
      const seenByB = (await b.outbox.find('m'))!;
      expect(await a.outbox.markAttempting(seenByA.id, seenByA.attempts + 1)).toBe(true);
      expect(await b.outbox.markAttempting(seenByB.id, seenByB.attempts + 1)).toBe(false);
      expect(await b.outbox.markAttempting(seenByB.id, seenByB.attempts + 3)).toBe(false);
      expect((await b.outbox.find('m'))!.attempts).toBe(1);
      expect(await b.outbox.markAttempting(seenByB.id, 2)).toBe(true);
    });
  });
});
