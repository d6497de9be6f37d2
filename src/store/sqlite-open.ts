// Opening a SQLite file for the store: the path checks Node can word better than SQLite, then the
// connection's pragmas, the check that the file is ours, its schema version and the migrations.

import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { fromSqliteError, storeError } from './errors.js';
import { APPLICATION_ID, runMigrations, SCHEMA_VERSION, tooNew, userVersion } from './migrations.js';

/**
 * How long a write waits for another connection's write lock before it fails with
 * SQLITE_BUSY (better-sqlite3's `timeout`, SQLite's `busy_timeout`). Our own writers (the daemon,
 * CLI `silence`/`delete`) hold the lock for milliseconds, so 5 s outlasts any of them with a wide
 * margin. It is not longer because the wait is synchronous: it blocks the daemon's event loop
 * (HTTP, /metrics, checks in flight), and it must stay well under Prometheus' default 10 s scrape
 * timeout. A lock held longer (an operator's VACUUM) fails the write; the cycle writer holds the
 * poll results and retries at the next tick.
 */
export const BUSY_TIMEOUT_MS = 5000;

/** Node sees these problems before SQLite does, and can say more precisely which one it is. */
export function checkPath(file: string, readonly: boolean): void {
  const dir = dirname(file);
  const fail = (reason: 'missing_dir' | 'missing_file' | 'permission' | 'readonly', what: string) =>
    storeError('cannot open', file, reason, what);
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch {
    throw fail('missing_dir', `the directory ${dir} does not exist — create it (or set state_dir)`);
  }
  if (!dirStat.isDirectory()) throw fail('missing_dir', `${dir} is not a directory — check state_dir`);
  const exists = existsSync(file);
  if (readonly && !exists) {
    throw fail(
      'missing_file',
      'the file does not exist — has the daemon run yet with this state_dir? (it creates the file)',
    );
  }
  if (!readonly) {
    try {
      // WAL keeps two files beside the database (-wal, -shm), created on demand.
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch {
      throw fail(
        'permission',
        `the directory ${dir} is not writable by this user (SQLite keeps its -wal and -shm files there) — fix its owner or mode`,
      );
    }
  }
  if (exists) {
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw fail('permission', 'the file is not readable by this user — fix its owner or mode');
    }
    if (!readonly) {
      try {
        accessSync(file, constants.W_OK);
      } catch {
        throw fail(
          'readonly',
          'the file is read-only for this user — give the service user write access to it',
        );
      }
    }
  }
}

export function prepareConnection(db: Database.Database, file: string, readonly: boolean): void {
  // NORMAL in WAL mode is durable across application crashes; a power loss may lose the last
  // transactions but never corrupts. Good enough for monitoring state.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');

  // Reading the header and schema is also what exposes a file that is not a database, or one
  // truncated (SQLite compares the header's page count with the file size). A full
  // `PRAGMA quick_check` reads every page: too slow to run at each start on a big history.
  const version = userVersion(db);
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const tables = db
    .prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")
    .get()!.n;
  if (applicationId !== APPLICATION_ID && (applicationId !== 0 || version !== 0 || tables !== 0)) {
    throw storeError(
      'cannot open',
      file,
      'not_ours',
      'the file is a SQLite database of another application, not of whatsgate-monitor — point state_dir elsewhere, or move the file aside',
    );
  }
  if (version > SCHEMA_VERSION) throw tooNew(file, version, SCHEMA_VERSION);

  if (!readonly) {
    // The first write, so only after the file is known to be ours (or empty): a foreign
    // database must be left exactly as it was. Persistent in the file: readers opened
    // read-only later find it in WAL mode already.
    db.pragma('journal_mode = WAL');
  }

  if (readonly) {
    if (version < SCHEMA_VERSION) {
      throw storeError(
        'cannot open',
        file,
        'too_old',
        `the database has schema version ${version}, older than this build's ${SCHEMA_VERSION} — start the daemon (or any writing command) once to upgrade it`,
      );
    }
    return;
  }

  // A write that is rolled back: the one way to learn now, rather than at the first save,
  // that the file cannot be written (read-only mount, SQLite's silent read-only fallback) or
  // that another process holds the write lock.
  db.exec('BEGIN IMMEDIATE');
  try {
    db.pragma(`user_version = ${version}`);
  } finally {
    db.exec('ROLLBACK');
  }
  runMigrations(db);
  optimize(db, file);
}

/**
 * Keeps the planner's statistics current (SQLite's advice for long-lived connections); the limit
 * bounds the cost on a big file. Without them historyAll scans the whole index.
 *
 * Best effort: it writes (sqlite_stat1), and on a full disk — a small state_dir whose WAL took
 * the last bytes, which the database cannot checkpoint into until it grows — it fails with
 * SQLITE_FULL. Failing the open for it made the daemon exit and crash-loop under systemd; the
 * daemon starts instead, reports the store as unwritable and retries its writes.
 */
function optimize(db: Database.Database, file: string): void {
  try {
    db.pragma('analysis_limit = 1000');
    db.pragma('optimize = 0x10002');
  } catch (err) {
    if (fromSqliteError(err, 'cannot optimize', file) === null) throw err;
  }
}
