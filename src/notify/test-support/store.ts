// A fresh monitor database in a temporary directory, for tests that need the real outbox.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteOutbox } from '../../store/outbox.js';
import { openSqliteStore, type SqliteStore } from '../../store/sqlite-store.js';

export interface TempDb {
  readonly file: string;
  store: SqliteStore;
  outbox: SqliteOutbox;
  /** Closes and opens the file again: what a restart of the daemon does. */
  reopen(): void;
  /** Closes the store and deletes the directory. */
  dispose(): void;
}

export function tempDb(): TempDb {
  const dir = mkdtempSync(join(tmpdir(), 'wgm-notify-'));
  const file = join(dir, 'monitor.db');
  const store = openSqliteStore(file);
  const db: TempDb = {
    file,
    store,
    outbox: new SqliteOutbox(store),
    reopen() {
      db.store.close();
      db.store = openSqliteStore(file);
      db.outbox = new SqliteOutbox(db.store);
    },
    dispose() {
      db.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return db;
}
