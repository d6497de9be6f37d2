import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from './errors.js';
import { MIGRATIONS, runMigrations, SCHEMA_VERSION, userVersion } from './migrations.js';
import { SqliteOutbox, type NewOutboxMessage } from './outbox.js';
import { openSqliteStore, type SqliteStore } from './sqlite-store.js';
import { thrown } from './test-support/store-contract.js';

let dir: string;
let store: SqliteStore;
let outbox: SqliteOutbox;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wgm-outbox-'));
  store = openSqliteStore(join(dir, 'monitor.db'));
  outbox = new SqliteOutbox(store);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function msg(
  deliveryId: string,
  channel: string,
  createdAt = 1_000,
  payload: unknown = { n: deliveryId },
): NewOutboxMessage {
  return { deliveryId, channel, payload, createdAt };
}

describe('SqliteOutbox', () => {
  it('keeps each message with its delivery id, payload and times; the oldest per channel is its head', () => {
    outbox.enqueue([msg('a1', 'a', 1_000), msg('b1', 'b', 1_100), msg('a2', 'a', 1_200)]);
    expect(outbox.heads().map((m) => m.deliveryId)).toEqual(['a1', 'b1']);
    expect(outbox.head('a')).toMatchObject({
      deliveryId: 'a1',
      channel: 'a',
      payload: { n: 'a1' },
      createdAt: 1_000,
      attempts: 0,
      nextAttemptAt: 1_000,
      lastError: null,
      state: 'pending',
      doneAt: null,
    });
    expect(outbox.head('none')).toBeNull();
    expect(outbox.pendingCounts()).toEqual(
      new Map([
        ['a', 2],
        ['b', 1],
      ]),
    );
  });

  it('records retries, deliveries and drops; only pending messages are heads', () => {
    outbox.enqueue([msg('a1', 'a'), msg('a2', 'a'), msg('b1', 'b')]);
    const a1 = outbox.head('a')!;
    outbox.markRetry(a1.id, 1, 11_000, 'HTTP 500');
    expect(outbox.find('a1')).toMatchObject({
      attempts: 1,
      nextAttemptAt: 11_000,
      lastError: 'HTTP 500',
      state: 'pending',
    });
    outbox.markSent(a1.id, 12_000, 2);
    expect(outbox.find('a1')).toMatchObject({ attempts: 2, state: 'sent', doneAt: 12_000, lastError: null });
    outbox.markDropped(outbox.head('b')!.id, 13_000, 1, 'HTTP 400');
    expect(outbox.find('b1')).toMatchObject({ state: 'dropped', doneAt: 13_000, lastError: 'HTTP 400' });
    expect(outbox.heads().map((m) => m.deliveryId)).toEqual(['a2']);
    expect(outbox.pendingCounts()).toEqual(new Map([['a', 1]]));
  });

  it('retryNow() makes pending messages waiting for a retry due now, and nothing else', () => {
    outbox.enqueue([msg('a1', 'a'), msg('a2', 'a', 1_000), msg('b1', 'b', 1_000)]);
    outbox.markRetry(outbox.head('a')!.id, 3, 600_000, 'HTTP 500');
    outbox.markRetry(outbox.head('b')!.id, 1, 20_000, 'HTTP 500');
    outbox.markSent(outbox.head('b')!.id, 15_000, 2);
    expect(outbox.retryNow(15_000)).toBe(1);
    expect(outbox.find('a1')).toMatchObject({ nextAttemptAt: 15_000, attempts: 3, lastError: 'HTTP 500' });
    expect(outbox.find('a2')?.nextAttemptAt).toBe(1_000);
    expect(outbox.find('b1')?.nextAttemptAt).toBe(20_000);
  });

  it('merging: the never-attempted tail of a channel, a new payload, folded rows done with a note', () => {
    outbox.enqueue([msg('a1', 'a'), msg('b1', 'b'), msg('a2', 'a'), msg('a3', 'a'), msg('a4', 'a')]);
    const head = outbox.head('a')!;
    expect(outbox.unattemptedAfter('a', head.id, 2).map((m) => m.deliveryId)).toEqual(['a2', 'a3']);
    outbox.markAttempting(head.id, 1);
    expect(outbox.find('a1')).toMatchObject({ attempts: 1, state: 'pending' });
    outbox.transaction(() => {
      outbox.setPayload(head.id, { merged: true });
      outbox.markMerged(outbox.find('a2')!.id, 5_000, 'a1');
    });
    expect(outbox.find('a1')?.payload).toEqual({ merged: true });
    expect(outbox.find('a2')).toMatchObject({
      state: 'sent',
      doneAt: 5_000,
      attempts: 0,
      lastError: 'merged into a1',
      payload: { n: 'a2' },
    });
    expect(outbox.unattemptedAfter('a', head.id, 10).map((m) => m.deliveryId)).toEqual(['a3', 'a4']);
    expect(outbox.pendingCounts().get('a')).toBe(3);
  });

  it('expired(): pending messages created strictly before the cutoff', () => {
    outbox.enqueue([msg('old', 'a', 1_000), msg('edge', 'a', 2_000), msg('new', 'b', 3_000)]);
    outbox.markSent(outbox.head('b')!.id, 3_000, 1);
    expect(outbox.expired(2_000).map((m) => m.deliveryId)).toEqual(['old']);
    expect(outbox.expired(10_000).map((m) => m.deliveryId)).toEqual(['old', 'edge']);
  });

  it('a batch is queued whole or not at all', () => {
    const err = thrown(() => outbox.enqueue([msg('x', 'a'), msg('x', 'b')]));
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).reason).toBe('invalid');
    expect(outbox.pendingCounts().size).toBe(0);
  });

  it('joins the store’s transactions: a rollback takes the queued messages with it', () => {
    expect(() =>
      store.transaction(() => {
        outbox.enqueue([msg('x', 'a')]);
        outbox.putFiring({ channel: 'am', key: 'k', event: {}, updatedAt: 1 });
        throw new Error('cycle failed');
      }),
    ).toThrow('cycle failed');
    expect(outbox.find('x')).toBeNull();
    expect(outbox.firing()).toEqual([]);
  });

  it('prune deletes finished messages before the cutoff only', () => {
    outbox.enqueue([msg('s', 'a'), msg('d', 'b'), msg('p', 'c')]);
    outbox.markSent(outbox.head('a')!.id, 5_000, 1);
    outbox.markDropped(outbox.head('b')!.id, 6_000, 1, 'no');
    expect(outbox.prune(5_000)).toBe(0);
    expect(outbox.prune(5_001)).toBe(1);
    expect(outbox.prune(100_000)).toBe(1);
    expect(outbox.find('p')?.state).toBe('pending');
  });

  it('firing alerts: upserted by (channel, key), listed in order, deleted', () => {
    outbox.putFiring({ channel: 'am', key: 'device/main/2', event: { v: 1 }, updatedAt: 1 });
    outbox.putFiring({ channel: 'am', key: 'device/main/1', event: { v: 1 }, updatedAt: 1 });
    outbox.putFiring({ channel: 'am', key: 'device/main/2', event: { v: 2 }, updatedAt: 2 });
    expect(outbox.firing()).toEqual([
      { channel: 'am', key: 'device/main/1', event: { v: 1 }, updatedAt: 1 },
      { channel: 'am', key: 'device/main/2', event: { v: 2 }, updatedAt: 2 },
    ]);
    expect(outbox.deleteFiring('am', 'device/main/1')).toBe(true);
    expect(outbox.deleteFiring('am', 'device/main/1')).toBe(false);
    expect(outbox.firing()).toHaveLength(1);
  });

  it('survives closing and reopening the file', () => {
    outbox.enqueue([msg('kept', 'a', 1_000, { events: ['ü', '📱'] })]);
    store.close();
    store = openSqliteStore(join(dir, 'monitor.db'));
    outbox = new SqliteOutbox(store);
    expect(outbox.head('a')).toMatchObject({ deliveryId: 'kept', payload: { events: ['ü', '📱'] } });
  });

  it('a closed store gives StoreErrors with reason closed', () => {
    store.close();
    expect(thrown(() => outbox.heads())).toMatchObject({ reason: 'closed' });
    expect(thrown(() => new SqliteOutbox(store))).toMatchObject({ reason: 'closed' });
  });

  it('a payload that is not JSON is refused before anything is written', () => {
    expect(() => outbox.enqueue([msg('f', 'a', 1, () => 1)])).toThrow(TypeError);
    expect(outbox.find('f')).toBeNull();
  });
});

