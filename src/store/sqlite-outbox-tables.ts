// The notification outbox and the firing Alertmanager alerts on SQLite, synchronous, kept in the
// monitor's file beside the Store's tables (same connection, so a cycle's messages can be queued
// in its transaction). What the methods mean: outbox-store.ts; sqlite-store.ts makes them async.
//
// Over 350 lines on purpose: one class per table, one prepared statement and one small method
// per operation; splitting it would split the outbox's SQL across files.

import type { Database, Statement } from 'better-sqlite3';
import { fromSqliteError, StoreError, storeError } from './errors.js';
import type { SqliteTables } from './sqlite-tables.js';
import type { FiringAlert, NewOutboxMessage, OutboxMessage, OutboxState } from './outbox-store.js';

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

/** The outbox's methods on the SqliteTables' connection. Closing those closes it too. */
export class SqliteOutboxTables {
  readonly #store: SqliteTables;
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

  constructor(store: SqliteTables) {
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

  /** One process at a time writes this file (SQLite's lock), so a pending row is always ours. */
  markAttempting(id: number, attempts: number): boolean {
    return this.#guard(
      'cannot update the outbox in',
      () => this.#stmts.markAttempting.run(attempts, id).changes > 0,
    );
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

  /** Database failures become StoreErrors naming the file, as in SqliteTables. */
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
