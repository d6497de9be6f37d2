// Opens the store a StoreLocation names, for the daemon and the CLI. Each driver loads only when
// used: a SQLite deployment never loads pg, a PostgreSQL one never loads better-sqlite3.

import type { StoreLocation } from './location.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** For readers (CLI `status`, `history`): the store is never created, migrated or written. */
  readonly readonly?: boolean;
}

/**
 * Creates and migrates the store when needed (not when `readonly`). Every failure is a
 * StoreError whose one-line message names the file, or the database as `host:port/db`.
 * A PostgreSQL store is an HaStore (lease.ts `isHaStore`).
 */
export async function openStore(location: StoreLocation, options: OpenStoreOptions = {}): Promise<Store> {
  const readonly = options.readonly === true;
  switch (location.kind) {
    case 'sqlite': {
      const { openSqliteStore } = await import('./sqlite-store.js');
      return openSqliteStore(location.file, { readonly });
    }
    case 'postgres': {
      const { openPostgresStore } = await import('./postgres-store.js');
      return openPostgresStore(location.url, { readonly });
    }
  }
}
