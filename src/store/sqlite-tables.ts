// The Store's tables on SQLite (better-sqlite3, synchronous). One file, WAL: the daemon writes
// while CLI processes (`status`, `history`, `silence`) read or write the same file beside it.
// sqlite-store.ts puts these synchronous methods behind the asynchronous Store interface.
//
// Over 350 lines: the Store's methods are implemented in one class so every method shares the
// prepared statements and the transaction helper; the opening and row mapping are already apart.

import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { fromSqliteError, StoreError, storeError } from './errors.js';
import { BUSY_TIMEOUT_MS, checkPath, prepareConnection } from './sqlite-open.js';
import { SqliteRollups, type PruneSlice } from './sqlite-rollups.js';
import {
  encodeState,
  toDeviceRow,
  toHistoryRow,
  type AccountRecord,
  type DeviceRecord,
  type HistoryRecord,
  type SilenceRecord,
} from './sqlite-rows.js';
import type {
  AccountRow,
  ApiCallQuery,
  ApiCallRow,
  NewApiCall,
  DeviceRow,
  DeletedDevice,
  DeliveryProblemChange,
  DeliveryProblemPeriod,
  DeviceSave,
  HistoryPage,
  HistoryPageQuery,
  HistoryPosition,
  HistoryRow,
  HistoryTotals,
  NewSilence,
  PruneResult,
  SilenceTarget,
  TransactionOptions,
} from './store.js';
import type { Silence } from '../monitor/silence.js';

export interface SqliteStoreOptions {
  /** For readers (CLI `status`, `history`): never creates, migrates or writes the file. */
  readonly readonly?: boolean;
  /** How long to wait for another process's write lock before giving up. Default BUSY_TIMEOUT_MS. */
  readonly busyTimeoutMs?: number;
}

/**
 * Opens (creating and migrating when needed) the database at `file`; `:memory:` for tests.
 * Every failure is a StoreError whose one-line message names the file and what to do.
 */
export function openSqliteTables(file: string, options: SqliteStoreOptions = {}): SqliteTables {
  const readonly = options.readonly === true;
  const inMemory = file === ':memory:' || file === '';
  if (!inMemory) checkPath(file, readonly);

  let db: Database.Database;
  try {
    db = new Database(file, {
      readonly,
      fileMustExist: readonly,
      timeout: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS,
    });
  } catch (err) {
    throw (
      fromSqliteError(err, 'cannot open', file) ?? storeError('cannot open', file, 'other', String(err), err)
    );
  }
  try {
    prepareConnection(db, file, readonly);
    return new SqliteTables(db, file);
  } catch (err) {
    db.close();
    throw fromSqliteError(err, 'cannot open', file, { openedReadonly: readonly }) ?? err;
  }
}

// Aliased to the TypeScript names; the CHECK constraints guarantee the string unions.
const DEVICE_COLUMNS = `account, device, status, status_raw AS statusRaw, health, status_since AS statusSince,
  last_check_at AS lastCheckAt, probe_error AS probeError, transitions, state`;
const HISTORY_COLUMNS = 'id, account, device, at, from_status AS "from", to_status AS "to", raw';
const SILENCE_COLUMNS = 'id, account, device, until_at AS "until", reason, created_at AS createdAt';

type Run<P extends unknown[] | object> = Statement<P, never>;

/** The Store's methods, synchronous; one connection. */
export class SqliteTables {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly rollups: SqliteRollups;
  private closed = false;

