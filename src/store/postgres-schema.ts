// The PostgreSQL store's schema and its versions, kept in `whatsgate_schema` (one row per
// migration applied). As with SQLite's migrations.ts: a migration is never edited once released;
// a change is a new migration appended to the list.
//
// The first migration is the whole of SQLite's schema version 6 — same tables, columns, checks
// and indexes — plus the HA lease. Times are epoch milliseconds in bigint columns, states and
// payloads JSON in text columns (jsonb would refuse a `\u0000` a state may hold, and would
// reorder keys). Names that are sorted are COLLATE "C": code-point order, as SQLite sorts,
// whatever the database's locale.
//
// Several replicas may start at once: each migration runs in a transaction that first takes a
// transaction-level advisory lock (released at COMMIT, so it works behind PgBouncer in
// transaction mode, unlike a session-level one) and reads the version again under it.

import type { Pool, PoolClient } from 'pg';
import type { StoreError } from './errors.js';
import { storeError } from './errors.js';
import { fromPgError } from './postgres-errors.js';

export interface PgMigration {
  /** Shown in errors when the migration fails. */
  readonly description: string;
  readonly sql: string;
}

const STATUS = `'connected', 'disconnected', 'not_connected', 'not_initialized', 'not_found', 'unknown'`;

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    description:
      'devices, history, accounts, silences, meta, outbox, firing alerts, call log, delivery problems, HA lease',
    sql: `
      CREATE TABLE devices (
        account       text COLLATE "C" NOT NULL,
        device        text COLLATE "C" NOT NULL,
        status        text CHECK (status IN (${STATUS})),
        status_raw    text,
        health        text NOT NULL CHECK (health IN ('UP', 'DOWN')),
        status_since  bigint,
        last_check_at bigint,
        probe_error   text,
        transitions   integer NOT NULL DEFAULT 0,
        state         text NOT NULL,
        PRIMARY KEY (account, device)
      );

      CREATE TABLE history (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account     text COLLATE "C" NOT NULL,
        device      text COLLATE "C" NOT NULL,
        at          bigint NOT NULL,
        from_status text CHECK (from_status IN (${STATUS})),
        to_status   text NOT NULL CHECK (to_status IN (${STATUS}, 'deleted')),
        raw         text
      );
      CREATE INDEX history_by_device ON history (account, device, at);
      CREATE INDEX history_by_time ON history (at);
      CREATE INDEX history_deleted ON history (account, device, at) WHERE to_status = 'deleted';

      CREATE TABLE accounts (
        account   text COLLATE "C" PRIMARY KEY,
        reachable boolean NOT NULL,
        state     text NOT NULL
      );

      -- identity values are never reused: an id shown to an operator names one silence only
      CREATE TABLE silences (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account    text,
        device     text,
        until_at   bigint NOT NULL,
        reason     text,
        created_at bigint NOT NULL
      );

      CREATE TABLE meta (
        key   text COLLATE "C" PRIMARY KEY,
        value text NOT NULL
      );

      -- every notification is written here before it is sent (SPEC §8); see outbox-store.ts
      CREATE TABLE outbox (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        delivery_id     text NOT NULL UNIQUE,
        channel         text COLLATE "C" NOT NULL,
        payload         text NOT NULL,
        created_at      bigint NOT NULL,
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at bigint NOT NULL,
        last_error      text,
        state           text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('held', 'pending', 'sent', 'dropped', 'cancelled')),
        done_at         bigint,
        grouped         boolean NOT NULL DEFAULT false
      );
      CREATE INDEX outbox_pending ON outbox (channel, id) WHERE state = 'pending';
      CREATE INDEX outbox_done ON outbox (done_at) WHERE done_at IS NOT NULL;
      CREATE INDEX outbox_held ON outbox (id) WHERE state = 'held';
      CREATE INDEX outbox_grouped ON outbox (channel, created_at) WHERE grouped;

      CREATE TABLE alertmanager_firing (
        channel    text COLLATE "C" NOT NULL,
        alert_key  text COLLATE "C" NOT NULL,
        event      text NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (channel, alert_key)
      );

      -- the budget's call log (SPEC §3); epoch: the HA lease epoch of the writer, null without HA
      CREATE TABLE api_calls (
        id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account text NOT NULL,
        at      bigint NOT NULL,
        kind    text NOT NULL CHECK (kind IN ('check', 'out_of_band')),
        origin  text NOT NULL CHECK (origin IN ('daemon', 'cli')),
        caller  text NOT NULL,
        epoch   bigint
      );
      CREATE INDEX api_calls_by_account ON api_calls (account, id);
      CREATE INDEX api_calls_by_time ON api_calls (at);

      CREATE TABLE delivery_problems (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account    text COLLATE "C" NOT NULL,
        device     text COLLATE "C" NOT NULL,
        problem    text NOT NULL CHECK (problem IN ('stalled', 'failing', 'balance_low')),
        started_at bigint NOT NULL,
        ended_at   bigint
      );
      CREATE INDEX delivery_problems_open ON delivery_problems (account, device, problem) WHERE ended_at IS NULL;
      CREATE INDEX delivery_problems_by_end ON delivery_problems (ended_at);

      -- the HA lease (SPEC §11, lease.ts): one row per lease group; expires_at by the database's clock
      CREATE TABLE ha_lease (
        name       text PRIMARY KEY,
        holder     text NOT NULL,
        epoch      bigint NOT NULL,
        expires_at timestamptz NOT NULL
      );
    `,
  },
  {
    // SQLite's version 7 (migrations.ts): the running totals of each history row, computed for the
    // rows already there (postgres-rollups.ts keeps them for new ones).
    description: 'history: running totals of connected and down time (the rollups of uptime)',
    sql: `
      ALTER TABLE history ADD COLUMN connected_ms bigint NOT NULL DEFAULT 0,
                          ADD COLUMN down_ms bigint NOT NULL DEFAULT 0;
      UPDATE history AS h SET connected_ms = t.c, down_ms = t.d FROM (
        SELECT id,
               coalesce(sum(CASE WHEN prev_to = 'connected' THEN at - prev_at ELSE 0 END)
                        OVER (PARTITION BY account, device ORDER BY at, id), 0) AS c,
               coalesce(sum(CASE WHEN prev_to IS NULL OR prev_to IN ('connected', 'deleted') THEN 0
                                 ELSE at - prev_at END)
                        OVER (PARTITION BY account, device ORDER BY at, id), 0) AS d
        FROM (SELECT id, account, device, at,
                     lag(to_status) OVER w AS prev_to, lag(at) OVER w AS prev_at
              FROM history WINDOW w AS (PARTITION BY account, device ORDER BY at, id)) AS p
      ) AS t WHERE h.id = t.id AND (t.c <> 0 OR t.d <> 0);
      -- The totals at an instant from the index alone (an index-only scan once vacuumed); id in
      -- the key so "the last row at or before t" and a page's (at, id) position are seeks.
      DROP INDEX history_by_device;
      CREATE INDEX history_by_device ON history (account, device, at, id) INCLUDE (to_status, connected_ms, down_ms);
      -- the prune's slices walk (at, id) from where the last one stopped
      DROP INDEX history_by_time;
      CREATE INDEX history_by_time ON history (at, id);
    `,
  },
];

