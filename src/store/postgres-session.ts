// Where the PostgreSQL store's statements run, and under which guarantees. The store's and the
// outbox's methods say what they do (`read` or `write`, one statement or several); a session
// decides how:
//
// - On the store itself (PoolSession), a read runs on any pooled connection. A write runs in a
//   transaction of its own — unless it is one statement and no fence is set: one statement is
//   atomic by itself, and BEGIN/COMMIT would only add round trips.
// - In a transaction (TxSession), everything runs on its connection. Nested transactions are
//   savepoints; a write of several statements is one too, so that it is kept whole or not at all.
//
// The fence (SPEC §11, lease.ts): once set, the first write of each transaction first runs
// `SELECT epoch FROM ha_lease WHERE name = $1 FOR SHARE` and refuses (reason `deposed`) unless the
// epoch is the fence's. The row lock is held to COMMIT, so a takeover's UPDATE of that row waits
// for the write to commit: a write lands before the takeover, or is refused. Reads are not fenced.
//
// Nothing waits unbounded (a leader paused or cut off mid-transaction must not hold the lease row
// and the call-log lock for good): every transaction starts with SET LOCAL
// idle_in_transaction_session_timeout, lock_timeout and statement_timeout (Limits) — SET LOCAL, as
// behind PgBouncer in transaction mode a session-level SET would stick to someone else's session.
// The server ends a session idle in a transaction past its limit, and its locks go with it. The
// lease's statements run on a small pool of their own (leaseStatement), so transactions waiting
// for connections never hold up a renewal, each bounded on the server and by the client.
//
// PostgreSQL aborts a transaction at its first failed statement (SQLite only undoes the
// statement). So a failure marks its level failed: later calls there reject at once, and the
// level rolls back rather than commit — no COMMIT ever silently turns into a rollback.
//
// Over 350 lines: the two sessions and the fence must agree on every path, so they stay side
// by side.

import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { StoreError, storeError } from './errors.js';
import type { Fence } from './lease.js';
import { fromPgError } from './postgres-errors.js';
import type { TransactionOptions } from './store.js';

export type Sql = <R extends QueryResultRow = QueryResultRow>(
  text: string,
  values?: readonly unknown[],
) => Promise<QueryResult<R>>;

/** `several`: the write has more than one statement, and must be kept whole. */
export type WriteShape = 'one' | 'several';

export interface Session {
  /** Statements run in a transaction (or a savepoint) that spans this session's calls. */
  readonly inTransaction: boolean;
  /** Not fenced: reads, and the lease's own statements. `doing` starts the error message. */
  read<T>(doing: string, work: (sql: Sql) => Promise<T>): Promise<T>;
  /** Fenced, and kept whole (`several` statements in a transaction or savepoint of their own). */
  write<T>(doing: string, work: (sql: Sql) => Promise<T>, shape?: WriteShape): Promise<T>;
  transaction<T>(work: (session: Session) => Promise<T>, options?: TransactionOptions): Promise<T>;
}

/** How long the server lets a transaction of the store wait, in ms; 0 is no limit (PostgreSQL's). */
export interface Limits {
  /** A transaction left idle (its process paused, or cut off) this long ends, its locks freed. */
  readonly idleInTransactionMs: number;
  /** A statement waiting this long for a lock fails (reason `locked`); a transaction's busyTimeoutMs overrides it. */
  readonly lockMs: number;
  /** A statement running this long is cancelled (reason `locked`). */
  readonly statementMs: number;
  /** The lease statements' lock and statement timeout; the client gives up LEASE_GRACE_MS later. */
  readonly leaseStatementMs: number;
}

/**
 * A few seconds each: the store's transactions take milliseconds, and nothing else is done while
 * one is open. The lease statements are bounded well under the shortest lease (5 s).
 */
export const DEFAULT_LIMITS: Limits = {
  idleInTransactionMs: 5_000,
  lockMs: 5_000,
  statementMs: 10_000,
  leaseStatementMs: 2_000,
};

/** How much longer than the server's bound the client waits for a lease statement's answer. */
export const LEASE_GRACE_MS = 1_000;

/** What every session of one store shares: the pools, the fence, whether it is closed. */
export class Shared {
  fence: Fence | null = null;
  closed = false;

  constructor(
    readonly pool: Pool,
    /** `host:port/db`, for messages. */
    readonly where: string,
    /** Cut out of messages, should a server ever echo them. */
    readonly secrets: readonly string[],
    /** Opened for reading only (the CLI's readers): every write is refused, as SQLite's are. */
    readonly readonly = false,
    readonly limits: Limits = DEFAULT_LIMITS,
    /** The lease statements' own pool (leaseStatement). */
    readonly leasePool: Pool = pool,
  ) {}

  /** Database failures become StoreErrors naming the database; a caller's own errors pass unchanged. */
  error(err: unknown, doing: string): unknown {
    return fromPgError(err, doing, this.where, this.secrets) ?? err;
  }

