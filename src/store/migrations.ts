// Schema versions, tracked in `PRAGMA user_version`: version N means the first N migrations
// have run. A migration is never edited once released (databases in the field already ran
// it); a schema change is a new migration appended to the list, nothing else.

import type { Database } from 'better-sqlite3';
import { storeError } from './errors.js';

export interface Migration {
  /** Shown in errors when the migration fails. */
  readonly description: string;
  readonly up: (db: Database) => void;
}

/** Marks our databases (`PRAGMA application_id`), so we never migrate someone else's file. ('WGmo') */
export const APPLICATION_ID = 0x57476d6f;

export const MIGRATIONS: readonly Migration[] = [
  {
    description: 'devices, history, accounts, silences, meta',
    up(db) {
      // Value lists are spelled out rather than taken from model.ts: this SQL must stay what
      // it was when released, whatever the code's lists become.
      db.exec(`
        CREATE TABLE devices (
          account       TEXT    NOT NULL,
          device        TEXT    NOT NULL,
          status        TEXT    CHECK (status IN ('connected', 'disconnected', 'not_connected', 'not_initialized', 'unknown')),
          status_raw    TEXT,
          health        TEXT    NOT NULL CHECK (health IN ('UP', 'DOWN')),
          status_since  INTEGER,
          last_check_at INTEGER,
          probe_error   TEXT,
          transitions   INTEGER NOT NULL DEFAULT 0,
          state         TEXT    NOT NULL,
          PRIMARY KEY (account, device)
        ); -- not WITHOUT ROWID: rows carry the JSON state, too big for that to pay (measured)

        CREATE TABLE history (
          id          INTEGER PRIMARY KEY,
          account     TEXT    NOT NULL,
          device      TEXT    NOT NULL,
          at          INTEGER NOT NULL,
          from_status TEXT    CHECK (from_status IN ('connected', 'disconnected', 'not_connected', 'not_initialized', 'unknown')),
          to_status   TEXT    NOT NULL CHECK (to_status IN ('connected', 'disconnected', 'not_connected', 'not_initialized', 'unknown', 'deleted')),
          raw         TEXT
        );
        -- per-device range queries (history, the status before a period, prune's "newer row" test)
        CREATE INDEX history_by_device ON history (account, device, at);
        -- period queries across devices (audit) and prune's cutoff
        CREATE INDEX history_by_time ON history (at);

        CREATE TABLE accounts (
          account   TEXT    PRIMARY KEY NOT NULL,
          reachable INTEGER NOT NULL CHECK (reachable IN (0, 1)),
          state     TEXT    NOT NULL
        ) WITHOUT ROWID;

        -- AUTOINCREMENT: an id shown to an operator is never reused for another silence
        CREATE TABLE silences (
          id         INTEGER PRIMARY KEY AUTOINCREMENT,
          account    TEXT,
          device     TEXT,
          until_at   INTEGER NOT NULL,
          reason     TEXT,
          created_at INTEGER NOT NULL
        );

        CREATE TABLE meta (
          key   TEXT PRIMARY KEY NOT NULL,
          value TEXT NOT NULL
        ) WITHOUT ROWID;
      `);
      db.pragma(`application_id = ${APPLICATION_ID}`);
    },
  },
  {
    description: 'notification outbox, firing Alertmanager alerts',
    up(db) {
      db.exec(`
        -- Every notification is written here before it is sent (SPEC §8): one row per message
        -- and channel. Rows stay after delivery (state sent/dropped) until retention prunes them.
        CREATE TABLE outbox (
          id              INTEGER PRIMARY KEY,
          delivery_id     TEXT    NOT NULL UNIQUE,
          channel         TEXT    NOT NULL,
          payload         TEXT    NOT NULL,
          created_at      INTEGER NOT NULL,
          attempts        INTEGER NOT NULL DEFAULT 0,
          next_attempt_at INTEGER NOT NULL,
          last_error      TEXT,
          state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dropped')),
          done_at         INTEGER
        );
        -- the delivery loop reads each channel's oldest pending row; partial, so delivered
        -- rows kept for retention cost the loop nothing
        CREATE INDEX outbox_pending ON outbox (channel, id) WHERE state = 'pending';
        CREATE INDEX outbox_done ON outbox (done_at) WHERE state <> 'pending';

        -- Alerts an Alertmanager channel must keep re-sending while they hold: in the database
        -- so a restarted daemon goes on re-sending (and resolving) them.
        CREATE TABLE alertmanager_firing (
          channel    TEXT    NOT NULL,
          alert_key  TEXT    NOT NULL,
          event      TEXT    NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (channel, alert_key)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    description: 'outbox: held and cancelled rows (notification grouping), grouped messages',
    up(db) {
      // SQLite cannot change a CHECK constraint in place: the table is rebuilt, rows and ids kept.
      db.exec(`
        -- state 'held': one event waiting for its channel's group (SPEC §8), payload = that
        -- event, created_at = when it was held; a release turns a channel's held rows into one
        -- pending message (grouped = 1) and deletes them. 'cancelled': a held event whose
        -- opening/closing pair cancelled out; kept, done, until retention prunes it.
        CREATE TABLE outbox_grouping (
          id              INTEGER PRIMARY KEY,
          delivery_id     TEXT    NOT NULL UNIQUE,
          channel         TEXT    NOT NULL,
          payload         TEXT    NOT NULL,
          created_at      INTEGER NOT NULL,
          attempts        INTEGER NOT NULL DEFAULT 0,
          next_attempt_at INTEGER NOT NULL,
          last_error      TEXT,
          state           TEXT    NOT NULL DEFAULT 'pending'
                                  CHECK (state IN ('held', 'pending', 'sent', 'dropped', 'cancelled')),
          done_at         INTEGER,
          grouped         INTEGER NOT NULL DEFAULT 0 CHECK (grouped IN (0, 1))
        );
        INSERT INTO outbox_grouping (id, delivery_id, channel, payload, created_at, attempts,
                                     next_attempt_at, last_error, state, done_at)
          SELECT id, delivery_id, channel, payload, created_at, attempts,
                 next_attempt_at, last_error, state, done_at FROM outbox;
        DROP TABLE outbox;
        ALTER TABLE outbox_grouping RENAME TO outbox;
        CREATE INDEX outbox_pending ON outbox (channel, id) WHERE state = 'pending';
        -- done rows (sent, dropped, cancelled) for retention; held and pending have no done_at
        CREATE INDEX outbox_done ON outbox (done_at) WHERE done_at IS NOT NULL;
        CREATE INDEX outbox_held ON outbox (id) WHERE state = 'held';
        -- each channel's last grouped message: group_interval counts from it
        CREATE INDEX outbox_grouped ON outbox (channel, created_at) WHERE grouped = 1;
      `);
    },
  },
  {
    description: 'api_calls: the call log of the API budget',
    up(db) {
      db.exec(`
        -- Every gateway call, logged before it is made by whichever process makes it (the daemon,
        -- the CLI), so all of them together stay within an account's rate_limit over any 60 s,
        -- across restarts. Short-lived: rows older than two minutes are pruned as calls are made.
        -- epoch: the HA lease epoch of the writer (SPEC §11), null without HA.
        CREATE TABLE api_calls (
          id      INTEGER PRIMARY KEY,
          account TEXT    NOT NULL,
          at      INTEGER NOT NULL,
          kind    TEXT    NOT NULL CHECK (kind IN ('check', 'out_of_band')),
          origin  TEXT    NOT NULL CHECK (origin IN ('daemon', 'cli')),
          caller  TEXT    NOT NULL,
          epoch   INTEGER
        );
        -- readers ask per account for rows after the last id they saw
        CREATE INDEX api_calls_by_account ON api_calls (account, id);
        CREATE INDEX api_calls_by_time ON api_calls (at);
      `);
    },
  },
  {
    description: "status 'not_found' in devices and history",
    up(db) {
      // SQLite cannot change a CHECK constraint in place: each table is rebuilt with the sixth
      // status (SPEC §3), rows and ids copied as they are, its indexes made again.
      db.exec(`
        CREATE TABLE devices_v5 (
          account       TEXT    NOT NULL,
          device        TEXT    NOT NULL,
          status        TEXT    CHECK (status IN ('connected', 'disconnected', 'not_connected', 'not_initialized', 'not_found', 'unknown')),
          status_raw    TEXT,
          health        TEXT    NOT NULL CHECK (health IN ('UP', 'DOWN')),
          status_since  INTEGER,
          last_check_at INTEGER,
          probe_error   TEXT,
          transitions   INTEGER NOT NULL DEFAULT 0,
          state         TEXT    NOT NULL,
          PRIMARY KEY (account, device)
        );
        INSERT INTO devices_v5 (account, device, status, status_raw, health, status_since, last_check_at, probe_error, transitions, state)
          SELECT account, device, status, status_raw, health, status_since, last_check_at, probe_error, transitions, state FROM devices;
        DROP TABLE devices;
        ALTER TABLE devices_v5 RENAME TO devices;

        CREATE TABLE history_v5 (
          id          INTEGER PRIMARY KEY,
          account     TEXT    NOT NULL,
          device      TEXT    NOT NULL,
          at          INTEGER NOT NULL,
          from_status TEXT    CHECK (from_status IN ('connected', 'disconnected', 'not_connected', 'not_initialized', 'not_found', 'unknown')),
          to_status   TEXT    NOT NULL CHECK (to_status IN ('connected', 'disconnected', 'not_connected', 'not_initialized', 'not_found', 'unknown', 'deleted')),
          raw         TEXT
        );
        INSERT INTO history_v5 (id, account, device, at, from_status, to_status, raw)
          SELECT id, account, device, at, from_status, to_status, raw FROM history;
        DROP TABLE history;
        ALTER TABLE history_v5 RENAME TO history;
        CREATE INDEX history_by_device ON history (account, device, at);
        CREATE INDEX history_by_time ON history (at);
        -- deletedDevices(): the few deletions, without a scan of the whole history
        CREATE INDEX history_deleted ON history (account, device, at) WHERE to_status = 'deleted';
      `);
    },
  },
  {
    description: 'delivery_problems: when delivery problems began and ended (SPEC §10)',
    up(db) {
      db.exec(`
        -- One row per delivery problem of a device (stalled, failing, balance_low) as the delivery
        -- rules decided it: opened when it began, ended_at set when it ended, null while it holds.
        -- The audit sums them over its period ("hours stalled"). Pruned by retention like history.
        CREATE TABLE delivery_problems (
          id         INTEGER PRIMARY KEY,
          account    TEXT    NOT NULL,
          device     TEXT    NOT NULL,
          problem    TEXT    NOT NULL CHECK (problem IN ('stalled', 'failing', 'balance_low')),
          started_at INTEGER NOT NULL,
          ended_at   INTEGER
        );
        -- an end closes the open row of its device and problem
        CREATE INDEX delivery_problems_open ON delivery_problems (account, device, problem) WHERE ended_at IS NULL;
        CREATE INDEX delivery_problems_by_end ON delivery_problems (ended_at);
      `);
    },
  },
  {
    description: 'history: running totals of connected and down time (the rollups of uptime)',
    up(db) {
      // sqlite-rollups.ts says what the totals are and how appends keep them. Here they are
      // computed once for the rows already there: per device in (at, id) order, each row's
      // totals are the sums over the rows before it of the time to the next row, counted as
      // connected or down by that earlier row's status. Read in the old index's order, so the
      // window needs no sort; the new index is built after the update, not row by row.
      db.exec(`
        ALTER TABLE history ADD COLUMN connected_ms INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE history ADD COLUMN down_ms INTEGER NOT NULL DEFAULT 0;
        UPDATE history SET connected_ms = t.c, down_ms = t.d FROM (
          SELECT id,
                 coalesce(sum(CASE WHEN prev_to = 'connected' THEN at - prev_at ELSE 0 END)
                          OVER (PARTITION BY account, device ORDER BY at, id), 0) AS c,
                 coalesce(sum(CASE WHEN prev_to IS NULL OR prev_to IN ('connected', 'deleted') THEN 0
                                   ELSE at - prev_at END)
                          OVER (PARTITION BY account, device ORDER BY at, id), 0) AS d
          FROM (SELECT id, account, device, at,
                       lag(to_status) OVER w AS prev_to, lag(at) OVER w AS prev_at
                FROM history WINDOW w AS (PARTITION BY account, device ORDER BY at, id))
        ) AS t WHERE history.id = t.id AND (t.c <> 0 OR t.d <> 0);
        -- Covering: the totals at an instant are read from the index alone. id after at, so that
        -- "the last row at or before t" (ORDER BY at DESC, id DESC LIMIT 1) is a seek, no sort.
        DROP INDEX history_by_device;
        CREATE INDEX history_by_device ON history (account, device, at, id, to_status, connected_ms, down_ms);
      `);
    },
  },
];

/** The version this build writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function userVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database up to `migrations.length`, one transaction per migration so a failure
 * leaves the database at the last version that completed. Returns how many ran.
 * IMMEDIATE transactions, re-reading the version inside, make two processes opening the same
 * file at once apply each migration exactly once.
 */
export function runMigrations(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  let applied = 0;
  const step = db.transaction((): boolean => {
    const version = userVersion(db);
    if (version > migrations.length) throw tooNew(db.name, version, migrations.length);
    const next = migrations[version];
    if (next === undefined) return false;
    try {
      next.up(db);
    } catch (err) {
      if (err instanceof Error && !('code' in err)) {
        // A bug in the migration itself, not a database condition: say which one.
        throw new Error(`migration ${version + 1} (${next.description}) failed: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  while (step.immediate()) applied++;
  return applied;
}

export function tooNew(file: string, version: number, known: number) {
  return storeError(
    'cannot open',
    file,
    'too_new',
    `the database has schema version ${version}, newer than this build knows (${known}) — it was written by a newer whatsgate-monitor: upgrade, or move the file aside to start fresh`,
  );
}