/** The version this build writes and reads. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** pg_advisory_xact_lock's key while migrating: 'WGmo', as SQLite's application_id. */
const MIGRATION_LOCK = 0x57476d6f;

const VERSIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS whatsgate_schema (
    version     integer PRIMARY KEY,
    description text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
  )`;

type Queryable = Pick<Pool, 'query'>;

async function hasVersions(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ present: boolean }>(
    "SELECT to_regclass('whatsgate_schema') IS NOT NULL AS present",
  );
  return rows[0]!.present;
}

async function versionOf(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ v: number }>(
    'SELECT coalesce(max(version), 0)::integer AS v FROM whatsgate_schema',
  );
  return rows[0]!.v;
}

function tooNew(where: string, version: number, known: number): StoreError {
  return storeError(
    'cannot open',
    where,
    'too_new',
    `the database has schema version ${version}, newer than this build knows (${known}) — it was written by a newer whatsgate-monitor: upgrade this one`,
  );
}

/**
 * Brings the schema up to `migrations.length`, one transaction per migration, so a failure leaves
 * the database at the last version that completed. Returns how many ran.
 */
export async function migratePostgres(
  pool: Pool,
  where: string,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<number> {
  const client = await pool.connect();
  let applied = 0;
  try {
    for (;;) {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        // Created only when missing: CREATE … IF NOT EXISTS would still need the right to create
        // tables, which a user kept to reading and writing rows does not have.
        if (!(await hasVersions(client))) await client.query(VERSIONS_TABLE);
        const version = await versionOf(client);
        if (version > migrations.length) throw tooNew(where, version, migrations.length);
        const next = migrations[version];
        if (next === undefined) {
          await client.query('COMMIT');
          return applied;
        }
        await runMigration(client, where, version + 1, next);
        await client.query('INSERT INTO whatsgate_schema (version, description) VALUES ($1, $2)', [
          version + 1,
          next.description,
        ]);
        await client.query('COMMIT');
        applied++;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
  } finally {
    client.release();
  }
}

async function runMigration(
  client: PoolClient,
  where: string,
  version: number,
  m: PgMigration,
): Promise<void> {
  try {
    await client.query(m.sql);
  } catch (err) {
    if ((err as { code?: unknown }).code === '42P07') {
      throw storeError(
        'cannot open',
        where,
        'not_ours',
        `the database already has tables whatsgate-monitor did not create (${(err as Error).message}) — give the monitor a database of its own`,
        err,
      );
    }
    const mapped = fromPgError(err, 'cannot open', where);
    if (mapped !== null) throw mapped;
    throw new Error(`migration ${version} (${m.description}) failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * For readers that must not change the database (the CLI's `status`): the schema must be there
 * and current. A database the daemon never set up reads as `missing_file`, as a SQLite file
 * that does not exist yet does.
 */
export async function checkPostgresSchema(pool: Pool, where: string): Promise<void> {
  if (!(await hasVersions(pool))) {
    throw storeError(
      'cannot open',
      where,
      'missing_file',
      'the database has no whatsgate-monitor tables yet — has the daemon run with this store? (it creates them)',
    );
  }
  const version = await versionOf(pool);
  if (version > PG_SCHEMA_VERSION) throw tooNew(where, version, PG_SCHEMA_VERSION);
  if (version < PG_SCHEMA_VERSION) {
    throw storeError(
      'cannot open',
      where,
      'too_old',
      `the database has schema version ${version}, older than this build's ${PG_SCHEMA_VERSION} — start the daemon (or any writing command) once to upgrade it`,
    );
  }
}
