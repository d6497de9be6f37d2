// The Store on SQLite, the default (SPEC §4 `store: sqlite`): the synchronous tables of
// sqlite-tables.ts and sqlite-outbox-tables.ts behind the asynchronous Store interface. Every
// promise is settled when it is returned, so a caller pays one microtask per call, not a round trip.
//
// Reads over every device (the rollups behind the status page and the audit) and the prune run in
// slices of a few milliseconds, yielding to the event loop between them (sqlite-slices.ts).
//
// A transaction spans awaits, so it is kept to itself: while one is open, calls made on the store
// (not through its `tx`) wait until it ends instead of slipping into it — they would otherwise be
// committed or rolled back with work that is not theirs.
//
// Over 350 lines: one forwarding method per Store method, each a line or two.

import type { FiringAlert, NewOutboxMessage, OutboxMessage, OutboxStore } from './outbox-store.js';
import { storeError } from './errors.js';
import { SqliteOutboxTables } from './sqlite-outbox-tables.js';
import { inPages, inSlices, pruneInSlices, type RunOn } from './sqlite-slices.js';
import { openSqliteTables, type SqliteTables, type SqliteStoreOptions } from './sqlite-tables.js';
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

export type { SqliteStoreOptions } from './sqlite-tables.js';

/**
 * Opens (creating and migrating when needed) the database at `file`; `:memory:` for tests.
 * Every failure is a StoreError whose one-line message names the file and what to do.
 */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  const tables = openSqliteTables(file, options);
  return new SqliteStore(tables, new SqliteOutboxTables(tables), new Gate(), 0, null);
}

/** Synchronous work as a settled promise: its value, or its error as the rejection. */
function runNow<R>(work: () => R): Promise<R> {
  // The executor runs at once; what it throws becomes the rejection.
  return new Promise<R>((resolve) => resolve(work()));
}

/** Runs synchronous work now, or after the open transaction when one is (see the top). */
export class Gate {
  #open = false;
  #ended: Promise<void> = Promise.resolve();

