// The HA lease on PostgreSQL (SPEC §11; what the methods promise: lease.ts). Each operation is one
// conditional statement on its `ha_lease` row, timed by the database's clock (`now()`), so the
// replicas' clocks do not matter. No advisory or session locks: behind a pooler (PgBouncer in
// transaction mode) a session is not ours to keep. Writes are fenced in postgres-session.ts.
//
// The fenced writes of the holder itself hold the row FOR SHARE until they commit, so a renewal
// (an UPDATE of that row) waits for the writes in flight — milliseconds. Never renew from inside
// a transaction of the store: the renewal would wait for that transaction, and it for the renewal.

import type { LeaseHolder } from './lease.js';
import type { Session } from './postgres-session.js';

/** `$n` milliseconds as an interval. */
const ms = (n: number) => `($${n}::float8 * interval '1 millisecond')`;

function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0)
    throw new RangeError(`lease ttl must be a positive integer of ms, not ${ttlMs}`);
}

/**
 * Claims the lease when nobody holds it or it lapsed: epoch + 1 (1 for a new row). The row lock
 * of the conflict makes a claim wait for writes fenced at the old epoch (they hold it FOR SHARE).
 */
export async function acquireLease(
  session: Session,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<number | null> {
  checkTtl(ttlMs);
  return session.read('cannot claim the lease in', async (sql) => {
    const { rows } = await sql<{ epoch: number }>(
      `INSERT INTO ha_lease (name, holder, epoch, expires_at) VALUES ($1, $2, 1, now() + ${ms(3)})
       ON CONFLICT (name) DO UPDATE
         SET holder = excluded.holder, epoch = ha_lease.epoch + 1, expires_at = excluded.expires_at
         WHERE ha_lease.expires_at <= now()
       RETURNING epoch`,
      [name, holder, ttlMs],
    );
    return rows[0]?.epoch ?? null;
  });
}

export async function renewLease(
  session: Session,
  name: string,
  holder: string,
  epoch: number,
  ttlMs: number,
): Promise<boolean> {
  checkTtl(ttlMs);
  return session.read('cannot renew the lease in', async (sql) => {
    const { rowCount } = await sql(
      `UPDATE ha_lease SET expires_at = now() + ${ms(4)}
       WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()`,
      [name, holder, epoch, ttlMs],
    );
    return rowCount === 1;
  });
}

export async function releaseLease(
  session: Session,
  name: string,
  holder: string,
  epoch: number,
): Promise<void> {
  await session.read('cannot release the lease in', (sql) =>
    sql(
      `UPDATE ha_lease SET expires_at = now()
       WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()`,
      [name, holder, epoch],
    ),
  );
}

export async function leaseHolder(session: Session, name: string): Promise<LeaseHolder | null> {
  return session.read('cannot read the lease in', async (sql) => {
    const { rows } = await sql<{ holder: string; epoch: number; ms: number }>(
      `SELECT holder, epoch, floor(extract(epoch FROM expires_at - now()) * 1000)::float8 AS ms
       FROM ha_lease WHERE name = $1`,
      [name],
    );
    const row = rows[0];
    return row === undefined ? null : { holder: row.holder, epoch: row.epoch, expiresInMs: row.ms };
  });
}
