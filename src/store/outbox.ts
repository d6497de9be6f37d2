// The notification outbox and the firing Alertmanager alerts, kept in the monitor's SQLite file
// beside the Store (same connection, so a cycle's messages can be enqueued in one transaction).
// Payloads are opaque JSON here: the notify layer decides what a message holds.
// Times are epoch milliseconds.
//
// Row lifecycle: `held` (one event waiting for its channel's group, SPEC §8) → deleted when a
// release queues it inside a `pending` message (`grouped`), or `cancelled` (done) when it
// cancelled out; `pending` → `sent` | `dropped`. Only pending rows are ever delivered.
//
// Over 350 lines on purpose: one class per table, one prepared statement and one small method
// per operation; splitting it would split the outbox's SQL across files.

import type { Database, Statement } from 'better-sqlite3';
import { fromSqliteError, StoreError, storeError } from './errors.js';
import type { SqliteStore } from './sqlite-store.js';

export type OutboxState = 'held' | 'pending' | 'sent' | 'dropped' | 'cancelled';

export interface NewOutboxMessage {
  /** Stable across retries; receivers drop duplicates by it. Unique. */
  readonly deliveryId: string;
  readonly channel: string;
  /** Must survive `JSON.stringify`/`JSON.parse`. */
  readonly payload: unknown;
  readonly createdAt: number;
}

export interface OutboxMessage extends NewOutboxMessage {
  readonly id: number;
  /** Attempts made so far. */
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  readonly state: OutboxState;
  /** When it was sent, dropped or cancelled; null while held or pending. */
  readonly doneAt: number | null;
  /** A message released by grouping: its `createdAt` is when its channel last got a group. */
  readonly grouped: boolean;
}

export interface FiringAlert {
  readonly channel: string;
  /** Identifies the alert within the channel (e.g. `device/main/123456789`). */
  readonly key: string;
  /** What the notify layer needs to re-send it; JSON. */
  readonly event: unknown;
  readonly updatedAt: number;
}

/** What the delivery loop and the notification sink need from the outbox's storage. */
export interface OutboxStore {
  /** Runs `fn` in one transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T;
  /** Queues messages to deliver; `grouped` marks those a grouping release made. */
  enqueue(messages: readonly NewOutboxMessage[], options?: { readonly grouped?: boolean }): void;
  /**
   * Holds events for their channel's group: rows in state `held`, `createdAt` being when each
   * was held. Never delivered as such; a release turns them into a message (see below).
   */
  hold(events: readonly NewOutboxMessage[]): void;
  /** Every held row, of every channel, oldest first. */
  held(): OutboxMessage[];
  /** Deletes held rows (their events were queued in a grouped message); returns how many. */
  removeHeld(ids: readonly number[]): number;
  /** Held rows that cancelled out: done, state `cancelled`, `note` in `lastError`. */
  markCancelled(ids: readonly number[], at: number, note: string): void;
  /** Per channel, when its newest grouped message was queued (group_interval counts from it). */
  lastGroupedAt(): Map<string, number>;
  /** The oldest pending message of each channel, ordered by channel. */
  heads(): OutboxMessage[];
  markSent(id: number, at: number, attempts: number): void;
  markRetry(id: number, attempts: number, nextAttemptAt: number, error: string): void;
  markDropped(id: number, at: number, attempts: number, error: string): void;
  /**
   * An attempt is about to be made: records its count first, so that a message whose attempt
   * was cut short (stop, crash) is still known as attempted — its delivery id may have been seen.
   */
  markAttempting(id: number, attempts: number): void;
  /** Replaces a pending message's payload (a backlog merged into it). */
  setPayload(id: number, payload: unknown): void;
  /**
   * A message folded into another before it was ever attempted: done, as `sent` (its events go
   * out with the other), with `merged into <delivery id>` as its note in `lastError`.
   */
  markMerged(id: number, at: number, intoDeliveryId: string): void;
  /** Pending messages waiting for a later attempt become due at `now` (a restart, a reload); returns how many. */
  retryNow(now: number): number;
  /** The channel's pending messages after `afterId` that were never attempted, oldest first. */
  unattemptedAfter(channel: string, afterId: number, limit: number): OutboxMessage[];
  /** The oldest pending message of the channel. */
  head(channel: string): OutboxMessage | null;
  /** Pending messages created before `createdBefore`, oldest first. */
  expired(createdBefore: number): OutboxMessage[];
  /** Pending messages per channel; channels with none are left out. */
  pendingCounts(): Map<string, number>;
  find(deliveryId: string): OutboxMessage | null;
  /** Deletes sent, dropped and cancelled rows finished before `before`; returns how many. */
  prune(before: number): number;

