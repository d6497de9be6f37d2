// Direct SQL on a test database, beside the store under test: emptying it between tests, moving
// a lease's expiry into the past (the database's clock, without sleeping), watching for a
// statement that waits for a lock, and failing a test that would otherwise hang.

import { Client } from 'pg';

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Empties every table but the schema's versions: a fresh store without a new database per test. */
export function emptyTables(url: string): Promise<void> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ name: string }>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'whatsgate_schema'",
    );
    if (rows.length === 0) return;
    await client.query(`TRUNCATE ${rows.map((r) => `"${r.name}"`).join(', ')} RESTART IDENTITY`);
  });
}

/** The lease lapses now, by the database's clock: as if its holder had stopped renewing `ttl` ago. */
export function expireLease(url: string, name: string): Promise<void> {
  return withClient(url, async (client) => {
    const { rowCount } = await client.query(
      "UPDATE ha_lease SET expires_at = now() - interval '1 second' WHERE name = $1",
      [name],
    );
    if (rowCount !== 1) throw new Error(`no lease ${name} to expire`);
  });
}

/**
 * Resolves once `count` statements of this database wait for a lock (pg_stat_activity), polled
 * with a bounded deadline: the server tells no one when a statement starts waiting.
 */
export async function lockWaiters(url: string, count = 1, timeoutMs = 10_000): Promise<void> {
  await withClient(url, async (client) => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if (rows[0]!.n >= count) return;
      if (performance.now() > deadline)
        throw new Error(`no statement waited for a lock within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
}

/** `promise`, or a rejection naming `what` once `ms` passed: a wait that must end does not hang the test. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