describe('migration 2 (outbox)', () => {
  it('upgrades a database of the first schema, keeping its data', () => {
    const file = join(dir, 'old.db');
    const old = new Database(file);
    runMigrations(old, MIGRATIONS.slice(0, 1));
    old.prepare("INSERT INTO meta (key, value) VALUES ('kept', 'yes')").run();
    expect(userVersion(old)).toBe(1);
    old.close();

    const upgraded = openSqliteStore(file);
    expect(upgraded.getMeta('kept')).toBe('yes');
    const ob = new SqliteOutbox(upgraded);
    ob.enqueue([msg('m', 'a')]);
    expect(ob.heads()).toHaveLength(1);
    upgraded.close();
    const check = new Database(file);
    expect(userVersion(check)).toBe(SCHEMA_VERSION);
    check.close();
  });
});

describe('held rows (notification grouping)', () => {
  it('held rows are never delivered, counted or expired; only held() lists them, oldest first', () => {
    outbox.hold([msg('h1', 'a', 1_000), msg('h2', 'b', 1_100)]);
    outbox.enqueue([msg('p1', 'a', 1_200)]);
    expect(outbox.held().map((m) => [m.deliveryId, m.state, m.createdAt])).toEqual([
      ['h1', 'held', 1_000],
      ['h2', 'held', 1_100],
    ]);
    expect(outbox.heads().map((m) => m.deliveryId)).toEqual(['p1']);
    expect(outbox.pendingCounts()).toEqual(new Map([['a', 1]]));
    expect(outbox.expired(10_000).map((m) => m.deliveryId)).toEqual(['p1']);
    expect(outbox.retryNow(5_000)).toBe(0);
    // Held rows have no done_at: retention never prunes them.
    expect(outbox.prune(Number.MAX_SAFE_INTEGER)).toBe(0);
    expect(outbox.held()).toHaveLength(2);
  });

  it('removeHeld deletes held rows only; markCancelled marks them done with a note', () => {
    outbox.hold([msg('h1', 'a'), msg('h2', 'a'), msg('h3', 'a')]);
    outbox.enqueue([msg('p1', 'a')]);
    const [h1, h2, h3] = outbox.held();
    const p1 = outbox.find('p1')!;
    expect(outbox.removeHeld([h1!.id, p1.id])).toBe(1);
    expect(outbox.find('h1')).toBeNull();
    expect(outbox.find('p1')?.state).toBe('pending');
    outbox.markCancelled([h2!.id, p1.id], 2_000, 'cancelled out');
    expect(outbox.find('h2')).toMatchObject({
      state: 'cancelled',
      doneAt: 2_000,
      lastError: 'cancelled out',
    });
    expect(outbox.find('p1')?.state).toBe('pending');
    expect(outbox.held().map((m) => m.id)).toEqual([h3!.id]);
    expect(outbox.prune(2_001)).toBe(1);
  });

  it('lastGroupedAt: per channel, the newest grouped message; other messages do not count', () => {
    outbox.enqueue([msg('g1', 'a', 1_000), msg('g2', 'a', 3_000), msg('g3', 'b', 2_000)], { grouped: true });
    outbox.enqueue([msg('x', 'a', 9_000), msg('y', 'c', 9_000)]);
    outbox.hold([msg('h', 'c', 9_500)]);
    expect(outbox.lastGroupedAt()).toEqual(
      new Map([
        ['a', 3_000],
        ['b', 2_000],
      ]),
    );
    expect(outbox.find('g1')?.grouped).toBe(true);
    expect(outbox.find('x')?.grouped).toBe(false);
    // Still known after the message was sent (group_interval counts from its queueing).
    outbox.markSent(outbox.find('g2')!.id, 4_000, 1);
    expect(outbox.lastGroupedAt().get('a')).toBe(3_000);
  });
});