  run<R>(work: () => R): Promise<R> {
    if (this.#open) return this.#ended.then(() => this.run(work));
    return runNow(work);
  }

  async exclusive<R>(work: () => Promise<R>): Promise<R> {
    while (this.#open) await this.#ended;
    this.#open = true;
    let end!: () => void;
    this.#ended = new Promise((resolve) => (end = resolve));
    try {
      return await work();
    } finally {
      this.#open = false;
      end();
    }
  }
}

type Runner = Pick<Gate, 'run'>;

/**
 * Inside a transaction: straight through, the transaction is ours — while it lasts. A handle
 * kept past its end (a late promise) is refused: its work would otherwise slip into whatever
 * transaction is open by then, or run outside any.
 */
class Scope implements Runner {
  open = true;
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  run<R>(work: () => R): Promise<R> {
    if (!this.open) {
      return Promise.reject(
        storeError('cannot use', this.#file, 'closed', 'the transaction of this handle has ended'),
      );
    }
    return runNow(work);
  }
}

export class SqliteStore implements Store {
  readonly outbox: OutboxStore;
  readonly #tables: SqliteTables;
  readonly #outboxTables: SqliteOutboxTables;
  readonly #gate: Gate;
  readonly #run: Runner;
  /** Savepoint depth of this handle's transaction: 0 for the store itself. */
  readonly #depth: number;
  /** The transaction this handle belongs to; null for the store itself. */
  readonly #scope: Scope | null;

  /**
   * Use openSqliteStore. A transaction's handle shares the tables and the gate, one level deeper,
   * and runs its work in `scope` while that transaction lasts.
   */
  constructor(
    tables: SqliteTables,
    outboxTables: SqliteOutboxTables,
    gate: Gate,
    depth: number,
    scope: Scope | null,
  ) {
    this.#tables = tables;
    this.#outboxTables = outboxTables;
    this.#gate = gate;
    this.#depth = depth;
    this.#scope = scope;
    this.#run = scope ?? gate;
    this.outbox = new SqliteOutbox(outboxTables, this.#run, (fn) => this.transaction((tx) => fn(tx.outbox)));
  }

  get file(): string {
    return this.#tables.file;
  }

  getDevices(): Promise<DeviceRow[]> {
    // 10,000 rows and their JSON states take a hundred milliseconds: a page at a time.
    return inPages(
      (work) => this.#run.run(work),
      (after: DeviceRow | null, limit) => this.#tables.getDevices(after, limit),
      (row) => row,
      this.#scope === null,
    );
  }
  getDevice(account: string, device: string): Promise<DeviceRow | null> {
    return this.#run.run(() => this.#tables.getDevice(account, device));
  }
  saveDevices(batch: readonly DeviceSave[]): Promise<void> {
    return this.#run.run(() => this.#tables.saveDevices(batch));
  }
  removeDevice(account: string, device: string): Promise<boolean> {
    return this.#run.run(() => this.#tables.removeDevice(account, device));
  }
  appendHistory(row: HistoryRow): Promise<void> {
    return this.#run.run(() => this.#tables.appendHistory(row));
  }
  history(account: string, device: string, options?: { readonly since?: number }): Promise<HistoryRow[]> {
    return this.#run.run(() => this.#tables.history(account, device, options));
  }
  historyAll(since: number): Promise<HistoryRow[]> {
    return this.#run.run(() => this.#tables.historyAll(since));
  }
  historyPage(account: string, device: string, query: HistoryPageQuery): Promise<HistoryPage> {
    return this.#run.run(() => this.#tables.rollups.page(account, device, query));
  }
  historyTotals(
    queries: readonly (DeviceKey & { readonly instants: readonly number[] })[],
  ): Promise<HistoryTotals[][]> {
    return this.#sliced(queries, (part) => this.#tables.rollups.totals(part));
  }
  recentHistoryAndTotals(devices: readonly DeviceKey[], query: RecentQuery): Promise<RecentAndTotals[]> {
    const { limit, totalsAt, instants = [] } = query;
    const since = query.since ?? Number.MIN_SAFE_INTEGER;
    return this.#sliced(devices, (part) =>
      this.#tables.rollups.recentAndTotals(part, { since, limit, totalsAt, instants }),
    );
  }
  historyBetween(devices: readonly DeviceKey[], from: number, until: number): Promise<HistoryChange[][]> {
    return this.#sliced(devices, (part) => this.#tables.rollups.between(part, from, until));
  }
  deletedDevices(): Promise<DeletedDevice[]> {
    return this.#run.run(() => this.#tables.deletedDevices());
  }
  recordDeliveryProblems(changes: readonly DeliveryProblemChange[]): Promise<void> {
    return this.#run.run(() => this.#tables.recordDeliveryProblems(changes));
  }
  problemPeriods(since: number): Promise<DeliveryProblemPeriod[]> {
    return this.#run.run(() => this.#tables.problemPeriods(since));
  }
  getAccounts(): Promise<AccountRow[]> {
    return this.#run.run(() => this.#tables.getAccounts());
  }
  saveAccount(row: AccountRow): Promise<void> {
    return this.#run.run(() => this.#tables.saveAccount(row));
  }
  addSilence(silence: NewSilence): Promise<Silence> {
    return this.#run.run(() => this.#tables.addSilence(silence));
  }
  removeSilences(target: SilenceTarget): Promise<number> {
    return this.#run.run(() => this.#tables.removeSilences(target));
  }
  activeSilences(now: number): Promise<Silence[]> {
    return this.#run.run(() => this.#tables.activeSilences(now));
  }
  async prune(before: number, options: PruneOptions = {}): Promise<PruneResult> {
    const run: RunOn = (work) => this.#run.run(work);
    // Inside a transaction the lock is held anyway: slices, but no yielding (sqlite-slices.ts).
    const history = await pruneInSlices(run, this.#tables.rollups, before, options, this.#scope === null);
    const others = await this.#run.run(() => this.#tables.pruneOthers(before));
    return { history, ...others };
  }
  recordApiCall(call: NewApiCall): Promise<number> {
    return this.#run.run(() => this.#tables.recordApiCall(call));
  }
  apiCalls(account: string, query?: ApiCallQuery): Promise<ApiCallRow[]> {
    return this.#run.run(() => this.#tables.apiCalls(account, query));
  }
  pruneApiCalls(before: number): Promise<number> {
    return this.#run.run(() => this.#tables.pruneApiCalls(before));
  }
  getMeta(key: string): Promise<string | null> {
    return this.#run.run(() => this.#tables.getMeta(key));
  }
  setMeta(key: string, value: string): Promise<void> {
    return this.#run.run(() => this.#tables.setMeta(key, value));
  }

  #sliced<I, R>(items: readonly I[], read: (part: readonly I[]) => R[]): Promise<R[]> {
    return inSlices((work) => this.#run.run(work), items, read, this.#scope === null);
  }

  transaction<T>(fn: (tx: Store) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const depth = this.#depth;
    const body = async (): Promise<T> => {
      this.#tables.begin(depth, options);
      const scope = new Scope(this.#tables.file);
      let result: T;
      try {
        result = await fn(new SqliteStore(this.#tables, this.#outboxTables, this.#gate, depth + 1, scope));
      } catch (err) {
        scope.open = false;
        this.#tables.rollback(depth);
        throw err;
      }
      scope.open = false;
      try {
        this.#tables.commit(depth);
      } catch (err) {
        this.#tables.rollback(depth);
        throw err;
      }
      return result;
    };
    if (depth === 0) return this.#gate.exclusive(body);
    // A nested transaction through a handle whose own transaction has ended: refused as its calls are.
    return this.#scope!.run(() => undefined).then(body);
  }

  close(): Promise<void> {
    // Not gated: a close during an open transaction ends it (SQLite rolls it back).
    this.#tables.close();
    return Promise.resolve();
  }
}

/** The OutboxStore on the same connection and gate as its SqliteStore. */
class SqliteOutbox implements OutboxStore {
  readonly #tables: SqliteOutboxTables;
  readonly #run: Runner;
  readonly #transaction: <T>(fn: (tx: OutboxStore) => Promise<T>) => Promise<T>;

  constructor(
    tables: SqliteOutboxTables,
    run: Runner,
    transaction: <T>(fn: (tx: OutboxStore) => Promise<T>) => Promise<T>,
  ) {
    this.#tables = tables;
    this.#run = run;
    this.#transaction = transaction;
  }

  transaction<T>(fn: (tx: OutboxStore) => Promise<T>): Promise<T> {
    return this.#transaction(fn);
  }
  enqueue(messages: readonly NewOutboxMessage[], options?: { readonly grouped?: boolean }): Promise<void> {
    return this.#run.run(() => this.#tables.enqueue(messages, options));
  }
  hold(events: readonly NewOutboxMessage[]): Promise<void> {
    return this.#run.run(() => this.#tables.hold(events));
  }
  held(): Promise<OutboxMessage[]> {
    return this.#run.run(() => this.#tables.held());
  }
  removeHeld(ids: readonly number[]): Promise<number> {
    return this.#run.run(() => this.#tables.removeHeld(ids));
  }
  markCancelled(ids: readonly number[], at: number, note: string): Promise<void> {
    return this.#run.run(() => this.#tables.markCancelled(ids, at, note));
  }
  lastGroupedAt(): Promise<Map<string, number>> {
    return this.#run.run(() => this.#tables.lastGroupedAt());
  }
  heads(): Promise<OutboxMessage[]> {
    return this.#run.run(() => this.#tables.heads());
  }
  markSent(id: number, at: number, attempts: number): Promise<void> {
    return this.#run.run(() => this.#tables.markSent(id, at, attempts));
  }
  markRetry(id: number, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    return this.#run.run(() => this.#tables.markRetry(id, attempts, nextAttemptAt, error));
  }
  markDropped(id: number, at: number, attempts: number, error: string): Promise<void> {
    return this.#run.run(() => this.#tables.markDropped(id, at, attempts, error));
  }
  markAttempting(id: number, attempts: number): Promise<boolean> {
    return this.#run.run(() => this.#tables.markAttempting(id, attempts));
  }
  setPayload(id: number, payload: unknown): Promise<void> {
    return this.#run.run(() => this.#tables.setPayload(id, payload));
  }
  markMerged(id: number, at: number, intoDeliveryId: string): Promise<void> {
    return this.#run.run(() => this.#tables.markMerged(id, at, intoDeliveryId));
  }
  retryNow(now: number): Promise<number> {
    return this.#run.run(() => this.#tables.retryNow(now));
  }
  unattemptedAfter(channel: string, afterId: number, limit: number): Promise<OutboxMessage[]> {
    return this.#run.run(() => this.#tables.unattemptedAfter(channel, afterId, limit));
  }
  head(channel: string): Promise<OutboxMessage | null> {
    return this.#run.run(() => this.#tables.head(channel));
  }
  expired(createdBefore: number): Promise<OutboxMessage[]> {
    return this.#run.run(() => this.#tables.expired(createdBefore));
  }
  pendingCounts(): Promise<Map<string, number>> {
    return this.#run.run(() => this.#tables.pendingCounts());
  }
  find(deliveryId: string): Promise<OutboxMessage | null> {
    return this.#run.run(() => this.#tables.find(deliveryId));
  }
  prune(before: number): Promise<number> {
    return this.#run.run(() => this.#tables.prune(before));
  }
  putFiring(alert: FiringAlert): Promise<void> {
    return this.#run.run(() => this.#tables.putFiring(alert));
  }
  deleteFiring(channel: string, key: string): Promise<boolean> {
    return this.#run.run(() => this.#tables.deleteFiring(channel, key));
  }
  firing(): Promise<FiringAlert[]> {
    return this.#run.run(() => this.#tables.firing());
  }
}
