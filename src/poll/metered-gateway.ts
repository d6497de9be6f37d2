// The ONE way to WhatsGate for an account: every call takes a slot of the account's budget
// (SPEC §3 "Budget"), is timed into the metrics, and a 429 pauses the account for every caller.
//
// Two kinds of callers:
// - the account's poll cycle, which plans its status checks around the budget itself (spreading,
//   confirmations first): it takes a `Slot` with `takeSlot(now)` and spends it on `status`, or,
//   when no status check wants the slot, on a `balance` read (SPEC §10);
// - everything else (the QR code attached to a DOWN, the re-link page's `/connect`, and the
//   whatsapp channel's `/send/text`): such a call waits for its own slot, and is served before any check
//   that is not yet started, but takes at most OUT_OF_BAND_SHARE of any window (monitor/budget.ts)
//   so it can never starve the checks. Adding one is one method: `#outOfBand(signal, call, outcome)`.
//   `/connect` is also capped per device (CONNECT_EVERY_MS), here rather than only in the re-link
//   page's JavaScript, which any client can skip.
//
// Every call is logged in the store before it is made (call-log.ts), and the calls other processes
// logged are read at each grant, so the daemon and the CLI together stay within `rate_limit`. A
// grant therefore waits for the store: the slot is dated when the log says yes (not when it was
// asked for), so a grant that waited for a lock is never counted earlier than its call starts.
// Time is the clock's monotonic reading throughout; the wall clock appears only in messages.
//
// Over 350 lines: one method per WhatsGate call (status, connect, balance, send) over one budget,
// pause and call log; each method is short, and keeping them together is the point.

import type { Clock } from '../monitor/clock.js';
import { Budget, type CallKind } from '../monitor/budget.js';
import type { Observation } from '../monitor/model.js';
import type {
  BalanceResult,
  CallOptions,
  ConnectResult,
  GatewayClient,
  SendTextResult,
} from '../gateway/client.js';
import type { CheckOutcome } from '../metrics/metrics.js';
import { linkSignals } from '../net/abort.js';
import type { CallLog } from './call-log.js';
import { Napper } from './nap.js';

/**
 * One `/connect` per device this often, whoever asks: a QR code lives about 60 s (SPEC §2) and the
 * re-link page replaces it after 45 s, so three a minute per device are more than a person scanning
 * needs, and a page reloaded in a loop cannot spend the account's out-of-band share on one device.
 */
export const CONNECT_EVERY_MS = 20_000;

/** A `/connect` refused before any call: the device had one less than CONNECT_EVERY_MS ago. */
export interface ConnectThrottled {
  readonly kind: 'throttled';
  readonly retryInMs: number;
}

declare const slotBrand: unique symbol;

/** A budget slot taken for one status check; `at` is when it was granted (monotonic). */
export interface Slot {
  readonly at: number;
  readonly [slotBrand]: true;
}

export interface MeteredGatewayOptions {
  readonly account: string;
  readonly client: GatewayClient;
  readonly rateLimitPerMinute: number;
  readonly clock: Clock;
  /** Every finished call: how long it took and how it ended (whatsgate_checks_total and friends). */
  readonly onCall?: (account: string, seconds: number, outcome: CheckOutcome) => void;
  readonly onWarn?: (message: string) => void;
  /** The account's call log in the store; without it, the budget holds within this process only. */
  readonly callLog?: CallLog;
}

/** A call with its own slot: its signal, and the per-call timeout of the client. */
export interface OutOfBandOptions {
  readonly signal: AbortSignal;
  readonly timeoutMs?: number;
}

interface Waiter {
  granted: boolean;
  readonly wake: () => void;
}

export class MeteredGateway {
  readonly account: string;
  #client: GatewayClient;
  readonly #clock: Clock;
  readonly #budget: Budget;
  readonly #onCall: (account: string, seconds: number, outcome: CheckOutcome) => void;
  readonly #onWarn: (message: string) => void;
  readonly #waiters: Waiter[] = [];
  readonly #stop = new AbortController();
  readonly #callLog: CallLog | undefined;
  // Monotonic time each device's last `/connect` ended, and the ones in progress.
  readonly #connectAt = new Map<string, number>();
  readonly #connecting = new Map<string, Promise<ConnectResult | null>>();
  // No grant before this (monotonic): the call log refused one with the budget free (a failing
  // store in strict mode), so the next try waits a spacing instead of asking again at once.
  #refusedUntil = Number.NEGATIVE_INFINITY;
  #granting = false;