  refuseIfClosed(doing: string): void {
    if (this.closed) throw storeError(doing, this.where, 'closed', 'the store is closed');
  }

  refuseIfReadonly(doing: string): void {
    if (this.readonly) {
      throw storeError(doing, this.where, 'readonly', 'the store was opened read-only, so it cannot write');
    }
  }
}

function sqlOf(client: Pick<Pool, 'query'>): Sql {
  return (text, values) => client.query(text, values as unknown[] | undefined);
}

export class PoolSession implements Session {
  readonly inTransaction = false;
  readonly #shared: Shared;

  constructor(shared: Shared) {
    this.#shared = shared;
  }

  async read<T>(doing: string, work: (sql: Sql) => Promise<T>): Promise<T> {
    this.#shared.refuseIfClosed(doing);
    try {
      return await work(sqlOf(this.#shared.pool));
    } catch (err) {
      throw this.#shared.error(err, doing);
    }
  }

  async write<T>(doing: string, work: (sql: Sql) => Promise<T>, shape: WriteShape = 'one'): Promise<T> {
    this.#shared.refuseIfClosed(doing);
    this.#shared.refuseIfReadonly(doing);
    if (shape === 'one' && this.#shared.fence === null) return this.read(doing, work);
    return this.transaction((tx) => tx.write(doing, work, 'one'), {}, doing);
  }

  async transaction<T>(
    work: (session: Session) => Promise<T>,
    options: TransactionOptions = {},
    doing = 'cannot write to',
  ): Promise<T> {
    const shared = this.#shared;
    shared.refuseIfClosed(doing);
    let client: PoolClient;
    try {
      client = await shared.pool.connect();
    } catch (err) {
      throw shared.error(err, doing);
    }
    // A connection lost while checked out emits 'error' on the client: without a listener, that
    // would end the process. The failed query reports it.
    const ignore = (): void => undefined;
    client.on('error', ignore);
    let broken: Error | undefined;
    const tx = new TxSession(shared, client, 1);
    try {
      // A statement failed right after BEGIN: the connection may be in an aborted transaction.
      await tx.begin(options, doing).catch((e: unknown) => {
        broken = e as Error;
        throw e;
      });
      let result: T;
      try {
        result = await work(tx);
      } catch (err) {
        await tx.end('ROLLBACK').catch((e: unknown) => (broken = e as Error));
        throw err;
      }
      const failed = tx.failure;
      if (failed !== null) {
        await tx.end('ROLLBACK').catch((e: unknown) => (broken = e as Error));
        throw failed;
      }
      await tx.end('COMMIT', doing).catch((e: unknown) => {
        broken = e as Error;
        throw e;
      });
      return result;
    } finally {
      tx.closed = true;
      client.off('error', ignore);
      // A connection whose ROLLBACK or COMMIT failed is in an unknown state: not back to the pool.
      client.release(broken);
    }
  }
}

/** One level of a transaction: the transaction itself (depth 1), or a savepoint in it. */
class TxSession implements Session {
  readonly inTransaction = true;
  /** The error that aborted this level, if one did. */
  failure: StoreError | null = null;
  /** Set once the level ended: calls through a handle kept past it are refused. */
  closed = false;
  /** The level (this or deeper) whose fence check holds the lease row locked; see checkFence. */
  #fenced: { depth: number; fence: Fence } | null = null;
  readonly #shared: Shared;
  readonly #client: PoolClient;
  readonly #depth: number;
  readonly #parent: TxSession | null;

  constructor(shared: Shared, client: PoolClient, depth: number, parent: TxSession | null = null) {
    this.#shared = shared;
    this.#client = client;
    this.#depth = depth;
    this.#parent = parent;
  }

  async begin(options: TransactionOptions, doing: string): Promise<void> {
    const { idleInTransactionMs, lockMs, statementMs } = this.#shared.limits;
    // 0 would mean "wait forever" to PostgreSQL; the option means "barely wait".
    const lock =
      options.busyTimeoutMs === undefined ? lockMs : Math.max(1, Math.floor(options.busyTimeoutMs));
    try {
      // One round trip.
      await this.#client.query(
        `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${idleInTransactionMs};
         SET LOCAL lock_timeout = ${lock}; SET LOCAL statement_timeout = ${statementMs}`,
      );
    } catch (err) {
      throw this.#shared.error(err, doing);
    }
  }

  /** Ends the transaction (depth 1). A COMMIT the server turned into a ROLLBACK is an error. */
  async end(how: 'COMMIT' | 'ROLLBACK', doing = 'cannot write to'): Promise<void> {
    this.closed = true;
    let result: QueryResult;
    try {
      result = await this.#client.query(how);
    } catch (err) {
      throw this.#shared.error(err, doing);
    }
    if (how === 'COMMIT' && result.command === 'ROLLBACK') {
      throw storeError(doing, this.#shared.where, 'other', 'the transaction was rolled back by the server');
    }
  }

  read<T>(doing: string, work: (sql: Sql) => Promise<T>): Promise<T> {
    return this.#run(doing, work);
  }

  write<T>(doing: string, work: (sql: Sql) => Promise<T>, shape: WriteShape = 'one'): Promise<T> {
    if (shape === 'several') return this.transaction((inner) => inner.write(doing, work, 'one'), {}, doing);
    return this.#run(doing, async (sql) => {
      this.#shared.refuseIfReadonly(doing);
      await this.#checkFence(doing);
      return work(sql);
    });
  }

  /** A savepoint; its handle runs on this transaction's connection, one level deeper. */
  async transaction<T>(
    work: (session: Session) => Promise<T>,
    _options?: TransactionOptions,
    doing = 'cannot write to',
  ): Promise<T> {
    const name = `s${this.#depth + 1}`;
    await this.#run(doing, (sql) => sql(`SAVEPOINT ${name}`));
    const inner = new TxSession(this.#shared, this.#client, this.#depth + 1, this);
    const root = this.#root();
    let result: T;
    try {
      result = await work(inner);
      if (inner.failure !== null) throw inner.failure;
    } catch (err) {
      inner.closed = true;
      try {
        await this.#run(doing, (sql) => sql(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`));
      } catch {
        // #run marked this level failed: it rolls back too
      }
      // A row lock taken in the savepoint is gone with it.
      if (root.#fenced !== null && root.#fenced.depth > this.#depth) root.#fenced = null;
      throw err;
    }
    inner.closed = true;
    await this.#run(doing, (sql) => sql(`RELEASE SAVEPOINT ${name}`));
    // …and one taken in a savepoint that is released belongs to this level now.
    if (root.#fenced !== null && root.#fenced.depth > this.#depth) {
      root.#fenced = { depth: this.#depth, fence: root.#fenced.fence };
    }
    return result;
  }

  /** The fence check's state lives on the transaction's top level, shared by its savepoints. */
  #root(): TxSession {
    return this.#parent === null ? this : this.#parent.#root();
  }

  async #checkFence(doing: string): Promise<void> {
    const fence = this.#shared.fence;
    if (fence === null) return;
    const root = this.#root();
    if (root.#fenced?.fence === fence) return;
    const shared = this.#shared;
    if (fence.epoch === null) {
      throw storeError(
        doing,
        shared.where,
        'deposed',
        `this replica holds no lease "${fence.lease}" (a standby): it writes nothing`,
      );
    }
    const { rows } = await this.#client.query<{ epoch: number }>(
      'SELECT epoch FROM ha_lease WHERE name = $1 FOR SHARE',
      [fence.lease],
    );
    const epoch = rows[0]?.epoch;
    if (epoch !== fence.epoch) {
      throw storeError(
        doing,
        shared.where,
        'deposed',
        epoch === undefined
          ? `the lease "${fence.lease}" is gone from the database (this replica held epoch ${fence.epoch}): it writes nothing`
          : `another replica holds the lease "${fence.lease}" at epoch ${epoch} (this one held epoch ${fence.epoch}): it is deposed and writes nothing`,
      );
    }
    root.#fenced = { depth: this.#depth, fence };
  }

  async #run<T>(doing: string, work: (sql: Sql) => Promise<T>): Promise<T> {
    const shared = this.#shared;
    shared.refuseIfClosed(doing);
    if (this.closed) {
      throw storeError(doing, shared.where, 'closed', 'the transaction of this handle has ended');
    }
    if (this.failure !== null) {
      throw storeError(
        doing,
        shared.where,
        this.failure.reason,
        `this transaction failed before and is rolled back (${this.failure.message})`,
      );
    }
    try {
      return await work(sqlOf(this.#client));
    } catch (err) {
      const mapped = shared.error(err, doing);
      // Only the server's errors abort the transaction; ours (a refused fence, a TypeError) do not.
      if (mapped instanceof StoreError && mapped !== err) this.failure = mapped;
      throw mapped;
    }
  }
}

/**
 * One statement of the lease, on the lease's own pool: `statement` with its values written in
 * (escapeLiteral), as a simple query behind SET LOCAL lock_timeout and statement_timeout, so the
 * three run as one implicit transaction in one round trip — no session state, fit for PgBouncer.
 * The lease pool's client-side query_timeout ends a hung connection's wait (the pool then drops
 * it). A mere read of the lease runs on the store's pool instead (`pool`), so that readers never
 * keep a renewal waiting for a connection.
 */
export async function leaseStatement<R extends QueryResultRow = QueryResultRow>(
  shared: Shared,
  doing: string,
  statement: string,
  pool: Pool = shared.leasePool,
): Promise<QueryResult<R>> {
  shared.refuseIfClosed(doing);
  const ms = shared.limits.leaseStatementMs;
  let results: QueryResult<R>[];
  try {
    results = (await pool.query(
      `SET LOCAL lock_timeout = ${ms}; SET LOCAL statement_timeout = ${ms}; ${statement}`,
    )) as unknown as QueryResult<R>[];
  } catch (err) {
    throw shared.error(err, doing);
  }
  return results[results.length - 1]!;
}
