// The Store on PostgreSQL, for high availability (SPEC §9, §11: `store: postgres://…`): any
// number of replicas share one database; the lease says which one polls and notifies, and the
// fence keeps a deposed one from writing. Same behaviour as SqliteStore (the contract suites
// prove it); where statements run and how writes are fenced: postgres-session.ts; the schema:
// postgres-schema.ts; the lease: postgres-lease.ts; the outbox: postgres-outbox.ts.
//
// Over 350 lines: one short method per Store method, most one statement; the heavier parts
// are the sibling modules named above.

import { Pool, TypeOverrides, types } from 'pg';
import type { StoreError } from './errors.js';
import { storeError } from './errors.js';
import type { Fence, HaStore, LeaseHolder } from './lease.js';
import type { OutboxStore } from './outbox-store.js';
import { databaseLabel, fromPgError, urlCredentials } from './postgres-errors.js';
import * as lease from './postgres-lease.js';
import { PostgresOutbox } from './postgres-outbox.js';
import { checkPostgresSchema, migratePostgres } from './postgres-schema.js';
import * as changes from './postgres-changes.js';
import * as devices from './postgres-devices.js';
import * as rollups from './postgres-rollups.js';
import { inParts, pruneInSlices } from './postgres-slices.js';
import {
  DEFAULT_LIMITS,
  LEASE_GRACE_MS,
  PoolSession,
  Shared,
  type Limits,
  type Session,
  type Sql,
} from './postgres-session.js';
import { json, storable } from './postgres-text.js';
import type {
  AccountRow,
  ApiCallQuery,
  ApiCallRow,
  DeletedDevice,
  DeliveryProblemChange,
  DeliveryProblemPeriod,
  DeviceKey,
  DeviceRow,
  DeviceSave,
  HistoryChange,
  HistoryPage,
  HistoryPageQuery,
  HistoryRow,
  HistoryTotals,
  NewApiCall,
  NewSilence,
  PruneOptions,
  PruneResult,
  RecentAndTotals,
  RecentQuery,
  SilenceTarget,
  Store,
  TransactionOptions,
} from './store.js';
import type { Silence } from '../monitor/silence.js';

export interface PostgresStoreOptions {
  /** For readers (CLI `status`): never creates or migrates the schema; it must be current. */
  readonly readonly?: boolean;
  /** Connections in the pool. Default 10. */
  readonly poolSize?: number;
  /** How long to wait for a connection before failing. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** An idle pooled connection failed (the server restarted); the pool replaces it. */
  readonly onIdleError?: (err: StoreError) => void;
  // How long the server lets a transaction of the store wait (SET LOCAL at its start: fit for
  // PgBouncer in transaction mode), so that a replica paused or cut off mid-transaction holds
  // nothing for long. In ms; 0 is no limit.
  /** A transaction left idle this long is ended by the server, its locks freed. Default 5 s. */
  readonly idleInTransactionTimeoutMs?: number;
  /** A statement in a transaction waits this long for a lock, then fails (`locked`). Default 5 s. */
  readonly lockTimeoutMs?: number;
  /** A statement in a transaction runs this long, then is cancelled (`locked`). Default 10 s. */
  readonly statementTimeoutMs?: number;
  /**
   * Each lease statement (claim, renewal, release, holder) waits this long for a lock or an
   * answer, then fails; the client gives up 1 s later on a connection that hangs. Keep it well
   * under the shortest lease (5 s). Default 2 s. They run on a pool of their own: 2 connections.
   */
  readonly leaseTimeoutMs?: number;
}

/** The lease statements' own pool: a claim or a renewal at a time, and a spare. */
const LEASE_POOL_SIZE = 2;

/** PostgreSQL takes timeouts up to 2^31 - 1 ms. */
const MAX_TIMEOUT_MS = 2_147_483_647;

function limitsOf(options: PostgresStoreOptions): Limits {
  const limit = (name: keyof PostgresStoreOptions, value: number | undefined, fallback: number, min = 0) => {
    const ms = value ?? fallback;
    if (!Number.isInteger(ms) || ms < min || ms > MAX_TIMEOUT_MS) {
      throw new RangeError(
        `${name} must be a whole number of ms from ${min} to ${MAX_TIMEOUT_MS}, not ${ms}`,
      );
    }
    return ms;
  };
  return {
    idleInTransactionMs: limit(
      'idleInTransactionTimeoutMs',
      options.idleInTransactionTimeoutMs,
      DEFAULT_LIMITS.idleInTransactionMs,
    ),
    lockMs: limit('lockTimeoutMs', options.lockTimeoutMs, DEFAULT_LIMITS.lockMs),
    statementMs: limit('statementTimeoutMs', options.statementTimeoutMs, DEFAULT_LIMITS.statementMs),
    leaseStatementMs: limit('leaseTimeoutMs', options.leaseTimeoutMs, DEFAULT_LIMITS.leaseStatementMs, 1),
  };
}

