// The account's call log in the store (SPEC §3 "Budget": the call log lives in the store), as the
// daemon's metered gateway uses it. Every call is written BEFORE it is made, in the same
// transaction that read the calls other processes (the CLI's `status --live`, `connect`,
// `delete`, another replica) logged since the last look, so the decision "there is room" and the
// record of the call are one atomic step across processes: the store's transaction orders the
// daemon and the CLI (SQLite: its write lock).
//
// Reservations are taken one at a time, in the order asked: two at once would both read the same
// foreign rows (counting them twice) and could log out of the order they were decided. They are
// batched (issue 17) in a first-in, first-out queue, one reservation after the other inside each
// transaction, which keeps that order for each account's: the reservations of every account
// asked in the same turn of the event loop — the checks that one coalesced wake-up starts
// (timer-grid.ts) — share ONE transaction of the store, each still reading the other processes'
// rows and logging its row at the time it is decided, before its call is made. A transaction per
// call cost a COMMIT per call (a WAL write, and the checkpoints after), 167 a second at 10,000
// devices. The batch is the store's (one per store and clock, like the store's own write lock);
// a store that fails fails the batch, and each reservation in it then does what it would have
// done alone (below).
//
// The store holds wall times (comparable across processes); the budget runs on this process's
// monotonic clock. Rows are converted once, as they are read (monitor/clock.ts `monotonicOf`).
//
// A store that fails (disk full, a lock held by an operator's VACUUM):
// - single node (the default): must not stop the checks. The in-memory budget still holds for
//   this process, the failure is logged, and the store is left alone for a while so a held lock
//   does not block the event loop at every call.
// - HA (`strict`): a call that could not be logged is not made. Another replica taking over counts
//   only the calls it can read, so an unlogged call could push the replicas together past the
//   rate (SPEC §11); a deposed holder's log write fails by its fence and so makes no call either,
//   and a holder whose lease lapsed on its own clock (no epoch to log under) asks nothing.

import { randomUUID } from 'node:crypto';
import type { CallKind } from '../monitor/budget.js';
import { BUDGET_MARGIN_MS, BUDGET_WINDOW_MS } from '../monitor/budget.js';
import { monotonicOf, type Clock } from '../monitor/clock.js';
import type { ApiCallOrigin, ApiCallRow, Store } from '../store/store.js';
import { startTimer } from './nap.js';

/** A call another process logged, on this process's monotonic clock. */
export interface LoggedCall {
  readonly at: number;
  readonly kind: CallKind;
}

/** What the metered gateway needs of the log. */
export interface CallLog {
  /**
   * The calls of the last window (and margin) that the budget does not know yet, on the monotonic
   * clock: at the first call, every logged call (a restart, a takeover); later, those other
   * processes logged since the last look (a standby refreshing). Rejects only in strict mode.
   */
  restore(): Promise<LoggedCall[]>;
  /**
   * Reads the calls other processes logged since the last look, gives them to `decide` (which
   * adds them to the budget and says whether a call of `kind` may start now, synchronously), and
   * logs the call when it may. Resolves with whether the call may be made; never rejects.
   */
  reserve(kind: CallKind, decide: (foreign: readonly LoggedCall[]) => boolean): Promise<boolean>;
}

export interface StoredCallLogOptions {
  readonly store: Store;
  readonly account: string;
  readonly clock: Clock;
  readonly origin: ApiCallOrigin;
  readonly onWarn?: (message: string) => void;
  /** This process's token in the log; tests give two logs in one process different ones. */
  readonly caller?: string;
  /** The HA lease epoch a call is made under, logged with it; null (or absent) without HA. */
  readonly epoch?: () => number | null;
  /**
   * HA: a call that could not be logged is not made (`reserve` resolves false), nor one without
   * an epoch (this replica does not lead), and a failed `restore` rejects. Default false: a single
   * node goes on unlogged for a while (see the top).
   */
  readonly strict?: boolean;
  /** The batch its reservations join; default the one of `store` and `clock` (see the top). */
  readonly batch?: CallLogBatch;
  /**
   * A call could not be logged (the error), or one was logged after that (null): the store's
   * health as the call log sees it. With routine rows written only every few minutes, the call
   * log is often the first write to find a full disk.
   */
  readonly onStoreWrite?: (failure: unknown) => void;
}

