// A fresh monitor database in a temporary directory, for tests that need the real outbox.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutboxStore } from '../../store/outbox-store.js';
import { openSqliteStore, type SqliteStore } from '../../store/sqlite-store.js';

export interface TempDb {
  readonly file: string;
  store: SqliteStore;
  /** `store.outbox`; replaced by `reopen`. */
  outbox: OutboxStore;
  /** Closes and opens the file again: what a restart of the daemon does. */
  reopen(): Promise<void>;
  /** Closes the store and deletes the directory. */
  dispose(): Promise<void>;
}

export function tempDb(): TempDb {
  const dir = mkdtempSync(join(tmpdir(), 'wgm-notify-'));
  const file = join(dir, 'monitor.db');
  const store = openSqliteStore(file);
  const db: TempDb = {
    file,
    store,
    outbox: store.outbox,
    async reopen() {
      await db.store.close();
      db.store = openSqliteStore(file);
      db.outbox = db.store.outbox;
    },
    async dispose() {
      await db.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return db;
}
