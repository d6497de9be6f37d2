// `store:` and `ha:` — where the state lives, and the lease replicas share.
//
// `store: sqlite` (the default) is monitor.db in state_dir: one process. `store: postgres://…`
// (or `postgresql://…`) is a PostgreSQL database that any number of replicas share; one of them
// holds the HA lease (`ha.lease`) and polls and notifies. The URL is a credential: its password
// (and a credential in its query, `?password=` or `sslpassword=`) never appears in a message. So
// nothing here echoes the value: problems say what was expected, and the URL is shown only as
// net/redact.ts's `redactUrl` writes it (scheme, host, port, database; no user, no password, no
// query). `storeSecrets` lists what redactSecrets must hide in text a driver writes (a connection
// error quoting the URL, say).

import { formatDuration, parseDuration } from '../fields/duration.js';
import type { Problem } from '../fields/fields.js';
import { SERVICE_URL, redactUrl } from '../net/redact.js';
import { MIN_LEASE_MS } from '../monitor/lease.js';
import { dbPathIn } from '../store/location.js';
import type { StoreLocation } from './types.js';

/** `store`'s value for SQLite in state_dir. */
export const SQLITE = 'sqlite';

/** The shortest `ha.lease`: the lease's own rules say it (monitor/lease.ts). */
export { MIN_LEASE_MS };
/**
 * The longest `ha.lease`. A leader that dies unannounced is replaced only once its lease lapses,
 * so a longer lease is that much longer with nothing watched and nothing sent.
 */
export const MAX_LEASE_MS = 10 * 60_000;

const EXPECTED =
  'expected sqlite, or a postgres:// or postgresql:// URL such as postgres://monitor@db:5432/whatsgate';

function isPostgresScheme(protocol: string): boolean {
  return protocol === 'postgres:' || protocol === 'postgresql:';
}

/**
 * Why `text` is not a store, or null. Never quotes the text: a URL that failed to parse may still
 * hold a password.
 */
export function storeProblem(text: string): Problem {
  if (text.trim() === '') return 'must not be empty';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'must not contain line breaks or control characters';
  const value = text.trim();
  if (value === SQLITE) return null;
  if (/^sqlite:/i.test(value) || /^[./~]/.test(value) || /\.(?:db|sqlite3?)$/i.test(value)) {
    return 'sqlite takes no path: the database is monitor.db in state_dir (set state_dir to move it)';
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return /^postgres(?:ql)?:/i.test(value)
      ? 'not a valid postgres:// URL: percent-encode @ : / ? # % in the user name or password'
      : EXPECTED;
  }
  if (!isPostgresScheme(url.protocol.toLowerCase())) {
    return `${EXPECTED} (PostgreSQL is the only database server supported)`;
  }
  // libpq's form for a Unix socket: postgres:///db?host=/var/run/postgresql.
  if (url.hostname === '' && !url.searchParams.has('host')) {
    return 'names no host: postgres://user@host:5432/db (or ?host=/socket/folder for a Unix socket)';
  }
  if (url.hash !== '') {
    return 'must not have a #fragment: percent-encode # in the user name or password as %23';
  }
  return null;
}

/** The location a valid `store` value (storeProblem null) names, for a config's `state_dir`. */
export function storeLocation(text: string, stateDir: string): StoreLocation {
  const value = text.trim();
  if (value === SQLITE) return { kind: 'sqlite', file: dbPathIn(stateDir) };
  if (storeProblem(value) !== null) throw new Error('invariant: store validated before conversion');
  return { kind: 'postgres', url: value };
}

/** Query keys whose values are credentials (libpq's `password`, `sslpassword`, a token or key). */
const SECRET_QUERY_KEY = /pass|secret|token|key/i;

/**
 * What redactSecrets must hide of the store (nothing for SQLite): the URL's password as written
 * and decoded, and the values of credential query keys (`?password=`, `sslpassword=`), at any
 * length. Other query values (`sslmode=require`) are settings, not secrets: hiding them would
 * blank ordinary words out of every message.
 */
export function storeSecrets(location: StoreLocation): string[] {
  if (location.kind === 'sqlite') return [];
  let url: URL;
  try {
    url = new URL(location.url);
  } catch {
    return [];
  }
  const out = new Set<string>();
  if (url.password !== '') {
    out.add(url.password);
    out.add(safeDecode(url.password));
  }
  for (const [key, value] of url.searchParams) {
    if (SECRET_QUERY_KEY.test(key) && value !== '') out.add(value);
  }
  return [...out];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The store as a person may read it anywhere: `SQLite /var/lib/…/monitor.db`, `PostgreSQL postgres://db:5432/whatsgate`. */
export function describeStore(location: StoreLocation): string {
  return location.kind === 'sqlite'
    ? `SQLite ${location.file}`
    : `PostgreSQL ${redactUrl(location.url, SERVICE_URL)}`;
}

/** `ha.lease` beyond the duration syntax (which the schema's duration checks): its bounds. */
export function leaseProblem(value: string | number): Problem {
  const ms = parseDuration(value);
  if (ms === null || ms === 0) return null;
  if (ms < MIN_LEASE_MS) return `must be at least ${formatDuration(MIN_LEASE_MS)}`;
  if (ms > MAX_LEASE_MS) return `must be at most ${formatDuration(MAX_LEASE_MS)}`;
  return null;
}