  private readonly stmts: {
    getDevices: Statement<[], DeviceRecord>;
    getDevice: Statement<[string, string], DeviceRecord>;
    upsertDevice: Run<
      [
        string,
        string,
        string | null,
        string | null,
        string,
        number | null,
        number | null,
        string | null,
        number,
        string,
      ]
    >;
    removeDevice: Run<[string, string]>;
    history: Statement<[string, string, number], HistoryRecord>;
    historyAll: Statement<{ since: number }, HistoryRecord>;
    deletedDevices: Statement<[], DeletedDevice>;
    getAccounts: Statement<[], AccountRecord>;
    upsertAccount: Run<[string, 0 | 1, string]>;
    insertSilence: Statement<[string | null, string | null, number, string | null, number], SilenceRecord>;
    activeSilences: Statement<[number], SilenceRecord>;
    pruneSilences: Run<[number]>;
    insertApiCall: Statement<[string, number, string, string, string, number | null], { id: number }>;
    apiCalls: Statement<
      { account: string; afterId: number; since: number; caller: string | null },
      ApiCallRow
    >;
    pruneApiCalls: Run<[number]>;
    openProblem: Run<{ account: string; device: string; problem: string; at: number }>;
    endProblem: Run<{ account: string; device: string; problem: string; at: number }>;
    problemPeriods: Statement<[number], DeliveryProblemPeriod>;
    pruneProblems: Run<[number]>;
    getMeta: Statement<[string], { value: string }>;
    setMeta: Run<[string, string]>;
  };

