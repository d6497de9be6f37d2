// One error class for everything the store can run into. The CLI and the daemon print
// `message` as is, so it is one line that names the file and says what to do; the SQLite
// error stays reachable as `cause` for debug logs.

/** What went wrong, for callers that react differently (e.g. a CLI reading a DB that does not exist yet). */
export type StoreErrorReason =
  | 'missing_dir'
  | 'missing_file'
  | 'permission'
  | 'readonly'
  | 'locked'
  | 'corrupt'
  | 'not_ours'
  | 'too_new'
  | 'too_old'
  | 'disk_full'
  | 'io'
  | 'invalid'
  | 'closed'
  // A write refused by the HA fence: another replica holds the lease at a newer epoch.
  | 'deposed'
  | 'other';

export class StoreError extends Error {
  override name = 'StoreError';
  readonly file: string;
  readonly reason: StoreErrorReason;

  constructor(message: string, options: { file: string; reason: StoreErrorReason; cause?: unknown }) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.file = options.file;
    this.reason = options.reason;
  }
}

/** Builds `${doing} ${file}: ${what}` — e.g. `cannot open /x/monitor.db: the file is … — move it aside`. */
export function storeError(
  doing: string,
  file: string,
  reason: StoreErrorReason,
  what: string,
  cause?: unknown,
): StoreError {
  const message = `${doing} ${file}: ${what}`.replace(/\s*\n\s*/g, ' ');
  return cause === undefined
    ? new StoreError(message, { file, reason })
    : new StoreError(message, { file, reason, cause });
}

function sqliteCode(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : null;
}

/**
 * Turns an error thrown by better-sqlite3 into a StoreError, or returns null when it is not a
 * database error (a bug in the caller, which should surface unchanged).
 */
export function fromSqliteError(
  err: unknown,
  doing: string,
  file: string,
  opts: { openedReadonly?: boolean } = {},
): StoreError | null {
  if (err instanceof StoreError) return err;
  const code = sqliteCode(err);
  if (code === null || !(err instanceof Error)) return null;
  // Extended codes (SQLITE_IOERR_SHORT_READ, SQLITE_BUSY_SNAPSHOT, …) share their primary's meaning.
  const primary = code.split('_').slice(0, 2).join('_');
  const fail = (reason: StoreErrorReason, what: string): StoreError =>
    storeError(doing, file, reason, what, err);
  switch (primary) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return fail(
        'locked',
        'the database is locked by another process (a second whatsgate-monitor daemon?) — stop it, or retry in a moment',
      );
    case 'SQLITE_READONLY':
      if (
        ['SQLITE_READONLY_DIRECTORY', 'SQLITE_READONLY_CANTINIT', 'SQLITE_READONLY_CANTLOCK'].includes(code)
      ) {
        // Even a reader of a WAL database needs the -shm file beside it, created on demand.
        return fail(
          'permission',
          `SQLite cannot create or use its -wal/-shm files beside the database (${code}) — run as the service user, or let this user write the directory`,
        );
      }
      return opts.openedReadonly === true
        ? fail('readonly', 'the store was opened read-only, so it cannot write')
        : fail(
            'readonly',
            'the file is read-only for this user — give the service user write access to it and to its directory',
          );
    case 'SQLITE_NOTADB':
      return fail('corrupt', 'the file is not a SQLite database (corrupt?) — move it aside to start fresh');
    case 'SQLITE_CORRUPT':
      return fail(
        'corrupt',
        `the database is corrupt (${err.message}) — move it aside to start fresh, or salvage it with \`sqlite3 ${file} .recover\``,
      );
    case 'SQLITE_FULL':
      return fail('disk_full', 'the disk is full — free some space');
    case 'SQLITE_CANTOPEN':
      return fail(
        'permission',
        'the file cannot be opened or created — check that its directory exists and that this user may read and write both',
      );
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return fail('permission', `permission denied (${err.message}) — check the owner and mode of the file`);
    case 'SQLITE_IOERR':
      return fail('io', `I/O error (${code}) — check the disk and the file system`);
    case 'SQLITE_CONSTRAINT':
    case 'SQLITE_MISMATCH':
    case 'SQLITE_RANGE':
      return fail('invalid', `invalid data (${err.message})`);
    default:
      return fail('other', `${err.message} (${code})`);
  }
}
