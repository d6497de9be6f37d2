// What the PostgreSQL store's errors say: one line naming the database as `host:port/db` — never
// the URL, which may hold the password — what went wrong and what to do, with a StoreError reason
// the daemon and the CLI already react to (errors.ts). The driver's error is not kept as `cause`:
// loggers print a cause's message and stack whole (pino's err serializer does), and a server may
// echo a secret there. The cause is a copy with its code and its text, the secrets cut out.

import { StoreError, storeError, type StoreErrorReason } from './errors.js';

const DEFAULT_PORT = '5432';

/**
 * `postgres://user:secret@db.example.com:6432/monitor?sslmode=require` → `db.example.com:6432/monitor`.
 * A socket directory (`?host=/run/postgresql`) stands for the host. Nothing else of the URL is
 * shown: user, password and parameters stay out of messages and logs.
 */
export function databaseLabel(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(an unparsable PostgreSQL URL)';
  }
  const host = parsed.hostname !== '' ? parsed.hostname : (parsed.searchParams.get('host') ?? 'localhost');
  const port = parsed.port !== '' ? parsed.port : DEFAULT_PORT;
  let database = parsed.pathname.replace(/^\//, '');
  try {
    database = decodeURIComponent(database);
  } catch {
    // shown as written
  }
  if (database === '') database = decodeURIComponent(parsed.username) || 'postgres';
  return `${host}:${port}/${database}`;
}

/** The URL's password (as written and decoded) and credentials passed as parameters (`?password=`). */
export function urlCredentials(url: URL): string[] {
  const out = new Set<string>();
  for (const value of [
    url.password,
    ...[...url.searchParams].filter(([k]) => /pass|secret|token|key/i.test(k)).map(([, v]) => v),
  ]) {
    if (value === '') continue;
    out.add(value);
    try {
      out.add(decodeURIComponent(value));
    } catch {
      // kept as written
    }
  }
  return [...out];
}

/** Node's socket errors as pg passes them on (ECONNREFUSED …), or pg's own connection errors. */
function connectionProblem(err: Error): string | null {
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'the server refused the connection — is PostgreSQL running and listening on that host and port?';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve — check the host in `store:`';
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `the server cannot be reached (${code}) — check the network and the host in \`store:\``;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection was cut (${code}) — the server restarted, or a proxy closed it; retried at the next write`;
  }
  if (/timeout exceeded when trying to connect/i.test(err.message)) {
    return 'no connection within the connect timeout — is the server up and reachable?';
  }
  if (/Connection terminated|not queryable/i.test(err.message)) {
    return 'the connection ended unexpectedly — the server restarted, or a proxy closed it';
  }
  if (/Query read timeout/i.test(err.message)) {
    return 'no answer from the server within the query timeout — the connection hangs (a partition?); it is dropped';
  }
  return null;
}

function sqlState(err: Error): string | null {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

/** A SQLSTATE's reason and advice; `message` is the server's own text. */
function classify(state: string, message: string): [StoreErrorReason, string] {
  switch (state) {
    case '28P01':
    case '28000':
      return [
        'permission',
        `authentication failed (${message}) — check the user and the password (store_file)`,
      ];
    case '42501':
      return [
        'permission',
        `permission denied (${message}) — grant the store's user the rights on this database and its schema`,
      ];
    case '3D000':
      return [
        'other',
        'the database does not exist — create it (CREATE DATABASE), or fix the name in `store:`',
      ];
    case '25006':
      return ['readonly', 'the server is read-only (a standby?) — point `store:` at the primary'];
    case '53100':
      return ['disk_full', "the server's disk is full — free some space there"];
    case '53300':
      return [
        'io',
        'the server refuses more connections (too_many_connections) — raise max_connections or use a pooler',
      ];
    case '40001':
    case '40P01':
    case '55P03':
    case '55006':
      return [
        'locked',
        `another transaction holds what this one needs (${message}) — retried at the next write`,
      ];
    case '57014':
      return [
        'locked',
        `the statement was cancelled (${message}) — it ran past its time limit (the server is busy, or something holds a lock), or an administrator cancelled it; retried at the next write`,
      ];
    case '25P03':
      return [
        'io',
        `the server ended the session: it sat idle in a transaction past its limit (${message}) — was this process paused?`,
      ];
  }
  switch (state.slice(0, 2)) {
    case '08':
    case '57':
    case '58':
      return ['io', `the server or the connection failed (${message}, SQLSTATE ${state})`];
    case '22':
    case '23':
      return ['invalid', `invalid data (${message})`];
    case 'XX':
      return [
        'corrupt',
        `the server reports an internal error (${message}, SQLSTATE ${state}) — check its log`,
      ];
    default:
      return ['other', `${message} (SQLSTATE ${state})`];
  }
}

/**
 * Turns an error from pg into a StoreError naming the database, or returns null when it is not a
 * database or connection error (a bug in the caller, which should surface unchanged).
 * `secrets` (the password) are cut out of the message should the server ever echo one.
 */
export function fromPgError(
  err: unknown,
  doing: string,
  where: string,
  secrets: readonly string[] = [],
): StoreError | null {
  if (err instanceof StoreError) return err;
  if (!(err instanceof Error)) return null;
  let reason: StoreErrorReason;
  let what: string;
  const state = sqlState(err);
  const connection = connectionProblem(err);
  if (state !== null) [reason, what] = classify(state, err.message);
  else if (connection !== null) [reason, what] = ['io', connection];
  else return null;
  return storeError(doing, where, reason, redact(what, secrets), redactedCause(err, secrets));
}

function redact(text: string, secrets: readonly string[]): string {
  for (const secret of secrets) {
    if (secret.length > 0) text = text.replaceAll(secret, '[redacted]');
  }
  return text;
}

/**
 * pg's error as a cause fit for logs: its name, its code (SQLSTATE, or Node's ECONNREFUSED …), and
 * its message and stack with the secrets cut out; the message ends with the SQLSTATE, as loggers
 * print a cause's message but not its fields. Nothing else of it (the server's detail, the query)
 * is kept.
 */
function redactedCause(err: Error, secrets: readonly string[]): Error {
  const state = sqlState(err);
  const message = redact(err.message, secrets);
  const cause = new Error(state === null ? message : `${message} (SQLSTATE ${state})`);
  cause.name = err.name;
  cause.stack = redact(err.stack ?? `${err.name}: ${err.message}`, secrets);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(cause, { code });
  return cause;
}