/** bigint columns (times, ids, epochs) as numbers: every value the store keeps is below 2^53. */
const TYPES = new TypeOverrides();
TYPES.setTypeParser(types.builtins.INT8, (text: string) => Number(text));

/**
 * Connects, and creates or migrates the schema (safe when several replicas start at once).
 * Every failure is a StoreError whose one-line message names the database as `host:port/db`,
 * never with the password.
 */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  const where = databaseLabel(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw storeError(
      'cannot open',
      where,
      'invalid',
      'the store URL does not parse — expected postgres://user@host:5432/db',
    );
  }
  const secrets = urlCredentials(parsed);
  const limits = limitsOf(options);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const newPool = (max: number, more: { connectionTimeoutMillis: number; query_timeout?: number }) => {
    const pool = new Pool({
      connectionString: url,
      max,
      // A server gone without a word (a partition) is noticed by TCP keepalive, not after hours.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: 'whatsgate-monitor',
      types: TYPES,
      ...more,
    });
    pool.on('error', (err) => {
      const mapped = fromPgError(err, 'lost a connection to', where, secrets);
      if (mapped !== null) options.onIdleError?.(mapped);
    });
    return pool;
  };
  const pool = newPool(options.poolSize ?? 10, { connectionTimeoutMillis: connectTimeoutMs });
  // Bounded end to end: a connection, then an answer, within the lease statement's time and a
  // margin — a hung connection fails a claim or a renewal in seconds, not after TCP's minutes.
  const leaseBound = limits.leaseStatementMs + LEASE_GRACE_MS;
  const leasePool = newPool(LEASE_POOL_SIZE, {
    connectionTimeoutMillis: Math.min(connectTimeoutMs, leaseBound),
    query_timeout: leaseBound,
  });
  try {
    if (options.readonly === true) await checkPostgresSchema(pool, where);
    else await migratePostgres(pool, where);
  } catch (err) {
    await Promise.allSettled([pool.end(), leasePool.end()]);
    throw fromPgError(err, 'cannot open', where, secrets) ?? err;
  }
  const shared = new Shared(pool, where, secrets, options.readonly === true, limits, leasePool);
  return new PostgresStore(shared, new PoolSession(shared));
}

/** Device rows per statement of getDevices. */
const DEVICE_PAGE = 1_000;

const SILENCE_COLUMNS = 'id, account, device, until_at AS "until", reason, created_at AS "createdAt"';

export class PostgresStore implements HaStore, Store {
  readonly outbox: OutboxStore;
  readonly #shared: Shared;
  readonly #session: Session;
  #closing: Promise<void> | undefined;

  /** Use openPostgresStore. A transaction's handle shares the pool and fence, on its session. */
  constructor(shared: Shared, session: Session) {
    this.#shared = shared;
    this.#session = session;
    this.outbox = new PostgresOutbox(session, (fn) => this.transaction((tx) => fn(tx.outbox)));
  }

  /** `host:port/db`, as messages name it. */
  get where(): string {
    return this.#shared.where;
  }