describe('migration 3 (held and cancelled outbox rows)', () => {
  it('rebuilds the outbox keeping every row, id and state; the new states are accepted', () => {
    const file = join(dir, 'v2.db');
    const old = new Database(file);
    runMigrations(old, MIGRATIONS.slice(0, 2));
    old
      .prepare(
        `INSERT INTO outbox (id, delivery_id, channel, payload, created_at, attempts, next_attempt_at, last_error, state, done_at)
         VALUES (7, 'old-sent', 'a', '{}', 1000, 2, 1000, NULL, 'sent', 1500),
                (9, 'old-pending', 'a', '{}', 2000, 1, 12000, 'HTTP 500', 'pending', NULL)`,
      )
      .run();
    expect(() => old.prepare("UPDATE outbox SET state = 'held' WHERE id = 9").run()).toThrow(
      /CHECK constraint/,
    );
    old.close();

    const upgraded = openSqliteStore(file);
    const ob = new SqliteOutbox(upgraded);
    expect(ob.find('old-sent')).toMatchObject({
      id: 7,
      state: 'sent',
      attempts: 2,
      doneAt: 1500,
      grouped: false,
    });
    expect(ob.find('old-pending')).toMatchObject({
      id: 9,
      state: 'pending',
      nextAttemptAt: 12000,
      lastError: 'HTTP 500',
    });
    expect(ob.heads().map((m) => m.id)).toEqual([9]);
    ob.hold([msg('h', 'a')]);
    ob.markCancelled([ob.held()[0]!.id], 3_000, 'x');
    expect(ob.find('h')?.state).toBe('cancelled');
    expect(ob.enqueue([msg('new', 'a')])).toBeUndefined();
    expect(ob.find('new')!.id).toBeGreaterThan(9);
    upgraded.close();
  });
});