/** How far back rows are read and kept: the budget's span, and as much again for clock skew. */
const KEEP_MS = 2 * (BUDGET_WINDOW_MS + BUDGET_MARGIN_MS);
const PRUNE_EVERY_MS = BUDGET_WINDOW_MS;
/** After a store failure, calls go unlogged this long before the store is tried again (not strict). */
const RETRY_STORE_AFTER_MS = 30_000;
/** Strict: the store is tried at every call, but a failing one is reported this often at most. */
const WARN_EVERY_MS = 30_000;

// One token per process: tells this process's rows from the others' (a restarted daemon is another).
const PROCESS_CALLER = `${process.pid}-${randomUUID()}`;

interface BatchedWork {
  /** The account: a batch logs its accounts in name order (below). */
  readonly account: string;
  readonly work: (tx: Store) => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * The reservations of every account on one store, written together: what is asked while a
 * transaction is being made waits for the next; what is asked in one turn of the event loop
 * goes in one. On the system clock the batch starts on a 0 ms timer (after the turn's other
 * reservations joined); on a clock without timers (tests) at once, in a microtask.
 */
export class CallLogBatch {
  readonly #store: Store;
  readonly #clock: Clock;
  #pending: BatchedWork[] = [];
  #running = false;
  #prunedAt = Number.NEGATIVE_INFINITY;

  constructor(store: Store, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Runs `work` (for `account`) inside the next batch's transaction; resolves once that committed. */
  run(account: string, work: (tx: Store) => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ account, work, resolve, reject });
      if (this.#running) return;
      this.#running = true;
      startTimer(this.#clock, 0, () => void this.#drain());
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      // In account name order, each account's in the order asked (a stable sort): a store that
      // locks each account's log to the end of the transaction (PostgreSQL) then sees every
      // batch take its locks in one order, and two batches cannot wait for each other.
      const batch = this.#pending.sort(byAccount);
      this.#pending = [];
      try {
        await this.#store.transaction(async (tx) => {
          for (const item of batch) await item.work(tx);
          // Old rows go once a window, whichever account's reservation is there to do it.
          const mono = this.#clock.monotonic();
          if (mono - this.#prunedAt >= PRUNE_EVERY_MS) {
            this.#prunedAt = mono;
            await tx.pruneApiCalls(this.#clock.now() - KEEP_MS);
          }
        });
      } catch (err) {
        for (const item of batch) item.reject(err);
        continue;
      }
      for (const item of batch) item.resolve();
    }
    this.#running = false;
  }
}

function byAccount(a: BatchedWork, b: BatchedWork): number {
  return a.account < b.account ? -1 : a.account > b.account ? 1 : 0;
}

// The batch of each store (and clock): shared by the call logs of every account on it.
const batches = new WeakMap<Store, WeakMap<Clock, CallLogBatch>>();

function batchOf(store: Store, clock: Clock): CallLogBatch {
  let byClock = batches.get(store);
  if (byClock === undefined) {
    byClock = new WeakMap();
    batches.set(store, byClock);
  }
  let batch = byClock.get(clock);
  if (batch === undefined) {
    batch = new CallLogBatch(store, clock);
    byClock.set(clock, batch);
  }
  return batch;
}

