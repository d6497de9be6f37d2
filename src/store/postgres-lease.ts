// The HA lease on PostgreSQL (SPEC §11; what the methods promise: lease.ts). Each operation is one
// conditional statement on its `ha_lease` row, timed by the database's clock (`now()`), so the
// replicas' clocks do not matter. No advisory or session locks: behind a pooler (PgBouncer in
// transaction mode) a session is not ours to keep. Writes are fenced in postgres-session.ts.
//
// The fenced writes of the holder itself hold the row FOR SHARE until they commit, so a renewal
// (an UPDATE of that row) waits for the writes in flight — milliseconds.
//
// Every statement is bounded (postgres-session.ts, leaseStatement): a claim, a renewal or a
// release runs on the lease's own pool, so transactions waiting for connections never hold it up,
// and fails after the lease statement timeout (2 s by default, well under the shortest lease)
// instead of waiting for a session that holds the row — a leader paused mid-write, until the
// server ends its session. One that failed so is retried at the lease keeper's next attempt. The
// statements run beside any transaction of the store, never in it (a transaction's handle too).

import { escapeLiteral } from 'pg';
import type { LeaseHolder } from './lease.js';
import { leaseStatement, type Shared } from './postgres-session.js';

/** Values are written into the statement (see leaseStatement): text escaped, numbers checked. */
const text = (value: string): string => escapeLiteral(value);

function integer(value: number, what: string): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be an integer, not ${value}`);
  return String(value);
}

/** `n` milliseconds as an interval. */
const ms = (n: number) => `(${integer(n, 'lease ttl')}::float8 * interval '1 millisecond')`;

function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0)
    throw new RangeError(`lease ttl must be a positive integer of ms, not ${ttlMs}`);
}

/**
 * Claims the lease when nobody holds it or it lapsed: epoch + 1 (1 for a new row). The row lock
 * of the conflict makes a claim wait for writes fenced at the old epoch (they hold it FOR SHARE).
 */
export async function acquireLease(
  shared: Shared,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<number | null> {
  checkTtl(ttlMs);
  const { rows } = await leaseStatement<{ epoch: number }>(
    shared,
    'cannot claim the lease in',
    `INSERT INTO ha_lease (name, holder, epoch, expires_at) VALUES (${text(name)}, ${text(holder)}, 1, now() + ${ms(ttlMs)})
     ON CONFLICT (name) DO UPDATE
       SET holder = excluded.holder, epoch = ha_lease.epoch + 1, expires_at = excluded.expires_at
       WHERE ha_lease.expires_at <= now()
     RETURNING epoch`,
  );
  return rows[0]?.epoch ?? null;
}

export async function renewLease(
  shared: Shared,
  name: string,
  holder: string,
  epoch: number,
  ttlMs: number,
): Promise<boolean> {
  checkTtl(ttlMs);
  const { rowCount } = await leaseStatement(
    shared,
    'cannot renew the lease in',
    `UPDATE ha_lease SET expires_at = now() + ${ms(ttlMs)}
     WHERE name = ${text(name)} AND holder = ${text(holder)} AND epoch = ${integer(epoch, 'epoch')}
       AND expires_at > now()`,
  );
  return rowCount === 1;
}

export async function releaseLease(
  shared: Shared,
  name: string,
  holder: string,
  epoch: number,
): Promise<void> {
  await leaseStatement(
    shared,
    'cannot release the lease in',
    `UPDATE ha_lease SET expires_at = now()
     WHERE name = ${text(name)} AND holder = ${text(holder)} AND epoch = ${integer(epoch, 'epoch')}
       AND expires_at > now()`,
  );
}

export async function leaseHolder(shared: Shared, name: string): Promise<LeaseHolder | null> {
  const { rows } = await leaseStatement<{ holder: string; epoch: number; ms: number }>(
    shared,
    'cannot read the lease in',
    `SELECT holder, epoch, floor(extract(epoch FROM expires_at - now()) * 1000)::float8 AS ms
     FROM ha_lease WHERE name = ${text(name)}`,
    shared.pool,
  );
  const row = rows[0];
  return row === undefined ? null : { holder: row.holder, epoch: row.epoch, expiresInMs: row.ms };
}
