// Where the daemon keeps its database: by default one SQLite file in `state_dir`; with
// `store: postgres://…` (SPEC §4, §11) a PostgreSQL database shared by HA replicas. The CLI's
// readers open the same store, and must not load the daemon to learn where it is.

import { join } from 'node:path';
import { databaseLabel } from './postgres-errors.js';

export const DB_FILE = 'monitor.db';

export function dbPathIn(stateDir: string): string {
  return join(stateDir, DB_FILE);
}

/** What `openStore` opens; the config's `store:` (and `store_file`) give it. */
export type StoreLocation =
  { readonly kind: 'sqlite'; readonly file: string } | { readonly kind: 'postgres'; readonly url: string };

/** The default: SQLite in `state_dir`. */
export function sqliteIn(stateDir: string): StoreLocation {
  return { kind: 'sqlite', file: dbPathIn(stateDir) };
}

/** For logs and messages: the file, or `host:port/db` — never a URL, which may hold the password. */
export function describeLocation(location: StoreLocation): string {
  return location.kind === 'sqlite' ? location.file : databaseLabel(location.url);
}