  putFiring(alert: FiringAlert): void;
  /** False when there was none. */
  deleteFiring(channel: string, key: string): boolean;
  /** Ordered by channel, then key. */
  firing(): FiringAlert[];
}

interface MessageRecord {
  id: number;
  deliveryId: string;
  channel: string;
  payload: string;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  state: OutboxState;
  doneAt: number | null;
  grouped: number;
}

interface FiringRecord {
  channel: string;
  key: string;
  event: string;
  updatedAt: number;
}

const MESSAGE_COLUMNS = `id, delivery_id AS deliveryId, channel, payload, created_at AS createdAt, attempts,
  next_attempt_at AS nextAttemptAt, last_error AS lastError, state, done_at AS doneAt, grouped`;

type Run<P extends unknown[]> = Statement<P, never>;

/** The OutboxStore on the SqliteStore's connection. Closing the SqliteStore closes it too. */
export class SqliteOutbox implements OutboxStore {
  readonly #store: SqliteStore;
  readonly #db: Database;
  readonly #stmts: {
    insert: Run<[string, string, string, number, number, string, number]>;
    held: Statement<[], MessageRecord>;
    removeHeld: Run<[number]>;
    markCancelled: Run<[number, string, number]>;
    lastGroupedAt: Statement<[], { channel: string; at: number }>;
    heads: Statement<[], MessageRecord>;
    head: Statement<[string], MessageRecord>;
    markSent: Run<[number, number, number]>;
    markRetry: Run<[number, number, string, number]>;
    markDropped: Run<[number, number, string, number]>;
    markAttempting: Run<[number, number]>;
    setPayload: Run<[string, number]>;
    markMerged: Run<[number, string, number]>;
    retryNow: Run<[number, number]>;
    unattemptedAfter: Statement<[string, number, number], MessageRecord>;
    expired: Statement<[number], MessageRecord>;
    pendingCounts: Statement<[], { channel: string; n: number }>;
    find: Statement<[string], MessageRecord>;
    prune: Run<[number]>;
    putFiring: Run<[string, string, string, number]>;
    deleteFiring: Run<[string, string]>;
    firing: Statement<[], FiringRecord>;
  };

  constructor(store: SqliteStore) {
    this.#store = store;
    const db = store.connection;
    this.#db = db;
    this.#stmts = {
      insert: db.prepare(
        `INSERT INTO outbox (delivery_id, channel, payload, created_at, next_attempt_at, state, grouped)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      held: db.prepare(`SELECT ${MESSAGE_COLUMNS} FROM outbox WHERE state = 'held' ORDER BY id`),
      removeHeld: db.prepare("DELETE FROM outbox WHERE id = ? AND state = 'held'"),
      markCancelled: db.prepare(
        "UPDATE outbox SET state = 'cancelled', done_at = ?, last_error = ? WHERE id = ? AND state = 'held'",
      ),
      lastGroupedAt: db.prepare(
        'SELECT channel, MAX(created_at) AS at FROM outbox WHERE grouped = 1 GROUP BY channel ORDER BY channel',
      ),
      // The MIN(id) per channel uses the partial index; a correlated subquery would too, but
      // this reads it once.
      heads: db.prepare(`
        SELECT ${MESSAGE_COLUMNS} FROM outbox WHERE id IN (
          SELECT MIN(id) FROM outbox WHERE state = 'pending' GROUP BY channel)
        ORDER BY channel`),
      head: db.prepare(
        `SELECT ${MESSAGE_COLUMNS} FROM outbox WHERE channel = ? AND state = 'pending' ORDER BY id LIMIT 1`,
      ),
      markSent: db.prepare(
        "UPDATE outbox SET state = 'sent', done_at = ?, attempts = ?, last_error = NULL WHERE id = ?",
      ),
      markRetry: db.prepare(
        "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ? AND state = 'pending'",
      ),
      markDropped: db.prepare(
        "UPDATE outbox SET state = 'dropped', done_at = ?, attempts = ?, last_error = ? WHERE id = ?",
      ),
      markAttempting: db.prepare("UPDATE outbox SET attempts = ? WHERE id = ? AND state = 'pending'"),
      setPayload: db.prepare("UPDATE outbox SET payload = ? WHERE id = ? AND state = 'pending'"),
      markMerged: db.prepare(
        "UPDATE outbox SET state = 'sent', done_at = ?, last_error = ? WHERE id = ? AND state = 'pending'",
      ),
      retryNow: db.prepare(
        "UPDATE outbox SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at > ?",
      ),
      unattemptedAfter: db.prepare(
        `SELECT ${MESSAGE_COLUMNS} FROM outbox
         WHERE channel = ? AND state = 'pending' AND id > ? AND attempts = 0 ORDER BY id LIMIT ?`,
      ),
      expired: db.prepare(
        `SELECT ${MESSAGE_COLUMNS} FROM outbox WHERE state = 'pending' AND created_at < ? ORDER BY id`,
      ),
      pendingCounts: db.prepare(
        "SELECT channel, count(*) AS n FROM outbox WHERE state = 'pending' GROUP BY channel ORDER BY channel",
      ),
      find: db.prepare(`SELECT ${MESSAGE_COLUMNS} FROM outbox WHERE delivery_id = ?`),
      // Held and pending rows have no done_at: never pruned.
      prune: db.prepare('DELETE FROM outbox WHERE done_at IS NOT NULL AND done_at < ?'),
      putFiring: db.prepare(`
        INSERT INTO alertmanager_firing (channel, alert_key, event, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (channel, alert_key) DO UPDATE SET event = excluded.event, updated_at = excluded.updated_at`),
      deleteFiring: db.prepare('DELETE FROM alertmanager_firing WHERE channel = ? AND alert_key = ?'),
      firing: db.prepare(`
        SELECT channel, alert_key AS key, event, updated_at AS updatedAt
        FROM alertmanager_firing ORDER BY channel, alert_key`),
    };
  }

  transaction<T>(fn: () => T): T {
    return this.#store.transaction(fn);
  }

  enqueue(messages: readonly NewOutboxMessage[], options: { readonly grouped?: boolean } = {}): void {
    this.#insert(messages, 'pending', options.grouped === true);
  }

  hold(events: readonly NewOutboxMessage[]): void {
    this.#insert(events, 'held', false);
  }

  held(): OutboxMessage[] {
    return this.#guard('cannot read the outbox in', () => this.#stmts.held.all().map(toMessage));
  }

  removeHeld(ids: readonly number[]): number {
    return this.#guard('cannot update the outbox in', () =>
      this.#db.transaction(() => ids.reduce((n, id) => n + this.#stmts.removeHeld.run(id).changes, 0))(),
    );
  }

  markCancelled(ids: readonly number[], at: number, note: string): void {
    this.#guard('cannot update the outbox in', () =>
      this.#db.transaction(() => {
        for (const id of ids) this.#stmts.markCancelled.run(at, note, id);
      })(),
    );
  }

  lastGroupedAt(): Map<string, number> {
    return this.#guard(
      'cannot read the outbox in',
      () => new Map(this.#stmts.lastGroupedAt.all().map((r) => [r.channel, r.at])),
    );
  }

  #insert(messages: readonly NewOutboxMessage[], state: 'held' | 'pending', grouped: boolean): void {
    if (messages.length === 0) return;
    this.#guard('cannot queue a notification in', () => {
      this.#db
        .transaction(() => {
          for (const m of messages) {
            const payload = JSON.stringify(m.payload);
            if (payload === undefined) throw new TypeError('outbox payload is not JSON-serialisable');
            this.#stmts.insert.run(
              m.deliveryId,
              m.channel,
              payload,
              m.createdAt,
              m.createdAt,
              state,
              grouped ? 1 : 0,
            );
          }
        })
        .immediate();
    });
  }

  heads(): OutboxMessage[] {
    return this.#guard('cannot read the outbox in', () => this.#stmts.heads.all().map(toMessage));
  }

  head(channel: string): OutboxMessage | null {
    return this.#guard('cannot read the outbox in', () => {
      const r = this.#stmts.head.get(channel);
      return r === undefined ? null : toMessage(r);
    });
  }

  markSent(id: number, at: number, attempts: number): void {
    this.#guard('cannot update the outbox in', () => this.#stmts.markSent.run(at, attempts, id));
  }

  markRetry(id: number, attempts: number, nextAttemptAt: number, error: string): void {
    this.#guard('cannot update the outbox in', () =>
      this.#stmts.markRetry.run(attempts, nextAttemptAt, error, id),
    );
  }

  markDropped(id: number, at: number, attempts: number, error: string): void {
    this.#guard('cannot update the outbox in', () => this.#stmts.markDropped.run(at, attempts, error, id));
  }

  markAttempting(id: number, attempts: number): void {
    this.#guard('cannot update the outbox in', () => this.#stmts.markAttempting.run(attempts, id));
  }

  setPayload(id: number, payload: unknown): void {
    this.#guard('cannot update the outbox in', () => {
      const json = JSON.stringify(payload);
      if (json === undefined) throw new TypeError('outbox payload is not JSON-serialisable');
      this.#stmts.setPayload.run(json, id);
    });
  }

  markMerged(id: number, at: number, intoDeliveryId: string): void {
    this.#guard('cannot update the outbox in', () =>
      this.#stmts.markMerged.run(at, `merged into ${intoDeliveryId}`, id),
    );
  }

  retryNow(now: number): number {
    return this.#guard('cannot update the outbox in', () => this.#stmts.retryNow.run(now, now).changes);
  }

  unattemptedAfter(channel: string, afterId: number, limit: number): OutboxMessage[] {
    return this.#guard('cannot read the outbox in', () =>
      this.#stmts.unattemptedAfter.all(channel, afterId, limit).map(toMessage),
    );
  }

  expired(createdBefore: number): OutboxMessage[] {
    return this.#guard('cannot read the outbox in', () =>
      this.#stmts.expired.all(createdBefore).map(toMessage),
    );
  }

  pendingCounts(): Map<string, number> {
    return this.#guard(
      'cannot read the outbox in',
      () => new Map(this.#stmts.pendingCounts.all().map((r) => [r.channel, r.n])),
    );
  }

  find(deliveryId: string): OutboxMessage | null {
    return this.#guard('cannot read the outbox in', () => {
      const r = this.#stmts.find.get(deliveryId);
      return r === undefined ? null : toMessage(r);
    });
  }

  prune(before: number): number {
    return this.#guard('cannot prune the outbox in', () => this.#stmts.prune.run(before).changes);
  }

  putFiring(alert: FiringAlert): void {
    this.#guard('cannot save a firing alert in', () => {
      const event = JSON.stringify(alert.event);
      if (event === undefined) throw new TypeError('firing alert event is not JSON-serialisable');
      this.#stmts.putFiring.run(alert.channel, alert.key, event, alert.updatedAt);
    });
  }

  deleteFiring(channel: string, key: string): boolean {
    return this.#guard(
      'cannot remove a firing alert from',
      () => this.#stmts.deleteFiring.run(channel, key).changes > 0,
    );
  }

  firing(): FiringAlert[] {
    return this.#guard('cannot read firing alerts from', () =>
      this.#stmts.firing.all().map((r) => ({
        channel: r.channel,
        key: r.key,
        event: JSON.parse(r.event) as unknown,
        updatedAt: r.updatedAt,
      })),
    );
  }

  /** Database failures become StoreErrors naming the file, as in SqliteStore. */
  #guard<T>(doing: string, fn: () => T): T {
    const file = this.#store.file;
    if (!this.#db.open) throw storeError(doing, file, 'closed', 'the store is closed');
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw fromSqliteError(err, doing, file, { openedReadonly: this.#db.readonly }) ?? err;
    }
  }
}

function toMessage(r: MessageRecord): OutboxMessage {
  return {
    id: r.id,
    deliveryId: r.deliveryId,
    channel: r.channel,
    payload: JSON.parse(r.payload) as unknown,
    createdAt: r.createdAt,
    attempts: r.attempts,
    nextAttemptAt: r.nextAttemptAt,
    lastError: r.lastError,
    state: r.state,
    doneAt: r.doneAt,
    grouped: r.grouped === 1,
  };
}