export class StoredCallLog implements CallLog {
  readonly #store: Store;
  readonly #account: string;
  readonly #clock: Clock;
  readonly #origin: ApiCallOrigin;
  readonly #onWarn: (message: string) => void;
  readonly #caller: string;
  readonly #epoch: () => number | null;
  readonly #strict: boolean;
  readonly #batch: CallLogBatch;
  readonly #onStoreWrite: (failure: unknown) => void;
  /** The last attempt to log a call failed: the next that succeeds reports it (onStoreWrite). */
  #writeFailing = false;
  /** The newest row id seen (read or written); 0 before the first restore or reservation. */
  #lastId = 0;
  #restored = false;
  #failedAt = Number.NEGATIVE_INFINITY;
  #warnedAt = Number.NEGATIVE_INFINITY;
  /** The restore before the next one: restores run one at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: StoredCallLogOptions) {
    this.#store = options.store;
    this.#account = options.account;
    this.#clock = options.clock;
    this.#origin = options.origin;
    this.#onWarn = options.onWarn ?? (() => undefined);
    this.#caller = options.caller ?? PROCESS_CALLER;
    this.#epoch = options.epoch ?? (() => null);
    this.#strict = options.strict === true;
    this.#batch = options.batch ?? batchOf(options.store, options.clock);
    this.#onStoreWrite = options.onStoreWrite ?? (() => undefined);
  }

  restore(): Promise<LoggedCall[]> {
    return this.#serialized(() => this.#restore());
  }

  reserve(kind: CallKind, decide: (foreign: readonly LoggedCall[]) => boolean): Promise<boolean> {
    // Not #serialized: the batch runs reservations one after another, in the order asked.
    return this.#reserve(kind, decide);
  }

  async #restore(): Promise<LoggedCall[]> {
    const since = this.#clock.now() - KEEP_MS;
    try {
      // The first restore counts every logged call, this process's token included (a poller made
      // anew in the same process must count its predecessor's calls); later ones only what other
      // processes logged since: this one's are in the budget already.
      const rows = await this.#store.apiCalls(
        this.#account,
        this.#restored ? { afterId: this.#lastId, since, excludeCaller: this.#caller } : { since },
      );
      this.#restored = true;
      return this.#seen(rows);
    } catch (err) {
      this.#failed('could not restore the call log', err);
      if (this.#strict) throw err;
      return [];
    }
  }

  async #reserve(kind: CallKind, decide: (foreign: readonly LoggedCall[]) => boolean): Promise<boolean> {
    const mono = this.#clock.monotonic();
    if (!this.#strict && mono - this.#failedAt < RETRY_STORE_AFTER_MS) return decide([]);
    const epoch = this.#epoch();
    // Not leading (the lease lapsed on this replica's clock, or it stands by): no call. Not
    // warned: the daemon says when it loses the lease, and a standby asks only by a race.
    if (this.#strict && epoch === null) return false;
    let decided: boolean | undefined;
    let loggedId: number | undefined;
    try {
      await this.#batch.run(this.#account, async (tx) => {
        const now = this.#clock.now();
        // The lease may have lapsed since it was asked (the batch waited for its turn).
        const epochNow = this.#strict ? this.#epoch() : epoch;
        if (this.#strict && epochNow === null) {
          decided = false;
          return;
        }
        const rows = await tx.apiCalls(this.#account, {
          afterId: this.#lastId,
          since: now - KEEP_MS,
          excludeCaller: this.#caller,
        });
        decided = decide(this.#seen(rows));
        if (!decided) return;
        loggedId = await tx.recordApiCall({
          account: this.#account,
          at: now,
          kind,
          origin: this.#origin,
          caller: this.#caller,
          epoch: epochNow,
        });
      });
    } catch (err) {
      this.#writeFailing = true;
      this.#reportStoreWrite(err);
      this.#failed('could not log a call', err);
      // Strict: not made. When `decide` had said yes, the budget counts a call that was never
      // made: a slot lost, on the safe side.
      if (this.#strict) return false;
      // Decided but not logged: the call goes ahead on the in-memory budget alone.
      decided ??= decide([]);
      return decided;
    }
    // Only once committed: an id rolled back may be handed out again to another process's row.
    if (loggedId !== undefined) {
      this.#lastId = Math.max(this.#lastId, loggedId);
      if (this.#writeFailing) {
        this.#writeFailing = false;
        this.#reportStoreWrite(null);
      }
    }
    return decided ?? false;
  }

  /** Other processes' rows, on the monotonic clock; remembers the newest id. */
  #seen(rows: readonly ApiCallRow[]): LoggedCall[] {
    for (const row of rows) this.#lastId = Math.max(this.#lastId, row.id);
    return rows.map((row) => ({ at: monotonicOf(this.#clock, row.at), kind: row.kind }));
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #reportStoreWrite(failure: unknown): void {
    try {
      this.#onStoreWrite(failure);
    } catch {
      // a throwing listener must not stop a check
    }
  }

  #failed(what: string, err: unknown): void {
    const mono = this.#clock.monotonic();
    this.#failedAt = mono;
    // Not strict: one line per RETRY_STORE_AFTER_MS by construction. Strict tries at every call.
    if (mono - this.#warnedAt < WARN_EVERY_MS) return;
    this.#warnedAt = mono;
    const reason = err instanceof Error ? err.message : String(err);
    const then = this.#strict
      ? 'no call is made until it can be logged (HA: another replica must be able to count it)'
      : `calls go on within this process's budget, unlogged for ${RETRY_STORE_AFTER_MS / 1000} s`;
    try {
      this.#onWarn(`account ${this.#account}: ${what} in the store (${reason}); ${then}`);
    } catch {
      // a throwing logger must not stop a check
    }
  }
}
