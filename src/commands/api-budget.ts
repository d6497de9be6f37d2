// The CLI's share of an account's API budget (SPEC §3 "Budget"): `status --live`, `connect` and
// `delete` call the gateway from a process of their own while a daemon may be running, so before
// each call they reserve a slot in the call log the daemon keeps in the store: read the account's
// calls of the last window, wait until the log proves room (saying so when it has to), log the
// call, make it. Reading and logging are one transaction, so the daemon — which reads the log at
// each of its grants — and any number of CLI processes are ordered by the database's write lock.
//
// A CLI process is short: it works on the wall clock, which the daemon's rows carry too.
// Without a database (the daemon never ran) or without write access to it, the command paces its
// own calls and says that the daemon will not see them.

import { randomUUID } from 'node:crypto';
import { BUDGET_MARGIN_MS, BUDGET_WINDOW_MS, Budget, type CallKind } from '../monitor/budget.js';
import type { Clock } from '../monitor/clock.js';
import type { Config } from '../config/types.js';
import { loadUndici } from '../net/undici.js';
import type { Store } from '../store/store.js';
import { connectStore } from './store-access.js';

const SPAN_MS = BUDGET_WINDOW_MS + BUDGET_MARGIN_MS;

/** The wall clock and real timers, for a short-lived command (the daemon's Clock lives in poll/). */
export const cliClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(ms, 2_147_483_647)))),
};

export interface CliCallBudgetOptions {
  /** The daemon's database; null when there is none. */
  readonly store: Store | null;
  /** Opened read-only (no write access): the daemon's calls are read, this one's are not logged. */
  readonly readonly?: boolean;
  readonly account: string;
  readonly ratePerMinute: number;
  /** Where "waiting N s…" goes: stderr, so `--json` output stays clean. */
  readonly tell: (line: string) => void;
  readonly clock?: Clock;
  /** This process's token in the log; default a fresh one. */
  readonly caller?: string;
  /**
   * HA (SPEC §11): the replicas count only logged calls, so a call that cannot be logged is not
   * made — `reserve` rejects — instead of going out unseen.
   */
  readonly strict?: boolean;
}

/** A gateway call the CLI refuses to make: with HA, every call must be in the shared log. */
export class UnloggedCallRefused extends Error {
  override name = 'UnloggedCallRefused';
}

export class CliCallBudget {
  readonly #store: Store | null;
  readonly #readonly: boolean;
  readonly #account: string;
  readonly #rate: number;
  readonly #tell: (line: string) => void;
  readonly #clock: Clock;
  readonly #caller: string;
  readonly #strict: boolean;
  // Calls this process made that are not in the store (no store, or it failed): paced all the same.
  readonly #unlogged: { at: number; kind: CallKind }[] = [];
  #warnedUnlogged = false;

  constructor(options: CliCallBudgetOptions) {
    this.#store = options.store;
    this.#readonly = options.readonly === true;
    this.#account = options.account;
    this.#rate = options.ratePerMinute;
    this.#tell = options.tell;
    this.#clock = options.clock ?? cliClock;
    this.#caller = options.caller ?? `cli-${process.pid}-${randomUUID()}`;
    this.#strict = options.strict === true;
  }

  /** Resolves when a call of `kind` may start now; it has been logged (when there is a log). */
  async reserve(kind: CallKind): Promise<void> {
    // The call must leave right after its slot (the budget's margin covers transit, not loading
    // the HTTP client): a fresh CLI process loads undici first.
    await loadUndici();
    let told = false;
    for (;;) {
      const now = this.#clock.now();
      const freeAt = await this.#tryReserve(now, kind);
      if (freeAt <= now) return;
      if (!told) {
        told = true;
        this.#tell(
          `waiting ${Math.ceil((freeAt - now) / 1000)} s for the account's API budget (account ${this.#account})`,
        );
      }
      await this.#clock.sleep(freeAt - now);
    }
  }

  /** Logs the call and returns `now` when there is room, else when there will be. */
  async #tryReserve(now: number, kind: CallKind): Promise<number> {
    const store = this.#store;
    let read: Store | null = null;
    if (store !== null && this.#readonly) {
      read = store;
      this.#warnUnlogged('the database is read-only for this user');
    } else if (store !== null) {
      try {
        return await store.transaction(async (tx) => {
          const budget = await this.#budgetAt(now, tx);
          const at = budget.nextFreeAt(now, kind);
          if (at <= now) {
            await tx.recordApiCall({
              account: this.#account,
              at: now,
              kind,
              origin: 'cli',
              caller: this.#caller,
              epoch: null,
            });
          }
          return at;
        });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        this.#warnUnlogged(`could not use the call log (${reason})`);
      }
    } else {
      this.#warnUnlogged('no database yet');
    }
    let budget: Budget;
    try {
      budget = await this.#budgetAt(now, read);
    } catch {
      budget = await this.#budgetAt(now, null);
    }
    const at = budget.nextFreeAt(now, kind);
    if (at <= now) this.#unlogged.push({ at: now, kind });
    return at;
  }

  async #budgetAt(now: number, store: Store | null): Promise<Budget> {
    const budget = new Budget({ ratePerMinute: this.#rate });
    const rows = store === null ? [] : await store.apiCalls(this.#account, { since: now - SPAN_MS });
    // A row "in the future" (the clock was stepped back since) counts as now.
    for (const row of rows) budget.record(Math.min(row.at, now), row.kind);
    for (const call of this.#unlogged) budget.record(Math.min(call.at, now), call.kind);
    return budget;
  }

  #warnUnlogged(why: string): void {
    if (this.#strict) {
      throw new UnloggedCallRefused(
        `${why}: with high availability (ha:) every call to the gateway must be logged in the shared database, so this one is not made (account ${this.#account})`,
      );
    }
    if (this.#warnedUnlogged) return;
    this.#warnedUnlogged = true;
    this.#tell(
      `note: ${why}: this command's calls are paced but a running daemon does not see them (account ${this.#account})`,
    );
  }
}

/** An account's CLI budget and the store under it; `close` when the command is done. */
export interface OpenedCliCallBudget {
  readonly budget: CliCallBudget;
  close(): Promise<void>;
}

/**
 * The budget of `account` for a command that calls the gateway: the daemon's database opened for
 * writing if it can be, else read-only, else none. Never rejects.
 */
export async function openCliCallBudget(
  config: Config,
  account: string,
  tell: (line: string) => void,
): Promise<OpenedCliCallBudget> {
  const rate = config.accounts.find((a) => a.name === account)?.rateLimitPerMinute ?? 1;
  let store: Store | null = null;
  let readonly = false;
  try {
    store = await connectStore(config, 'write');
  } catch {
    try {
      store = await connectStore(config, 'read');
      readonly = true;
    } catch {
      store = null;
    }
  }
  return {
    budget: new CliCallBudget({
      store,
      readonly,
      account,
      ratePerMinute: rate,
      tell,
      strict: config.ha !== null,
    }),
    close: async () => {
      await store?.close();
    },
  };
}