  /** Use openSqliteTables: it checks, configures and migrates the connection first. */
  constructor(db: Database.Database, file: string) {
    this.db = db;
    this.file = file;
    this.rollups = new SqliteRollups(db);
    this.stmts = {
      getDevices: db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY account, device`),
      getDevice: db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE account = ? AND device = ?`),
      upsertDevice: db.prepare(`
        INSERT INTO devices (account, device, status, status_raw, health, status_since, last_check_at,
                             probe_error, transitions, state)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (account, device) DO UPDATE SET
          status = excluded.status, status_raw = excluded.status_raw, health = excluded.health,
          status_since = excluded.status_since, last_check_at = excluded.last_check_at,
          probe_error = excluded.probe_error, transitions = excluded.transitions, state = excluded.state`),
      removeDevice: db.prepare('DELETE FROM devices WHERE account = ? AND device = ?'),
      history: db.prepare(
        `SELECT ${HISTORY_COLUMNS} FROM history WHERE account = ? AND device = ? AND at >= ? ORDER BY at, id`,
      ),
      historyAll: db.prepare(`
        SELECT ${HISTORY_COLUMNS} FROM history WHERE at >= @since
        UNION ALL
        SELECT ${HISTORY_COLUMNS} FROM history WHERE id IN (
          SELECT (SELECT p.id FROM history AS p
                  WHERE p.account = d.account AND p.device = d.device AND p.at < @since
                  ORDER BY p.at DESC, p.id DESC LIMIT 1)
          FROM (SELECT DISTINCT account, device FROM history) AS d)
        ORDER BY account, device, at, id`),
      // A later row other than not_found (the daemon's next check of a deleted device) means it
      // was added again; a later deletion replaces this one.
      deletedDevices: db.prepare(`
        SELECT h.account AS account, h.device AS device, h.at AS at FROM history AS h
        WHERE h.to_status = 'deleted' AND NOT EXISTS (
          SELECT 1 FROM history AS l
          WHERE l.account = h.account AND l.device = h.device
            AND (l.at > h.at OR (l.at = h.at AND l.id > h.id)) AND l.to_status <> 'not_found')
        ORDER BY h.account, h.device`),
      getAccounts: db.prepare('SELECT account, reachable, state FROM accounts ORDER BY account'),
      upsertAccount: db.prepare(`
        INSERT INTO accounts (account, reachable, state) VALUES (?, ?, ?)
        ON CONFLICT (account) DO UPDATE SET reachable = excluded.reachable, state = excluded.state`),
      insertSilence: db.prepare(`
        INSERT INTO silences (account, device, until_at, reason, created_at) VALUES (?, ?, ?, ?, ?)
        RETURNING ${SILENCE_COLUMNS}`),
      activeSilences: db.prepare(`SELECT ${SILENCE_COLUMNS} FROM silences WHERE until_at > ? ORDER BY id`),
      pruneSilences: db.prepare('DELETE FROM silences WHERE until_at < ?'),
      insertApiCall: db.prepare(
        'INSERT INTO api_calls (account, at, kind, origin, caller, epoch) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
      ),
      apiCalls: db.prepare(`
        SELECT id, account, at, kind, origin, caller, epoch FROM api_calls
        WHERE account = @account AND id > @afterId AND at >= @since AND (@caller IS NULL OR caller <> @caller)
        ORDER BY id`),
      pruneApiCalls: db.prepare('DELETE FROM api_calls WHERE at < ?'),
      openProblem: db.prepare(`
        INSERT INTO delivery_problems (account, device, problem, started_at)
        SELECT @account, @device, @problem, @at WHERE NOT EXISTS (
          SELECT 1 FROM delivery_problems
          WHERE account = @account AND device = @device AND problem = @problem AND ended_at IS NULL)`),
      endProblem: db.prepare(`
        UPDATE delivery_problems SET ended_at = max(@at, started_at)
        WHERE account = @account AND device = @device AND problem = @problem AND ended_at IS NULL`),
      problemPeriods: db.prepare(`
        SELECT account, device, problem, started_at AS startedAt, ended_at AS endedAt
        FROM delivery_problems WHERE ended_at IS NULL OR ended_at >= ?
        ORDER BY account, device, started_at, id`),
      pruneProblems: db.prepare('DELETE FROM delivery_problems WHERE ended_at < ?'),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
    };
  }

  getDevices(): DeviceRow[] {
    return this.guard('cannot read devices from', () => this.stmts.getDevices.all().map(toDeviceRow));
  }

  getDevice(account: string, device: string): DeviceRow | null {
    return this.guard('cannot read devices from', () => {
      const record = this.stmts.getDevice.get(account, device);
      return record === undefined ? null : toDeviceRow(record);
    });
  }

  saveDevices(batch: readonly DeviceSave[]): void {
    if (batch.length === 0) return;
    this.guard('cannot save devices to', () => {
      this.db
        .transaction(() => {
          for (const { row, change, deliveryChanges } of batch) {
            this.stmts.upsertDevice.run(
              row.account,
              row.device,
              row.status,
              row.statusRaw,
              row.health,
              row.statusSince,
              row.lastCheckAt,
              row.probeError,
              row.transitions,
              encodeState(row.state, `device ${row.account}/${row.device}`),
            );
            if (change !== null) this.insertHistory(change);
            for (const c of deliveryChanges ?? []) this.insertProblemChange(c);
          }
        })
        .immediate();
    });
  }

  removeDevice(account: string, device: string): boolean {
    return this.guard(
      'cannot remove a device from',
      () => this.stmts.removeDevice.run(account, device).changes > 0,
    );
  }

  appendHistory(row: HistoryRow): void {
    // Several statements (the row, and the totals after it when it is not the newest): all or none.
    this.guard('cannot save history to', () =>
      this.db.transaction(() => this.insertHistory(row)).immediate(),
    );
  }

  history(account: string, device: string, options: { readonly since?: number } = {}): HistoryRow[] {
    return this.guard('cannot read history from', () =>
      this.stmts.history.all(account, device, options.since ?? Number.MIN_SAFE_INTEGER).map(toHistoryRow),
    );
  }

  historyAll(since: number): HistoryRow[] {
    return this.guard('cannot read history from', () =>
      this.stmts.historyAll.all({ since }).map(toHistoryRow),
    );
  }

  historyPage(account: string, device: string, query: HistoryPageQuery): HistoryPage {
    return this.guard('cannot read history from', () => this.rollups.page(account, device, query));
  }

  /** HistoryTotals of each (device, instant); the SqliteStore cuts a long list into slices. */
  historyTotals(queries: readonly { account: string; device: string; instants: readonly number[] }[]) {
    return this.guard('cannot read history from', () =>
      queries.map((q): HistoryTotals[] =>
        q.instants.map((t) => this.rollups.totalsAt(q.account, q.device, t)),
      ),
    );
  }

  recentHistory(
    devices: readonly { account: string; device: string }[],
    since: number,
    limit: number,
  ): HistoryRow[][] {
    return this.guard('cannot read history from', () =>
      devices.map((d) => this.rollups.recent(d.account, d.device, since, limit)),
    );
  }

  historyBetween(
    devices: readonly { account: string; device: string }[],
    from: number,
    until: number,
  ): HistoryRow[][] {
    return this.guard('cannot read history from', () =>
      devices.map((d) => this.rollups.between(d.account, d.device, from, until)),
    );
  }

  deletedDevices(): DeletedDevice[] {
    return this.guard('cannot read history from', () => this.stmts.deletedDevices.all());
  }

  recordDeliveryProblems(changes: readonly DeliveryProblemChange[]): void {
    if (changes.length === 0) return;
    this.guard('cannot save delivery problems to', () => {
      this.db
        .transaction(() => {
          for (const c of changes) this.insertProblemChange(c);
        })
        .immediate();
    });
  }

  problemPeriods(since: number): DeliveryProblemPeriod[] {
    return this.guard('cannot read delivery problems from', () => this.stmts.problemPeriods.all(since));
  }

  getAccounts(): AccountRow[] {
    return this.guard('cannot read accounts from', () =>
      this.stmts.getAccounts.all().map((r) => ({
        account: r.account,
        reachable: r.reachable === 1,
        state: JSON.parse(r.state) as unknown,
      })),
    );
  }

  saveAccount(row: AccountRow): void {
    this.guard('cannot save an account to', () => {
      this.stmts.upsertAccount.run(
        row.account,
        row.reachable ? 1 : 0,
        encodeState(row.state, `account ${row.account}`),
      );
    });
  }

  addSilence(silence: NewSilence): Silence {
    return this.guard('cannot save a silence to', () => {
      const { account, device, until, reason, createdAt } = silence;
      return this.stmts.insertSilence.get(account, device, until, reason, createdAt)!;
    });
  }

  removeSilences(target: SilenceTarget): number {
    if (target !== 'all' && target.account === undefined && target.device === undefined) {
      // Almost certainly a caller's bug; "remove everything" has its own spelling.
      throw new TypeError("removeSilences: empty target (pass 'all' to remove every silence)");
    }
    return this.guard('cannot remove silences from', () => {
      if (target === 'all') return this.db.prepare('DELETE FROM silences').run().changes;
      const where: string[] = [];
      const params: string[] = [];
      if (target.account !== undefined) {
        where.push('account = ?');
        params.push(target.account);
      }
      if (target.device !== undefined) {
        where.push('device = ?');
        params.push(target.device);
      }
      return this.db.prepare(`DELETE FROM silences WHERE ${where.join(' AND ')}`).run(...params).changes;
    });
  }

  activeSilences(now: number): Silence[] {
    return this.guard('cannot read silences from', () => this.stmts.activeSilences.all(now));
  }

  /** One slice of the history's prune, in a transaction of its own (or the caller's). */
  pruneHistorySlice(before: number, after: HistoryPosition | null): PruneSlice {
    return this.guard('cannot prune', () =>
      this.db.transaction(() => this.rollups.pruneSlice(before, after)).immediate(),
    );
  }

  /** The rest of the prune after the history's slices: silences and delivery problems, few rows. */
  pruneOthers(before: number): Omit<PruneResult, 'history'> {
    return this.guard('cannot prune', () => {
      const result = this.db
        .transaction(() => ({
          silences: this.stmts.pruneSilences.run(before).changes,
          deliveryProblems: this.stmts.pruneProblems.run(before).changes,
        }))
        .immediate();
      // The daemon prunes about daily: the moment to refresh the statistics a long run needs.
      this.db.pragma('optimize');
      return result;
    });
  }

  recordApiCall(call: NewApiCall): number {
    return this.guard('cannot log a call to', () => {
      const { account, at, kind, origin, caller, epoch } = call;
      return this.stmts.insertApiCall.get(account, at, kind, origin, caller, epoch)!.id;
    });
  }

  apiCalls(account: string, query: ApiCallQuery = {}): ApiCallRow[] {
    return this.guard('cannot read the call log from', () =>
      this.stmts.apiCalls.all({
        account,
        afterId: query.afterId ?? 0,
        since: query.since ?? Number.MIN_SAFE_INTEGER,
        caller: query.excludeCaller ?? null,
      }),
    );
  }

  pruneApiCalls(before: number): number {
    return this.guard('cannot prune the call log of', () => this.stmts.pruneApiCalls.run(before).changes);
  }

  getMeta(key: string): string | null {
    return this.guard('cannot read', () => this.stmts.getMeta.get(key)?.value ?? null);
  }

  setMeta(key: string, value: string): void {
    this.guard('cannot write to', () => {
      this.stmts.setMeta.run(key, value);
    });
  }

  /**
   * The open connection, for the stores of other subsystems kept in the same file (the
   * notification outbox), so that their writes can join this store's transactions.
   */
  get connection(): Database.Database {
    if (this.closed) throw storeError('cannot use', this.file, 'closed', 'the store is closed');
    return this.db;
  }

  /**
   * Opens a transaction, or a savepoint inside one (depth > 0); `commit`/`rollback` end the
   * innermost. Spread over an asynchronous caller, so not better-sqlite3's `transaction()`,
   * which must run its function synchronously.
   */
  begin(depth: number, options: TransactionOptions = {}): void {
    this.guard('cannot write to', () => {
      if (depth > 0) {
        this.db.exec(`SAVEPOINT s${depth}`);
        return;
      }
      // IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
      // writes can fail at once with SQLITE_BUSY when another process wrote in between. So the
      // lock wait happens at BEGIN, which is all a busy timeout of this call's own has to cover.
      const wait = options.busyTimeoutMs;
      if (wait === undefined) {
        this.db.exec('BEGIN IMMEDIATE');
        return;
      }
      const before = this.db.pragma('busy_timeout', { simple: true }) as number;
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(wait))}`);
      try {
        this.db.exec('BEGIN IMMEDIATE');
      } finally {
        this.db.pragma(`busy_timeout = ${before}`);
      }
    });
  }

  commit(depth: number): void {
    this.guard('cannot write to', () => {
      this.db.exec(depth > 0 ? `RELEASE s${depth}` : 'COMMIT');
    });
  }

  /** Never throws: it runs after a failure, whose error is the one to report. */
  rollback(depth: number): void {
    if (this.closed) return;
    try {
      if (depth > 0) this.db.exec(`ROLLBACK TO s${depth}; RELEASE s${depth}`);
      // SQLite may have rolled back already (SQLITE_FULL, SQLITE_IOERR end the transaction).
      else if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      // the connection is unusable or the transaction gone; the next BEGIN tells
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private insertHistory(row: HistoryRow): void {
    this.rollups.insert(row);
  }

  private insertProblemChange(c: DeliveryProblemChange): void {
    const params = { account: c.account, device: c.device, problem: c.problem, at: c.at };
    if (c.kind === 'started') this.stmts.openProblem.run(params);
    else this.stmts.endProblem.run(params);
  }

  /** Database failures become StoreErrors naming the file; a caller's own errors pass unchanged. */
  private guard<T>(doing: string, fn: () => T): T {
    if (this.closed) throw storeError(doing, this.file, 'closed', 'the store is closed');
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw fromSqliteError(err, doing, this.file, { openedReadonly: this.db.readonly }) ?? err;
    }
  }
}
