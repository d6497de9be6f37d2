// The notification outbox and the firing Alertmanager alerts on PostgreSQL, on the same session as
// their PostgresStore (so a cycle's messages join its transaction, and the fence covers every
// write, claims included). What the methods mean: outbox-store.ts; the SQL follows
// sqlite-outbox-tables.ts statement for statement, and the outbox contract suite holds both to it.

import type {
  FiringAlert,
  NewOutboxMessage,
  OutboxMessage,
  OutboxState,
  OutboxStore,
} from './outbox-store.js';
import type { Session, Sql } from './postgres-session.js';
import { json, storable } from './postgres-text.js';

interface MessageRecord extends Omit<OutboxMessage, 'payload'> {
  payload: string;
}

const MESSAGE_COLUMNS = `id, delivery_id AS "deliveryId", channel, payload, created_at AS "createdAt", attempts,
  next_attempt_at AS "nextAttemptAt", last_error AS "lastError", state, done_at AS "doneAt", grouped`;

const READ = 'cannot read the outbox in';
const UPDATE = 'cannot update the outbox in';

function toMessage(r: MessageRecord): OutboxMessage {
  return { ...r, payload: JSON.parse(r.payload) as unknown };
}

export class PostgresOutbox implements OutboxStore {
  readonly #session: Session;
  readonly #transaction: <T>(fn: (tx: OutboxStore) => Promise<T>) => Promise<T>;

  constructor(session: Session, transaction: <T>(fn: (tx: OutboxStore) => Promise<T>) => Promise<T>) {
    this.#session = session;
    this.#transaction = transaction;
  }

  transaction<T>(fn: (tx: OutboxStore) => Promise<T>): Promise<T> {
    return this.#transaction(fn);
  }

  enqueue(
    messages: readonly NewOutboxMessage[],
    options: { readonly grouped?: boolean } = {},
  ): Promise<void> {
    return this.#insert(messages, 'pending', options.grouped === true);
  }

  hold(events: readonly NewOutboxMessage[]): Promise<void> {
    return this.#insert(events, 'held', false);
  }