  constructor(options: MeteredGatewayOptions) {
    this.account = options.account;
    this.#client = options.client;
    this.#clock = options.clock;
    this.#budget = new Budget({ ratePerMinute: options.rateLimitPerMinute });
    this.#onCall = options.onCall ?? (() => undefined);
    this.#onWarn = options.onWarn ?? (() => undefined);
    this.#callLog = options.callLog;
  }

  /**
   * Adds the calls of the store's log the budget does not know yet: at start, every call of the
   * last window (a restart, or `kill -9`, or a takeover must not reset the budget); later, the
   * calls other processes logged since (a standby keeping up before it takes over). Call it before
   * the first grant. Rejects only when a strict call log cannot read the store.
   */
  async restoreBudget(): Promise<void> {
    if (this.#callLog === undefined) return;
    for (const call of await this.#callLog.restore()) this.#budget.record(call.at, call.kind);
  }

  get client(): GatewayClient {
    return this.#client;
  }

  /** A reload changed the connection settings: later calls use `client`; returns the old one to close. */
  replaceClient(client: GatewayClient): GatewayClient {
    const old = this.#client;
    this.#client = client;
    return old;
  }

  // --- the budget, as the poll cycle plans with it -----------------------------------------

  get ratePerMinute(): number {
    return this.#budget.ratePerMinute;
  }

  /** The least gap between two calls. */
  get spacingMs(): number {
    return this.#budget.spacingMs;
  }

  /** The gap routine checks are planned with: the out-of-band share set aside (the stretch floor). */
  get plannedSpacingMs(): number {
    return this.#budget.plannedSpacingMs;
  }

  /**
   * How long the account has been rate limited: since the first 429 of a run with no valid
   * answer in between (its pauses included); 0 when it is not. For the account's state machine
   * (`account.unreachable` reason `rate_limited` past `failure_threshold` intervals).
   */
  rateLimitedForMs(): number {
    const since = this.#budget.rateLimitedSince;
    return since === null ? 0 : Math.max(0, this.#clock.monotonic() - since);
  }

  /** A reload may change the rate; the call log stays, so the window holds across it. */
  setRate(ratePerMinute: number): void {
    this.#budget.setRate(ratePerMinute);
  }

  /** The earliest time, not before `now`, at which a call would be allowed. */
  nextFreeAt(now: number): number {
    return this.#freeAt(now, 'check');
  }

  /**
   * A slot for a status check starting now, or null: none is free, or a call waiting for its own
   * slot got it instead (they come first). Its `at` is when the call log granted it.
   */
  async takeSlot(now: number): Promise<Slot | null> {
    if (this.#waiters.length > 0 && (await this.#grantWaiter(now))) return null;
    const at = await this.#acquire(now, 'check');
    return at === null ? null : ({ at } as Slot);
  }

  // --- the calls --------------------------------------------------------------------------

  /** `GET /status/{device}` on a slot the cycle took. Rejects only if the client does. */
  async status(device: string, _slot: Slot, options: CallOptions = {}): Promise<Observation> {
    const started = performance.now();
    const observation = await this.#client.status(device, options);
    this.#settle(
      observation.kind === 'status' ? 'ok' : observation.reason,
      observation.kind === 'probe_error' ? observation.retryAfterMs : undefined,
    );
    // Cut short by a stop: the answer says nothing about the device or the account.
    if (options.signal?.aborted !== true) this.#recordCall(started, observation);
    return observation;
  }

  /**
   * `GET /reports/balance/{device}` on a slot the cycle took for spare work (SPEC §10: only
   * budget no status check wanted). Counted and timed like every call; a 429 pauses the account.
   */
  async balance(device: string, _slot: Slot, options: CallOptions = {}): Promise<BalanceResult> {
    const started = performance.now();
    const result = await this.#client.balance(device, options);
    const error = result.kind === 'probe_error' ? result : null;
    this.#settle(error === null ? 'ok' : error.reason, error?.retryAfterMs);
    if (options.signal?.aborted !== true) this.#recordCall(started, error ?? { kind: 'ok' });
    return result;
  }

  /**
   * `/connect`: a QR code (or why none). Null when cancelled while waiting for the budget;
   * `throttled` when the device had one less than CONNECT_EVERY_MS ago (no call made).
   */
  connect(device: string, options: OutOfBandOptions): Promise<ConnectResult | ConnectThrottled | null> {
    // One in progress (waiting for the budget, or calling) answers every asker meanwhile.
    const pending = this.#connecting.get(device);
    if (pending !== undefined) return pending;
    const now = this.#clock.monotonic();
    const last = this.#connectAt.get(device);
    if (last !== undefined && now - last < CONNECT_EVERY_MS) {
      return Promise.resolve({ kind: 'throttled', retryInMs: last + CONNECT_EVERY_MS - now });
    }
    const call = this.#outOfBand(
      options,
      (callOptions) => this.#client.connect(device, callOptions),
      (r) => (r.kind === 'probe_error' ? r : null),
    ).then((result) => {
      // The cap counts from the call: waiting for the budget in vain is no call.
      if (result !== null) {
        if (this.#connectAt.size >= 10_000) this.#connectAt.clear();
        this.#connectAt.set(device, this.#clock.monotonic());
      }
      return result;
    });
    this.#connecting.set(device, call);
    void call.finally(() => this.#connecting.delete(device));
    return call;
  }

  /**
   * `POST /send/text` (the whatsapp channel) on a slot of its own, spent from the account's budget
   * like every call. Null when cancelled (or the gateway stopped) while waiting for the budget.
   */
  sendText(
    sender: string,
    phone: string,
    message: string,
    options: OutOfBandOptions,
  ): Promise<SendTextResult | null> {
    return this.#outOfBand(
      options,
      (callOptions) => this.#client.sendText(sender, phone, message, callOptions),
      (r) => (r.kind === 'probe_error' ? r : null),
    );
  }

  /** No more slots: calls waiting for one get null. Checks in flight are the cycle's business. */
  stop(): void {
    this.#stop.abort(new Error(`gateway of account ${this.account} stopped`));
  }

  async close(): Promise<void> {
    this.stop();
    await this.#client.close();
  }

  // --- internals --------------------------------------------------------------------------

  /**
   * One call with its own slot: waits for the budget (served before any check), makes the call,
   * records it and applies a 429. `problem` picks the probe error out of an answer, if any.
   */
  async #outOfBand<T>(
    options: OutOfBandOptions,
    call: (options: CallOptions) => Promise<T>,
    problem: (result: T) => Extract<Observation, { kind: 'probe_error' }> | null,
  ): Promise<T | null> {
    try {
      await this.#reserve(options.signal);
    } catch {
      return null;
    }
    const started = performance.now();
    const callOptions: CallOptions =
      options.timeoutMs === undefined
        ? { signal: options.signal }
        : { signal: options.signal, timeoutMs: options.timeoutMs };
    const result = await call(callOptions);
    const error = problem(result);
    this.#settle(error === null ? 'ok' : error.reason, error?.retryAfterMs);
    if (!options.signal.aborted) this.#recordCall(started, error ?? { kind: 'ok' });
    return result;
  }

  #recordCall(started: number, result: Observation | { kind: 'ok' }): void {
    const outcome: CheckOutcome = result.kind === 'probe_error' ? result.reason : 'ok';
    this.#onCall(this.account, (performance.now() - started) / 1000, outcome);
  }

  /** A 429 pauses the account (Retry-After, else a doubling backoff); any valid answer resets the backoff. */
  #settle(outcome: CheckOutcome, retryAfterMs: number | undefined): void {
    if (outcome === 'ok') {
      this.#budget.onSuccess();
    } else if (outcome === 'rate_limited') {
      const now = this.#clock.monotonic();
      const until = this.#budget.onRateLimited(now, retryAfterMs);
      const capped =
        retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && now + retryAfterMs > until
          ? ` (Retry-After of ${Math.round(retryAfterMs / 1000)} s capped)`
          : '';
      this.#warn(
        `account ${this.account}: gateway answered 429; no call for ${Math.ceil((until - now) / 1000)} s, ` +
          `until ${new Date(this.#clock.now() + until - now).toISOString()}${capped}`,
      );
    }
  }

  /** Waits for a slot as long as the budget or a pause requires. Rejects on abort or stop. */
  async #reserve(signal: AbortSignal): Promise<void> {
    if (this.#stop.signal.aborted) throw new Error(`gateway of account ${this.account} is stopped`);
    const aborted = linkSignals([this.#stop.signal, signal]);
    const napper = new Napper(this.#clock);
    const waiter: Waiter = { granted: false, wake: () => napper.wake() };
    const onAbort = (): void => waiter.wake();
    aborted.signal.addEventListener('abort', onAbort);
    this.#waiters.push(waiter);
    try {
      while (!waiter.granted) {
        aborted.signal.throwIfAborted();
        const now = this.#clock.monotonic();
        const freeAt = this.#freeAt(now, 'out_of_band');
        if (freeAt <= now && (await this.#grantWaiter(now))) continue;
        // Free but refused: another process's call (read from the log at the grant) took the
        // room, look again soon. Else: until the budget is free, or a grant or an abort wakes it.
        await napper.nap(freeAt <= now ? this.#budget.spacingMs : freeAt - now);
      }
    } finally {
      napper.cancel();
      aborted.signal.removeEventListener('abort', onAbort);
      aborted.dispose();
      const i = this.#waiters.indexOf(waiter);
      if (i >= 0) this.#waiters.splice(i, 1);
    }
  }

  /**
   * Grants the first waiter a slot if the out-of-band share and the budget allow one now. False
   * when they don't: a check may then take the slot (waiting calls never block checks beyond
   * their share).
   */
  async #grantWaiter(now: number): Promise<boolean> {
    // One grant at a time: two at once (the cycle's takeSlot and a waiter's own loop) could both
    // take a slot for the one waiter there is.
    if (this.#waiters.length === 0 || this.#granting) return false;
    this.#granting = true;
    try {
      if ((await this.#acquire(now, 'out_of_band')) === null) return false;
    } finally {
      this.#granting = false;
    }
    // The first in line now: the one that was first may have given up while the log was asked
    // (then the slot is lost, on the safe side, when nobody else waits).
    const first = this.#waiters.shift();
    if (first !== undefined) {
      first.granted = true;
      first.wake();
    }
    return true;
  }

  /**
   * A slot of `kind`, proven by the in-memory log and the store's (when there is one): the
   * monotonic time it was granted at (`now`, or later when the log made it wait), or null.
   */
  async #acquire(now: number, kind: CallKind): Promise<number | null> {
    if (this.#freeAt(now, kind) > now) return null;
    const callLog = this.#callLog;
    if (callLog === undefined) return this.#budget.tryAcquire(now, kind) ? now : null;
    let at = now;
    const granted = await callLog.reserve(kind, (foreign) => {
      for (const call of foreign) this.#budget.record(call.at, call.kind);
      at = Math.max(now, this.#clock.monotonic());
      return this.#budget.tryAcquire(at, kind);
    });
    if (granted) return at;
    // Refused with the budget still free: the log itself said no (strict, the store failing).
    const later = this.#clock.monotonic();
    if (this.#budget.nextFreeAt(later, kind) <= later) this.#refusedUntil = later + this.#budget.spacingMs;
    return null;
  }

  #freeAt(now: number, kind: CallKind): number {
    return Math.max(this.#budget.nextFreeAt(now, kind), this.#refusedUntil);
  }

  // A throwing logger must not become an unhandled rejection of a check nobody awaits.
  #warn(message: string): void {
    try {
      this.#onWarn(message);
    } catch {
      // nothing better to do with it
    }
  }
}
