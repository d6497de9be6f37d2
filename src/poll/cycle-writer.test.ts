import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import type { DeviceStatus } from '../monitor/model.js';
import type { DeviceAlert, MonitorAlert } from '../notify/events.js';
import { StoreError, storeError } from '../store/errors.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store.js';
import type { DeviceSave, Store } from '../store/store.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { StoredCallLog } from './call-log.js';
import { CycleWriter, type CycleCommit } from './cycle-writer.js';

// The writer against a real SQLite file: a second connection holding `BEGIN EXCLUSIVE` gives the
// daemon's connection a real SQLITE_BUSY (its busy timeout is set short), and a publish that
// throws a real StoreError stands for a disk that fills mid-transaction (or a fence refusing a
// deposed replica's write).

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function scratchStore(): { store: SqliteStore; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wgm-writer-'));
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

function capture(): { lines: () => Record<string, unknown>[]; log: ReturnType<typeof createLogger> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    log: createLogger('info', stream),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

type Publish = (tx: Store, alerts: readonly MonitorAlert[]) => Promise<void>;

/**
 * Queues each publish through the transaction's outbox (as Notifications.publish does), as one
 * message whose payload lists the alerts' event types and times.
 */
function outboxPublisher(): Publish {
  let n = 0;
  return (tx, alerts) =>
    tx.outbox.enqueue([
      {
        deliveryId: `d${++n}`,
        channel: 'ops',
        payload: alerts.map((a) => `${a.event.type}@${a.event.at}`),
        createdAt: 0,
      },
    ]);
}

async function queued(store: SqliteStore): Promise<string[]> {
  const messages = await store.outbox.unattemptedAfter('ops', 0, 1_000);
  return messages.flatMap((m) => m.payload as string[]);
}

/** A promise the test settles, to hold a flush in the middle of its transaction. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function save(device: string, at: number, from: DeviceStatus | null, to: DeviceStatus): DeviceSave {
  return {
    row: {
      account: 'main',
      device,
      status: to,
      statusRaw: to,
      health: to === 'connected' ? 'UP' : 'DOWN',
      statusSince: at,
      lastCheckAt: at,
      probeError: null,
      transitions: 1,
      state: { at },
    },
    change: { account: 'main', device, at, from, to, raw: to },
  };
}

function alert(device: string, type: 'device.down' | 'device.up', at: number): DeviceAlert {
  const status: DeviceStatus = type === 'device.down' ? 'disconnected' : 'connected';
  return {
    kind: 'device',
    account: 'main',
    device: { number: device, name: device, labels: {} },
    channels: null,
    event: { type, at, status, previousStatus: null, since: at },
  };
}

const down = (device: string, at: number): CycleCommit => ({
  saves: [save(device, at, 'connected', 'disconnected')],
  account: null,
  alerts: [alert(device, 'device.down', at)],
});
const up = (device: string, at: number): CycleCommit => ({
  saves: [save(device, at, 'disconnected', 'connected')],
  account: null,
  alerts: [alert(device, 'device.up', at)],
});

describe('CycleWriter', () => {
  it('writes the delivery problems begun and ended, held across a locked database, in order', async () => {
    const { store, file } = scratchStore();
    const out = capture();
    const writer = new CycleWriter({ store, log: out.log, publish: outboxPublisher() });
    const edge = (kind: 'started' | 'ended', at: number) =>
      ({ account: 'main', device: '100', problem: 'stalled', kind, at }) as const;
    const stallCommit = (kind: 'started' | 'ended', at: number): CycleCommit => ({
      saves: [{ ...save('100', at, null, 'connected'), change: null, deliveryChanges: [edge(kind, at)] }],
      account: null,
      alerts: [],
    });
    const lock = lockFrom(file);
    writer.add(stallCommit('started', 1_000));
    expect(await writer.flush()).toBe(false);
    writer.add(stallCommit('ended', 5_000));
    writer.add(stallCommit('started', 7_000));
    expect(await writer.flush()).toBe(false);
    lock.release();
    expect(await writer.flush()).toBe(true);
    expect((await store.problemPeriods(0)).map((p) => [p.startedAt, p.endedAt])).toEqual([
      [1_000, 5_000],
      [7_000, null],
    ]);
  });

  it('holds what a locked database refused and writes it exactly once, in order, when the lock goes', async () => {
    const { store, file } = scratchStore();
    const out = capture();
    const failures: unknown[] = [];
    const writer = new CycleWriter({
      store,
      log: out.log,
      publish: outboxPublisher(),
      onFailure: (err) => failures.push(err),
    });

    const lock = lockFrom(file);
    writer.add(down('100', 1_000));
    expect(await writer.flush()).toBe(false);
    // Later ticks while the lock holds: B drops, A comes back, B comes back.
    writer.add(down('200', 2_000));
    expect(await writer.flush()).toBe(false);
    writer.add(up('100', 3_000));
    writer.add(up('200', 4_000));
    expect(await writer.flush()).toBe(false);

    const failing = writer.health();
    expect(failing.writable).toBe(false);
    expect(failing.error).toContain('locked');
    expect(failing.held).toEqual({ cycles: 4, history: 4, alerts: 4 });
    expect(failures).toHaveLength(3);
    expect(failures.every((e) => e instanceof StoreError && e.reason === 'locked')).toBe(true);

    lock.release();
    expect(await writer.flush()).toBe(true);
    expect(await writer.flush()).toBe(true); // nothing left: a second flush writes nothing again

    expect((await store.history('main', '100')).map((h) => [h.at, h.to])).toEqual([
      [1_000, 'disconnected'],
      [3_000, 'connected'],
    ]);
    expect((await store.history('main', '200')).map((h) => [h.at, h.to])).toEqual([
      [2_000, 'disconnected'],
      [4_000, 'connected'],
    ]);
    // The newest row of each device, not an older one written last.
    expect((await store.getDevice('main', '100'))?.status).toBe('connected');
    expect((await store.getDevice('main', '200'))?.state).toEqual({ at: 4_000 });
    expect(await queued(store)).toEqual([
      'device.down@1000',
      'device.down@2000',
      'device.up@3000',
      'device.up@4000',
    ]);
    expect(writer.health()).toEqual({
      writable: true,
      error: null,
      held: { cycles: 0, history: 0, alerts: 0 },
    });

    // One error when it started failing, one info when it recovered: not a line per tick.
    const lines = out.lines().filter((l) => l['component'] === 'store');
    expect(lines.map((l) => l['level'])).toEqual(['error', 'info']);
    expect(lines[1]).toMatchObject({ failedAttempts: 3, cycles: 4, history: 4, alerts: 4 });
  });

  it('waits the full busy timeout for a lock only on the first attempt, not at every retry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgm-writer-'));
    const file = join(dir, 'monitor.db');
    const store = openSqliteStore(file, { busyTimeoutMs: 1500 });
    cleanups.push(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const writer = new CycleWriter({ store, log: capture().log, publish: outboxPublisher() });
    const lock = lockFrom(file);
    writer.add(down('100', 1_000));
    const first = performance.now();
    expect(await writer.flush()).toBe(false);
    expect(performance.now() - first).toBeGreaterThanOrEqual(1400);
    const retry = performance.now();
    expect(await writer.flush()).toBe(false);
    expect(performance.now() - retry).toBeLessThan(1000);
    lock.release();
    expect(await writer.flush()).toBe(true);
    expect(await queued(store)).toEqual(['device.down@1000']);
  });

  it('writes nothing of a transaction that failed half-way, and all of it once on the retry', async () => {
    const { store } = scratchStore();
    const out = capture();
    let fullDisk = true;
    const publish = outboxPublisher();
    const writer = new CycleWriter({
      store,
      log: out.log,
      // The device rows and history are written first; the disk fills at the outbox.
      publish: async (tx, alerts) => {
        if (fullDisk) throw storeError('cannot write to', store.file, 'disk_full', 'the disk is full');
        await publish(tx, alerts);
      },
    });
    writer.add(down('100', 1_000));
    expect(await writer.flush()).toBe(false);
    expect(await store.history('main', '100')).toEqual([]);
    expect(await store.getDevice('main', '100')).toBeNull();

    fullDisk = false;
    writer.add(up('100', 2_000));
    expect(await writer.flush()).toBe(true);
    expect((await store.history('main', '100')).map((h) => h.at)).toEqual([1_000, 2_000]);
    expect(await queued(store)).toEqual(['device.down@1000', 'device.up@2000']);
  });

  it('drops, rather than retries forever, a batch refused for a reason other than the store', async () => {
    const { store } = scratchStore();
    const out = capture();
    let calls = 0;
    const writer = new CycleWriter({
      store,
      log: out.log,
      publish: () => {
        calls++;
        return Promise.reject(new TypeError('a bug in the notification layer'));
      },
    });
    writer.add(down('100', 1_000));
    expect(await writer.flush()).toBe(true);
    expect(writer.health().writable).toBe(true);
    writer.add({ saves: [save('200', 2_000, null, 'connected')], account: null, alerts: [] });
    expect(await writer.flush()).toBe(true);
    expect(calls).toBe(1);
    expect(await store.history('main', '100')).toEqual([]);
    expect(await store.history('main', '200')).toHaveLength(1);
    expect(out.lines().filter((l) => l['level'] === 'error')).toHaveLength(1);
  });

  it('keeps the newest row per device and caps the held history and alerts, oldest dropped', async () => {
    const { store, file } = scratchStore();
    const out = capture();
    const writer = new CycleWriter({
      store,
      log: out.log,
      publish: outboxPublisher(),
      limits: { maxHistory: 3, maxAlerts: 2 },
    });
    const lock = lockFrom(file);
    for (let i = 1; i <= 5; i++) {
      writer.add(i % 2 === 1 ? down('100', i * 1_000) : up('100', i * 1_000));
      await writer.flush();
    }
    expect(writer.health().held).toEqual({ cycles: 5, history: 3, alerts: 2 });
    lock.release();
    expect(await writer.flush()).toBe(true);
    expect((await store.history('main', '100')).map((h) => h.at)).toEqual([3_000, 4_000, 5_000]);
    expect(await queued(store)).toEqual(['device.up@4000', 'device.down@5000']);
    expect((await store.getDevice('main', '100'))?.state).toEqual({ at: 5_000 });
    const errors = out.lines().filter((l) => l['level'] === 'error');
    expect(errors.map((l) => l['msg'])).toEqual([
      'cannot write the poll results; holding them and retrying at every tick',
      'the store has failed so long that the oldest held history rows and alerts are being dropped',
    ]);
    expect(out.lines().at(-1)).toMatchObject({ level: 'info', droppedHistory: 2, droppedAlerts: 3 });
  });

  it('saves account rows held across failures, the newest one', async () => {
    const { store, file } = scratchStore();
    const writer = new CycleWriter({ store, log: capture().log, publish: () => Promise.resolve() });
    const lock = lockFrom(file);
    writer.add({ saves: [], account: { account: 'main', reachable: false, state: { n: 1 } }, alerts: [] });
    await writer.flush();
    writer.add({ saves: [], account: { account: 'main', reachable: true, state: { n: 2 } }, alerts: [] });
    await writer.flush();
    lock.release();
    expect(await writer.flush()).toBe(true);
    expect(await store.getAccounts()).toEqual([{ account: 'main', reachable: true, state: { n: 2 } }]);
  });

  it('runs one flush at a time: a flush still writing when the next is asked for goes first', async () => {
    const { store } = scratchStore();
    const publish = outboxPublisher();
    const hold = deferred();
    let held = true;
    const writer = new CycleWriter({
      store,
      log: capture().log,
      publish: async (tx, alerts) => {
        if (held) await hold.promise;
        await publish(tx, alerts);
      },
    });
    writer.add(down('100', 1_000));
    const first = writer.flush();
    await new Promise((resolve) => setImmediate(resolve));
    // The next tick's cycle ends while the first flush is still in its transaction.
    writer.add(up('100', 2_000));
    expect(writer.health().held).toEqual({ cycles: 2, history: 2, alerts: 2 });
    const second = writer.flush();
    held = false;
    hold.resolve();
    expect(await first).toBe(true);
    expect(await second).toBe(true);
    expect((await store.history('main', '100')).map((h) => [h.at, h.to])).toEqual([
      [1_000, 'disconnected'],
      [2_000, 'connected'],
    ]);
    expect((await store.getDevice('main', '100'))?.state).toEqual({ at: 2_000 });
    expect(await queued(store)).toEqual(['device.down@1000', 'device.up@2000']);
    expect(writer.health().held).toEqual({ cycles: 0, history: 0, alerts: 0 });
  });

  it('puts a failed batch back before what was added while it was being written', async () => {
    const { store } = scratchStore();
    const publish = outboxPublisher();
    const hold = deferred();
    let fullDisk = true;
    const writer = new CycleWriter({
      store,
      log: capture().log,
      publish: async (tx, alerts) => {
        if (fullDisk) {
          await hold.promise;
          throw storeError('cannot write to', store.file, 'disk_full', 'the disk is full');
        }
        await publish(tx, alerts);
      },
    });
    writer.add(down('100', 1_000));
    const failing = writer.flush();
    await new Promise((resolve) => setImmediate(resolve));
    writer.add(up('100', 2_000));
    // Asked for while the first is still writing: it must wait for the first to fail, or it would
    // write the up before the down it follows.
    const next = writer.flush();
    fullDisk = false;
    hold.resolve();
    expect(await failing).toBe(false);
    expect(await next).toBe(true);
    expect((await store.history('main', '100')).map((h) => h.at)).toEqual([1_000, 2_000]);
    expect((await store.getDevice('main', '100'))?.state).toEqual({ at: 2_000 });
    expect(await queued(store)).toEqual(['device.down@1000', 'device.up@2000']);
  });

  it('drops, with one log line, what a deposed replica held, and never retries it', async () => {
    const { store, file } = scratchStore();
    const out = capture();
    const failures: unknown[] = [];
    let deposed = false;
    const publish = outboxPublisher();
    const writer = new CycleWriter({
      store,
      log: out.log,
      // The fence refuses the replica's first write once another holds the lease.
      publish: async (tx, alerts) => {
        if (deposed) {
          throw storeError('cannot write to', store.file, 'deposed', 'another replica holds the lease');
        }
        await publish(tx, alerts);
      },
      onFailure: (err) => failures.push(err),
    });
    // The store failed first (a lock): the batch is held, and the store reads as failing.
    const lock = lockFrom(file);
    writer.add(down('100', 1_000));
    expect(await writer.flush()).toBe(false);
    expect(writer.health().writable).toBe(false);
    lock.release();
    // Meanwhile another replica took the lease: what this one held is not its to write.
    deposed = true;
    writer.add(down('200', 2_000));
    expect(await writer.flush()).toBe(true);
    expect(writer.health()).toEqual({
      writable: true,
      error: null,
      held: { cycles: 0, history: 0, alerts: 0 },
    });
    writer.add(up('100', 3_000));
    expect(await writer.flush()).toBe(true);
    expect(writer.health().held).toEqual({ cycles: 0, history: 0, alerts: 0 });

    expect(await store.history('main', '100')).toEqual([]);
    expect(await store.getDevice('main', '200')).toBeNull();
    expect(await queued(store)).toEqual([]);
    // Not a store failure: only the lock counted.
    expect(failures).toHaveLength(1);
    const lines = out.lines().filter((l) => l['component'] === 'store');
    expect(lines.map((l) => [l['level'], l['reason']])).toEqual([
      ['error', 'locked'],
      ['warn', 'deposed'],
    ]);
    expect(lines[1]).toMatchObject({ cycles: 2, history: 2, alerts: 2 });
  });

  it('discards what it holds when told the lease was lost', async () => {
    const { store } = scratchStore();
    const out = capture();
    const writer = new CycleWriter({ store, log: out.log, publish: outboxPublisher() });
    writer.add(down('100', 1_000));
    writer.discard();
    expect(writer.health().held).toEqual({ cycles: 0, history: 0, alerts: 0 });
    expect(await writer.flush()).toBe(true);
    expect(await store.history('main', '100')).toEqual([]);
    expect(await queued(store)).toEqual([]);
    expect(out.lines().map((l) => l['level'])).toEqual(['warn']);
  });

  describe('with the call log (routine rows wait minutes: a logged gateway call may be the first write)', () => {
    function callLogOf(store: SqliteStore, writer: CycleWriter, clock: FakeClock): StoredCallLog {
      return new StoredCallLog({
        store,
        account: 'main',
        clock,
        origin: 'daemon',
        onStoreWrite: (failure) => writer.noteOtherWrite(failure),
      });
    }

    it('is unwritable from a call the store could not log until one is logged, with nothing held', async () => {
      const { store, file } = scratchStore();
      const out = capture();
      const writer = new CycleWriter({ store, log: out.log, publish: outboxPublisher() });
      const clock = new FakeClock(1_700_000_000_000);
      const calls = callLogOf(store, writer, clock);
      expect(await calls.reserve('check', () => true)).toBe(true);
      expect(writer.health().writable).toBe(true);
      const lock = lockFrom(file);
      // Made unlogged, on this process's budget alone; the store's health says why.
      expect(await calls.reserve('check', () => true)).toBe(true);
      expect(writer.health()).toMatchObject({ writable: false, error: expect.stringMatching(/lock/) });
      lock.release();
      await clock.advance(30_000);
      expect(await calls.reserve('check', () => true)).toBe(true);
      expect(writer.health()).toMatchObject({ writable: true, error: null });
      expect(out.lines().map((l) => [l['level'], l['msg']])).toEqual([
        ['error', 'cannot write the poll results; holding them and retrying at every tick'],
        ['info', 'the store is writable again: a gateway call was logged'],
      ]);
    });

    it('leaves the recovery to the flush of what is held, which reports it', async () => {
      const { store, file } = scratchStore();
      const out = capture();
      const writer = new CycleWriter({ store, log: out.log, publish: outboxPublisher() });
      const clock = new FakeClock(1_700_000_000_000);
      const calls = callLogOf(store, writer, clock);
      const lock = lockFrom(file);
      await calls.reserve('check', () => true);
      writer.add(down('100', 1_000));
      expect(await writer.flush()).toBe(false);
      lock.release();
      await clock.advance(30_000);
      await calls.reserve('check', () => true);
      // Logged, but the DOWN is not written yet: still failing until the flush takes it.
      expect(writer.health()).toMatchObject({ writable: false, held: { alerts: 1 } });
      expect(await writer.flush()).toBe(true);
      expect(writer.health()).toMatchObject({ writable: true, held: { alerts: 0 } });
      expect(await queued(store)).toEqual(['device.down@1000']);
      const recovery = out.lines().find((l) => String(l['msg']).startsWith('the store is writable again'));
      expect(recovery).toMatchObject({
        msg: 'the store is writable again: wrote the held poll results late',
        alerts: 1,
      });
    });
  });
});
