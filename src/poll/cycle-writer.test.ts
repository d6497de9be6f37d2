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
import { SqliteOutbox } from '../store/outbox.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store.js';
import type { DeviceSave } from '../store/store.js';
import { CycleWriter, type CycleCommit } from './cycle-writer.js';

// The writer against a real SQLite file: a second connection holding `BEGIN EXCLUSIVE` gives the
// daemon's connection a real SQLITE_BUSY (its busy timeout is set short), and a store wrapped so
// that chosen calls throw a real StoreError stands for a disk that fills mid-transaction.

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function scratchStore(): { store: SqliteStore; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wgm-writer-'));
  const file = join(dir, 'monitor.db');
  const store = openSqliteStore(file, { busyTimeoutMs: 20 });
  cleanups.push(() => {
    store.close();
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

/** Queues each publish as one outbox message whose payload lists the alerts' event types and times. */
function outboxPublisher(store: SqliteStore): (alerts: readonly MonitorAlert[]) => void {
  const outbox = new SqliteOutbox(store);
  let n = 0;
  return (alerts) =>
    outbox.enqueue([
      {
        deliveryId: `d${++n}`,
        channel: 'ops',
        payload: alerts.map((a) => `${a.event.type}@${a.event.at}`),
        createdAt: 0,
      },
    ]);
}

function queued(store: SqliteStore): string[] {
  return store.connection
    .prepare<[], { payload: string }>('SELECT payload FROM outbox ORDER BY id')
    .all()
    .flatMap((r) => JSON.parse(r.payload) as string[]);
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
  it('writes the delivery problems begun and ended, held across a locked database, in order', () => {
    const { store, file } = scratchStore();
    const out = capture();
    const writer = new CycleWriter({ store, log: out.log, publish: outboxPublisher(store) });
    const edge = (kind: 'started' | 'ended', at: number) =>
      ({ account: 'main', device: '100', problem: 'stalled', kind, at }) as const;
    const stallCommit = (kind: 'started' | 'ended', at: number): CycleCommit => ({
      saves: [{ ...save('100', at, null, 'connected'), change: null, deliveryChanges: [edge(kind, at)] }],
      account: null,
      alerts: [],
    });
    const lock = lockFrom(file);
    writer.add(stallCommit('started', 1_000));
    expect(writer.flush()).toBe(false);
    writer.add(stallCommit('ended', 5_000));
    writer.add(stallCommit('started', 7_000));
    expect(writer.flush()).toBe(false);
    lock.release();
    expect(writer.flush()).toBe(true);
    expect(store.problemPeriods(0).map((p) => [p.startedAt, p.endedAt])).toEqual([
      [1_000, 5_000],
      [7_000, null],
    ]);
  });

  it('holds what a locked database refused and writes it exactly once, in order, when the lock goes', () => {
    const { store, file } = scratchStore();
    const out = capture();
    const failures: unknown[] = [];
    const writer = new CycleWriter({
      store,
      log: out.log,
      publish: outboxPublisher(store),
      onFailure: (err) => failures.push(err),
    });

    const lock = lockFrom(file);
    writer.add(down('100', 1_000));
    expect(writer.flush()).toBe(false);
    // Later ticks while the lock holds: B drops, A comes back, B comes back.
    writer.add(down('200', 2_000));
    expect(writer.flush()).toBe(false);
    writer.add(up('100', 3_000));
    writer.add(up('200', 4_000));
    expect(writer.flush()).toBe(false);

    const failing = writer.health();
    expect(failing.writable).toBe(false);
    expect(failing.error).toContain('locked');
    expect(failing.held).toEqual({ cycles: 4, history: 4, alerts: 4 });
    expect(failures).toHaveLength(3);
    expect(failures.every((e) => e instanceof StoreError && e.reason === 'locked')).toBe(true);

    lock.release();
    expect(writer.flush()).toBe(true);
    expect(writer.flush()).toBe(true); // nothing left: a second flush writes nothing again

    expect(store.history('main', '100').map((h) => [h.at, h.to])).toEqual([
      [1_000, 'disconnected'],
      [3_000, 'connected'],
    ]);
    expect(store.history('main', '200').map((h) => [h.at, h.to])).toEqual([
      [2_000, 'disconnected'],
      [4_000, 'connected'],
    ]);
    // The newest row of each device, not an older one written last.
    expect(store.getDevice('main', '100')?.status).toBe('connected');
    expect(store.getDevice('main', '200')?.state).toEqual({ at: 4_000 });
    expect(queued(store)).toEqual([
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

  it('waits the full busy timeout for a lock only on the first attempt, not at every retry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgm-writer-'));
    const file = join(dir, 'monitor.db');
    const store = openSqliteStore(file, { busyTimeoutMs: 1500 });
    cleanups.push(() => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const writer = new CycleWriter({ store, log: capture().log, publish: outboxPublisher(store) });
    const lock = lockFrom(file);
    writer.add(down('100', 1_000));
    const first = performance.now();
    expect(writer.flush()).toBe(false);
    expect(performance.now() - first).toBeGreaterThanOrEqual(1400);
    const retry = performance.now();
    expect(writer.flush()).toBe(false);
    expect(performance.now() - retry).toBeLessThan(1000);
    lock.release();
    expect(writer.flush()).toBe(true);
    expect(queued(store)).toEqual(['device.down@1000']);
  });

  it('writes nothing of a transaction that failed half-way, and all of it once on the retry', () => {
    const { store } = scratchStore();
    const out = capture();
    let fullDisk = true;
    const publish = outboxPublisher(store);
    const writer = new CycleWriter({
      store,
      log: out.log,
      // The device rows and history are written first; the disk fills at the outbox.
      publish: (alerts) => {
        if (fullDisk) throw storeError('cannot write to', store.file, 'disk_full', 'the disk is full');
        publish(alerts);
      },
    });
    writer.add(down('100', 1_000));
    expect(writer.flush()).toBe(false);
    expect(store.history('main', '100')).toEqual([]);
    expect(store.getDevice('main', '100')).toBeNull();

    fullDisk = false;
    writer.add(up('100', 2_000));
    expect(writer.flush()).toBe(true);
    expect(store.history('main', '100').map((h) => h.at)).toEqual([1_000, 2_000]);
    expect(queued(store)).toEqual(['device.down@1000', 'device.up@2000']);
  });

  it('drops, rather than retries forever, a batch refused for a reason other than the store', () => {
    const { store } = scratchStore();
    const out = capture();
    let calls = 0;
    const writer = new CycleWriter({
      store,
      log: out.log,
      publish: () => {
        calls++;
        throw new TypeError('a bug in the notification layer');
      },
    });
    writer.add(down('100', 1_000));
    expect(writer.flush()).toBe(true);
    expect(writer.health().writable).toBe(true);
    writer.add({ saves: [save('200', 2_000, null, 'connected')], account: null, alerts: [] });
    expect(writer.flush()).toBe(true);
    expect(calls).toBe(1);
    expect(store.history('main', '100')).toEqual([]);
    expect(store.history('main', '200')).toHaveLength(1);
    expect(out.lines().filter((l) => l['level'] === 'error')).toHaveLength(1);
  });

  it('keeps the newest row per device and caps the held history and alerts, oldest dropped', () => {
    const { store, file } = scratchStore();
    const out = capture();
    const writer = new CycleWriter({
      store,
      log: out.log,
      publish: outboxPublisher(store),
      limits: { maxHistory: 3, maxAlerts: 2 },
    });
    const lock = lockFrom(file);
    for (let i = 1; i <= 5; i++) {
      writer.add(i % 2 === 1 ? down('100', i * 1_000) : up('100', i * 1_000));
      writer.flush();
    }
    expect(writer.health().held).toEqual({ cycles: 5, history: 3, alerts: 2 });
    lock.release();
    expect(writer.flush()).toBe(true);
    expect(store.history('main', '100').map((h) => h.at)).toEqual([3_000, 4_000, 5_000]);
    expect(queued(store)).toEqual(['device.up@4000', 'device.down@5000']);
    expect(store.getDevice('main', '100')?.state).toEqual({ at: 5_000 });
    const errors = out.lines().filter((l) => l['level'] === 'error');
    expect(errors.map((l) => l['msg'])).toEqual([
      'cannot write the poll results; holding them and retrying at every tick',
      'the store has failed so long that the oldest held history rows and alerts are being dropped',
    ]);
    expect(out.lines().at(-1)).toMatchObject({ level: 'info', droppedHistory: 2, droppedAlerts: 3 });
  });

  it('saves account rows held across failures, the newest one', () => {
    const { store, file } = scratchStore();
    const writer = new CycleWriter({ store, log: capture().log, publish: () => undefined });
    const lock = lockFrom(file);
    writer.add({ saves: [], account: { account: 'main', reachable: false, state: { n: 1 } }, alerts: [] });
    writer.flush();
    writer.add({ saves: [], account: { account: 'main', reachable: true, state: { n: 2 } }, alerts: [] });
    writer.flush();
    lock.release();
    expect(writer.flush()).toBe(true);
    expect(store.getAccounts()).toEqual([{ account: 'main', reachable: true, state: { n: 2 } }]);
  });
});