  /** One statement for the whole batch: queued whole, or not at all. */
  async #insert(messages: readonly NewOutboxMessage[], state: OutboxState, grouped: boolean): Promise<void> {
    if (messages.length === 0) return;
    const payloads = messages.map((m) => json(m.payload, 'outbox payload'));
    await this.#session.write('cannot queue a notification in', (sql) =>
      sql(
        `INSERT INTO outbox (delivery_id, channel, payload, created_at, next_attempt_at, state, grouped)
         SELECT d, c, p, t, t, $5::text, $6::boolean
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS u(d, c, p, t, n)
         ORDER BY n`,
        [
          messages.map((m) => m.deliveryId),
          messages.map((m) => m.channel),
          payloads,
          messages.map((m) => m.createdAt),
          state,
          grouped,
        ],
      ),
    );
  }

  held(): Promise<OutboxMessage[]> {
    return this.#messages(`SELECT ${MESSAGE_COLUMNS} FROM outbox WHERE state = 'held' ORDER BY id`);
  }

  removeHeld(ids: readonly number[]): Promise<number> {
    return this.#update("DELETE FROM outbox WHERE id = ANY($1::bigint[]) AND state = 'held'", [ids]);
  }

  async markCancelled(ids: readonly number[], at: number, note: string): Promise<void> {
    await this.#update(
      "UPDATE outbox SET state = 'cancelled', done_at = $1, last_error = $2 WHERE id = ANY($3::bigint[]) AND state = 'held'",
      [at, storable(note), ids],
    );
  }

  lastGroupedAt(): Promise<Map<string, number>> {
    return this.#session.read(READ, async (sql) => {
      const { rows } = await sql<{ channel: string; at: number }>(
        'SELECT channel, max(created_at) AS at FROM outbox WHERE grouped GROUP BY channel ORDER BY channel',
      );
      return new Map(rows.map((r) => [r.channel, r.at]));
    });
  }

  heads(): Promise<OutboxMessage[]> {
    return this.#messages(`
      SELECT ${MESSAGE_COLUMNS} FROM outbox WHERE id IN (
        SELECT min(id) FROM outbox WHERE state = 'pending' GROUP BY channel)
      ORDER BY channel`);
  }

  async head(channel: string): Promise<OutboxMessage | null> {
    const [first] = await this.#messages(
      `SELECT ${MESSAGE_COLUMNS} FROM outbox WHERE channel = $1 AND state = 'pending' ORDER BY id LIMIT 1`,
      [channel],
    );
    return first ?? null;
  }

  async markSent(id: number, at: number, attempts: number): Promise<void> {
    await this.#update(
      "UPDATE outbox SET state = 'sent', done_at = $1, attempts = $2, last_error = NULL WHERE id = $3",
      [at, attempts, id],
    );
  }

  async markRetry(id: number, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    await this.#update(
      "UPDATE outbox SET attempts = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4 AND state = 'pending'",
      [attempts, nextAttemptAt, storable(error), id],
    );
  }

  async markDropped(id: number, at: number, attempts: number, error: string): Promise<void> {
    await this.#update(
      "UPDATE outbox SET state = 'dropped', done_at = $1, attempts = $2, last_error = $3 WHERE id = $4",
      [at, attempts, storable(error), id],
    );
  }

  /**
   * A row another replica's claim holds is skipped, not waited for: false, the caller moves on.
   * A compare-and-set on the count: attempt n is claimed only from n - 1, so two claimers that
   * read the message before either claimed it cannot both claim the same attempt.
   */
  async markAttempting(id: number, attempts: number): Promise<boolean> {
    const claimed = await this.#update(
      `UPDATE outbox SET attempts = $2
       WHERE id = (SELECT id FROM outbox WHERE id = $1 AND state = 'pending' AND attempts = $2 - 1
                   FOR UPDATE SKIP LOCKED)`,
      [id, attempts],
    );
    return claimed === 1;
  }

  async setPayload(id: number, payload: unknown): Promise<void> {
    const text = json(payload, 'outbox payload');
    await this.#update("UPDATE outbox SET payload = $1 WHERE id = $2 AND state = 'pending'", [text, id]);
  }

  async markMerged(id: number, at: number, intoDeliveryId: string): Promise<void> {
    await this.#update(
      "UPDATE outbox SET state = 'sent', done_at = $1, last_error = $2 WHERE id = $3 AND state = 'pending'",
      [at, `merged into ${intoDeliveryId}`, id],
    );
  }

  retryNow(now: number): Promise<number> {
    return this.#update(
      "UPDATE outbox SET next_attempt_at = $1 WHERE state = 'pending' AND next_attempt_at > $1",
      [now],
    );
  }

  unattemptedAfter(channel: string, afterId: number, limit: number): Promise<OutboxMessage[]> {
    return this.#messages(
      `SELECT ${MESSAGE_COLUMNS} FROM outbox
       WHERE channel = $1 AND state = 'pending' AND id > $2 AND attempts = 0 ORDER BY id LIMIT $3`,
      [channel, afterId, limit],
    );
  }

  expired(createdBefore: number): Promise<OutboxMessage[]> {
    return this.#messages(
      `SELECT ${MESSAGE_COLUMNS} FROM outbox WHERE state = 'pending' AND created_at < $1 ORDER BY id`,
      [createdBefore],
    );
  }

  pendingCounts(): Promise<Map<string, number>> {
    return this.#session.read(READ, async (sql) => {
      const { rows } = await sql<{ channel: string; n: number }>(
        "SELECT channel, count(*) AS n FROM outbox WHERE state = 'pending' GROUP BY channel ORDER BY channel",
      );
      return new Map(rows.map((r) => [r.channel, r.n]));
    });
  }

  async find(deliveryId: string): Promise<OutboxMessage | null> {
    const [first] = await this.#messages(`SELECT ${MESSAGE_COLUMNS} FROM outbox WHERE delivery_id = $1`, [
      deliveryId,
    ]);
    return first ?? null;
  }

  /** Held and pending rows have no done_at: never pruned. */
  prune(before: number): Promise<number> {
    return this.#session.write(
      'cannot prune the outbox in',
      async (sql) =>
        (await sql('DELETE FROM outbox WHERE done_at IS NOT NULL AND done_at < $1', [before])).rowCount!,
    );
  }

  async putFiring(alert: FiringAlert): Promise<void> {
    const event = json(alert.event, 'firing alert event');
    await this.#session.write('cannot save a firing alert in', (sql) =>
      sql(
        `INSERT INTO alertmanager_firing (channel, alert_key, event, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (channel, alert_key) DO UPDATE SET event = excluded.event, updated_at = excluded.updated_at`,
        [alert.channel, alert.key, event, alert.updatedAt],
      ),
    );
  }

  deleteFiring(channel: string, key: string): Promise<boolean> {
    return this.#session.write(
      'cannot remove a firing alert from',
      async (sql) =>
        (await sql('DELETE FROM alertmanager_firing WHERE channel = $1 AND alert_key = $2', [channel, key]))
          .rowCount! > 0,
    );
  }

  firing(): Promise<FiringAlert[]> {
    return this.#session.read('cannot read firing alerts from', async (sql) => {
      const { rows } = await sql<Omit<FiringAlert, 'event'> & { event: string }>(
        `SELECT channel, alert_key AS key, event, updated_at AS "updatedAt"
         FROM alertmanager_firing ORDER BY channel, alert_key`,
      );
      return rows.map((r) => ({ ...r, event: JSON.parse(r.event) as unknown }));
    });
  }

  #messages(text: string, values?: readonly unknown[]): Promise<OutboxMessage[]> {
    return this.#session.read(READ, async (sql: Sql) =>
      (await sql<MessageRecord>(text, values)).rows.map(toMessage),
    );
  }

  /** One fenced statement; how many rows it changed. */
  #update(text: string, values: readonly unknown[]): Promise<number> {
    return this.#session.write(UPDATE, async (sql) => (await sql(text, values)).rowCount!);
  }
}
