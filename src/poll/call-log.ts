// The account's call log in the store (SPEC §3 "Budget": the call log lives in the store), as the
// daemon's metered gateway uses it. Every call is written BEFORE it is made, in the same
// transaction that read the calls other processes (the CLI's `status --live`, `connect`,
// `delete`) logged since the last look, so the decision "there is room" and the record of the
// call are one atomic step across processes: SQLite's write lock orders the daemon and the CLI.
//
// The store holds wall times (comparable across processes); the budget runs on this process's
// monotonic clock. Rows are converted once, as they are read (monitor/clock.ts `monotonicOf`).
//
// A store that fails (disk full, a lock held by an operator's VACUUM) must not stop the checks:
// the in-memory budget still holds for this process, the failure is logged, and the store is left
// alone for a while so a held lock does not block the event loop at every call.

import { randomUUID } from 'node:crypto';
import type { CallKind } from '../monitor/budget.js';
import { BUDGET_MARGIN_MS, BUDGET_WINDOW_MS } from '../monitor/budget.js';
import { monotonicOf, type Clock } from '../monitor/clock.js';
import type { ApiCallOrigin, Store } from '../store/store.js';

/** A call another process logged, on this process's monotonic clock. */
export interface LoggedCall {
  readonly at: number;
  readonly kind: CallKind;
}

/** What the metered gateway needs of the log. */
export interface CallLog {
  /** The calls of the last window (and margin) logged before this process started, on the monotonic clock. */
  restore(): LoggedCall[];
  /**
   * Reads the calls other processes logged since the last look, gives them to `decide` (which
   * adds them to the budget and says whether a call of `kind` may start now), and logs the call
   * when it may. Returns `decide`'s answer; never throws.
   */
  reserve(kind: CallKind, decide: (foreign: readonly LoggedCall[]) => boolean): boolean;
}

export interface StoredCallLogOptions {
  readonly store: Store;
  readonly account: string;
  readonly clock: Clock;
  readonly origin: ApiCallOrigin;
  readonly onWarn?: (message: string) => void;
  /** This process's token in the log; tests give two logs in one process different ones. */
  readonly caller?: string;
}

/** How far back rows are read and kept: the budget's span, and as much again for clock skew. */
const KEEP_MS = 2 * (BUDGET_WINDOW_MS + BUDGET_MARGIN_MS);
const PRUNE_EVERY_MS = BUDGET_WINDOW_MS;
/** After a store failure, calls go unlogged this long before the store is tried again. */
const RETRY_STORE_AFTER_MS = 30_000;

// One token per process: tells this process's rows from the others' (a restarted daemon is another).
const PROCESS_CALLER = `${process.pid}-${randomUUID()}`;

export class StoredCallLog implements CallLog {
  readonly #store: Store;
  readonly #account: string;
  readonly #clock: Clock;
  readonly #origin: ApiCallOrigin;
  readonly #onWarn: (message: string) => void;
  readonly #caller: string;
  #lastId = 0;
  #prunedAt = Number.NEGATIVE_INFINITY;
  #failedAt = Number.NEGATIVE_INFINITY;

  constructor(options: StoredCallLogOptions) {
    this.#store = options.store;
    this.#account = options.account;
    this.#clock = options.clock;
    this.#origin = options.origin;
    this.#onWarn = options.onWarn ?? (() => undefined);
    this.#caller = options.caller ?? PROCESS_CALLER;
  }

  restore(): LoggedCall[] {
    try {
      const rows = this.#store.apiCalls(this.#account, { since: this.#clock.now() - KEEP_MS });
      for (const row of rows) this.#lastId = Math.max(this.#lastId, row.id);
      return rows.map((row) => ({ at: monotonicOf(this.#clock, row.at), kind: row.kind }));
    } catch (err) {
      this.#failed('could not restore the call log', err);
      return [];
    }
  }

  reserve(kind: CallKind, decide: (foreign: readonly LoggedCall[]) => boolean): boolean {
    const mono = this.#clock.monotonic();
    if (mono - this.#failedAt < RETRY_STORE_AFTER_MS) return decide([]);
    let decided: boolean | undefined;
    try {
      this.#store.transaction(() => {
        const now = this.#clock.now();
        const rows = this.#store.apiCalls(this.#account, {
          afterId: this.#lastId,
          since: now - KEEP_MS,
          excludeCaller: this.#caller,
        });
        for (const row of rows) this.#lastId = Math.max(this.#lastId, row.id);
        decided = decide(rows.map((row) => ({ at: monotonicOf(this.#clock, row.at), kind: row.kind })));
        if (!decided) return;
        const id = this.#store.recordApiCall({
          account: this.#account,
          at: now,
          kind,
          origin: this.#origin,
          caller: this.#caller,
          epoch: null,
        });
        this.#lastId = Math.max(this.#lastId, id);
        if (mono - this.#prunedAt >= PRUNE_EVERY_MS) {
          this.#prunedAt = mono;
          this.#store.pruneApiCalls(now - KEEP_MS);
        }
      });
    } catch (err) {
      this.#failed('could not log a call', err);
      // Decided but not logged: the call goes ahead on the in-memory budget alone.
      decided ??= decide([]);
    }
    return decided ?? false;
  }

  #failed(what: string, err: unknown): void {
    this.#failedAt = this.#clock.monotonic();
    const reason = err instanceof Error ? err.message : String(err);
    try {
      this.#onWarn(
        `account ${this.#account}: ${what} in the store (${reason}); calls go on within this process's budget, ` +
          `unlogged for ${RETRY_STORE_AFTER_MS / 1000} s`,
      );
    } catch {
      // a throwing logger must not stop a check
    }
  }
}