  async getDevices(): Promise<DeviceRow[]> {
    // A page at a time, as on SQLite: 10,000 rows and their JSON states parsed in one go would
    // hold the event loop for a hundred milliseconds.
    const out: DeviceRow[] = [];
    let after: DeviceRow | null = null;
    for (;;) {
      const page: DeviceRow[] = await this.#session.read('cannot read devices from', (sql) =>
        devices.readDevicePage(sql, after, DEVICE_PAGE),
      );
      out.push(...page);
      after = page.at(-1) ?? null;
      if (page.length < DEVICE_PAGE || after === null) return out;
    }
  }

  getDevice(account: string, device: string): Promise<DeviceRow | null> {
    return this.#session.read(
      'cannot read devices from',
      async (sql) => (await devices.readDevices(sql, { account, device }))[0] ?? null,
    );
  }

  async saveDevices(batch: readonly DeviceSave[]): Promise<void> {
    if (batch.length === 0) return;
    const prepared = devices.prepareSave(batch);
    await this.#session.write(
      'cannot save devices to',
      (sql) => devices.saveDevices(sql, prepared),
      'several',
    );
  }

  removeDevice(account: string, device: string): Promise<boolean> {
    return this.#session.write('cannot remove a device from', (sql) =>
      devices.removeDevice(sql, account, device),
    );
  }

  appendHistory(row: HistoryRow): Promise<void> {
    // Several statements: the history lock, the device's last row, the row (postgres-rollups.ts).
    return this.#session.write(
      'cannot save history to',
      (sql) => rollups.insertHistory(sql, [row]),
      'several',
    );
  }

  history(account: string, device: string, options: { readonly since?: number } = {}): Promise<HistoryRow[]> {
    const since = options.since ?? Number.MIN_SAFE_INTEGER;
    return this.#session.read('cannot read history from', (sql) =>
      devices.readHistory(sql, account, device, since),
    );
  }

  historyAll(since: number): Promise<HistoryRow[]> {
    return this.#session.read('cannot read history from', (sql) => devices.readHistoryAll(sql, since));
  }

  historyPage(account: string, device: string, query: HistoryPageQuery): Promise<HistoryPage> {
    return this.#session.read('cannot read history from', (sql) =>
      rollups.readPage(sql, account, device, query),
    );
  }

  historyTotals(
    queries: readonly (DeviceKey & { readonly instants: readonly number[] })[],
  ): Promise<HistoryTotals[][]> {
    return this.#inParts(queries, (sql, part) => rollups.readTotals(sql, part));
  }

  recentHistoryAndTotals(list: readonly DeviceKey[], query: RecentQuery): Promise<RecentAndTotals[]> {
    const { limit, totalsAt, instants = [] } = query;
    const since = query.since ?? Number.MIN_SAFE_INTEGER;
    return this.#inParts(list, (sql, part) =>
      changes.readRecentAndTotals(sql, part, { since, limit, totalsAt, instants }),
    );
  }

  historyBetween(list: readonly DeviceKey[], from: number, until: number): Promise<HistoryChange[][]> {
    return this.#inParts(list, (sql, part) => changes.readBetween(sql, part, from, until));
  }

  #inParts<I, R>(items: readonly I[], read: (sql: Sql, part: readonly I[]) => Promise<R[]>): Promise<R[]> {
    return inParts(this.#session, items, read);
  }

  deletedDevices(): Promise<DeletedDevice[]> {
    return this.#session.read('cannot read history from', (sql) => devices.readDeleted(sql));
  }

  async recordDeliveryProblems(changes: readonly DeliveryProblemChange[]): Promise<void> {
    if (changes.length === 0) return;
    await this.#session.write(
      'cannot save delivery problems to',
      async (sql) => {
        for (const c of changes) await devices.recordProblem(sql, c);
      },
      'several',
    );
  }

  problemPeriods(since: number): Promise<DeliveryProblemPeriod[]> {
    return this.#session.read('cannot read delivery problems from', (sql) =>
      devices.readProblemPeriods(sql, since),
    );
  }

  getAccounts(): Promise<AccountRow[]> {
    return this.#session.read('cannot read accounts from', async (sql) => {
      const { rows } = await sql<{ account: string; reachable: boolean; state: string }>(
        'SELECT account, reachable, state FROM accounts ORDER BY account',
      );
      return rows.map((r) => ({
        account: r.account,
        reachable: r.reachable,
        state: JSON.parse(r.state) as unknown,
      }));
    });
  }

  async saveAccount(row: AccountRow): Promise<void> {
    const state = json(row.state, `account ${row.account}: state`);
    await this.#session.write('cannot save an account to', (sql) =>
      sql(
        `INSERT INTO accounts (account, reachable, state) VALUES ($1, $2, $3)
         ON CONFLICT (account) DO UPDATE SET reachable = excluded.reachable, state = excluded.state`,
        [row.account, row.reachable, state],
      ),
    );
  }

  addSilence(silence: NewSilence): Promise<Silence> {
    const { account, device, until, reason, createdAt } = silence;
    return this.#session.write('cannot save a silence to', async (sql) => {
      const { rows } = await sql<Silence>(
        `INSERT INTO silences (account, device, until_at, reason, created_at) VALUES ($1, $2, $3, $4, $5)
         RETURNING ${SILENCE_COLUMNS}`,
        [account, device, until, storable(reason), createdAt],
      );
      return rows[0]!;
    });
  }

  async removeSilences(target: SilenceTarget): Promise<number> {
    if (target !== 'all' && target.account === undefined && target.device === undefined) {
      // Almost certainly a caller's bug; "remove everything" has its own spelling.
      throw new TypeError("removeSilences: empty target (pass 'all' to remove every silence)");
    }
    const where: string[] = [];
    const params: string[] = [];
    if (target !== 'all') {
      for (const [column, value] of [
        ['account', target.account],
        ['device', target.device],
      ] as const) {
        if (value === undefined) continue;
        params.push(value);
        where.push(`${column} = $${params.length}`);
      }
    }
    const filter = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
    return this.#session.write(
      'cannot remove silences from',
      async (sql) => (await sql(`DELETE FROM silences${filter}`, params)).rowCount!,
    );
  }

  activeSilences(now: number): Promise<Silence[]> {
    return this.#session.read('cannot read silences from', async (sql) => {
      const { rows } = await sql<Silence>(
        `SELECT ${SILENCE_COLUMNS} FROM silences WHERE until_at > $1 ORDER BY id`,
        [now],
      );
      return rows;
    });
  }

  async prune(before: number, options: PruneOptions = {}): Promise<PruneResult> {
    const history = await pruneInSlices(this.#session, before, options);
    return this.#session.write(
      'cannot prune',
      async (sql) => {
        const deliveryProblems = await devices.pruneProblems(sql, before);
        const silences = (await sql('DELETE FROM silences WHERE until_at < $1', [before])).rowCount!;
        return { history, silences, deliveryProblems };
      },
      'several',
    );
  }

  recordApiCall(call: NewApiCall): Promise<number> {
    const { account, at, kind, origin, caller, epoch } = call;
    return this.#session.write(
      'cannot log a call to',
      async (sql) => {
        // Readers ask for an account's rows after the last id they saw, so its ids must become
        // visible in order: one logger of the account at a time, to its COMMIT (readers are not
        // blocked, nor other accounts' loggers).
        await lockCallLog(sql, account);
        const { rows } = await sql<{ id: number }>(
          `INSERT INTO api_calls (account, at, kind, origin, caller, epoch) VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING id`,
          [account, at, kind, origin, caller, epoch],
        );
        return rows[0]!.id;
      },
      'several',
    );
  }

  apiCalls(account: string, query: ApiCallQuery = {}): Promise<ApiCallRow[]> {
    return this.#session.read('cannot read the call log from', async (sql) => {
      // In a transaction, reading the log is the first half of "is there room? then log the
      // call" (poll/call-log.ts): the account's loggers' lock, taken now, makes both halves one
      // step across processes, as SQLite's write lock does. Plain reads outside are not held up.
      if (this.#session.inTransaction && !this.#shared.readonly) await lockCallLog(sql, account);
      const { rows } = await sql<ApiCallRow>(
        `SELECT id, account, at, kind, origin, caller, epoch FROM api_calls
         WHERE account = $1 AND id > $2 AND at >= $3 AND ($4::text IS NULL OR caller <> $4)
         ORDER BY id`,
        [account, query.afterId ?? 0, query.since ?? Number.MIN_SAFE_INTEGER, query.excludeCaller ?? null],
      );
      return rows;
    });
  }

  pruneApiCalls(before: number): Promise<number> {
    return this.#session.write(
      'cannot prune the call log of',
      async (sql) => (await sql('DELETE FROM api_calls WHERE at < $1', [before])).rowCount!,
    );
  }

  getMeta(key: string): Promise<string | null> {
    return this.#session.read(
      'cannot read',
      async (sql) =>
        (await sql<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value ?? null,
    );
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#session.write('cannot write to', (sql) =>
      sql(
        'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        [key, storable(value)],
      ),
    );
  }

  transaction<T>(fn: (tx: Store) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.#session.transaction((session) => fn(new PostgresStore(this.#shared, session)), options);
  }

  acquireLease(name: string, holder: string, ttlMs: number): Promise<number | null> {
    return lease.acquireLease(this.#shared, name, holder, ttlMs);
  }
  renewLease(name: string, holder: string, epoch: number, ttlMs: number): Promise<boolean> {
    return lease.renewLease(this.#shared, name, holder, epoch, ttlMs);
  }
  releaseLease(name: string, holder: string, epoch: number): Promise<void> {
    return lease.releaseLease(this.#shared, name, holder, epoch);
  }
  leaseHolder(name: string): Promise<LeaseHolder | null> {
    return lease.leaseHolder(this.#shared, name);
  }
  setFence(fence: Fence | null): void {
    this.#shared.fence = fence;
  }

  /** Ends the pools (after the transactions in progress); later calls reject with reason `closed`. */
  close(): Promise<void> {
    const shared = this.#shared;
    shared.closed = true;
    this.#closing ??= Promise.allSettled([shared.pool.end(), shared.leasePool.end()]).then(() => undefined);
    return this.#closing;
  }
}

/** pg_advisory_xact_lock's first key for the call log: 'WGac' (the migration lock is one bigint). */
const CALL_LOG_LOCK = 0x57_47_61_63;

/**
 * The account's call-log lock, to the end of the transaction: loggers and readers-to-decide of
 * one account take turns, those of other accounts do not wait (a hash collision only makes two
 * accounts share a lock).
 */
async function lockCallLog(sql: Sql, account: string): Promise<void> {
  await sql('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CALL_LOG_LOCK, account]);
}
