// The ONE way to WhatsGate for an account: every call takes a slot of the account's budget
// (SPEC §3 "Budget"), is timed into the metrics, and a 429 pauses the account for every caller.
//
// Two kinds of callers:
// - the account's poll cycle, which plans its status checks around the budget itself (spreading,
//   confirmations first): it takes a `Slot` with `takeSlot(now)` and spends it on `status`, or,
//   when no status check wants the slot, on a `balance` read (SPEC §10);
// - everything else (the QR code attached to a DOWN, the re-link page's `/connect`, and later
//   balance reads and sends): such a call waits for its own slot, and is served before any check
//   that is not yet started. Adding one is one method: `#outOfBand(signal, call, outcome)`.

import type { Clock } from '../monitor/clock.js';
import { Budget } from '../monitor/budget.js';
import type { Observation } from '../monitor/model.js';
import type { BalanceResult, CallOptions, ConnectResult, GatewayClient } from '../gateway/client.js';
import type { CheckOutcome } from '../metrics/metrics.js';
import { linkSignals } from '../net/abort.js';

declare const slotBrand: unique symbol;

/** A budget slot taken for one status check; `at` is when it was granted. */
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

  constructor(options: MeteredGatewayOptions) {
    this.account = options.account;
    this.#client = options.client;
    this.#clock = options.clock;
    this.#budget = new Budget({ ratePerMinute: options.rateLimitPerMinute });
    this.#onCall = options.onCall ?? (() => undefined);
    this.#onWarn = options.onWarn ?? (() => undefined);
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

  /** A reload may change the rate; the call log stays, so the window holds across it. */
  setRate(ratePerMinute: number): void {
    this.#budget.setRate(ratePerMinute);
  }

  /** The earliest time, not before `now`, at which a call would be allowed. */
  nextFreeAt(now: number): number {
    return this.#budget.nextFreeAt(now);
  }

  /**
   * A slot for a status check starting now, or null: none is free, or a call waiting for its own
   * slot got it instead (they come first).
   */
  takeSlot(now: number): Slot | null {
    if (this.#waiters.length > 0) {
      this.#grantWaiter(now);
      return null;
    }
    return this.#budget.tryAcquire(now) ? ({ at: now } as Slot) : null;
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

  /** `/connect`: a QR code (or why none). Null when cancelled while waiting for the budget. */
  connect(device: string, options: OutOfBandOptions): Promise<ConnectResult | null> {
    return this.#outOfBand(
      options,
      (call) => this.#client.connect(device, call),
      (result) => (result.kind === 'probe_error' ? result : null),
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
      const until = this.#budget.onRateLimited(this.#clock.now(), retryAfterMs);
      this.#warn(
        `account ${this.account}: gateway answered 429; no call until ${new Date(until).toISOString()}`,
      );
    }
  }

  /** Waits for a slot as long as the budget or a pause requires. Rejects on abort or stop. */
  async #reserve(signal: AbortSignal): Promise<void> {
    if (this.#stop.signal.aborted) throw new Error(`gateway of account ${this.account} is stopped`);
    const aborted = linkSignals([this.#stop.signal, signal]);
    let napper: AbortController | undefined;
    const waiter: Waiter = { granted: false, wake: () => napper?.abort() };
    const onAbort = (): void => waiter.wake();
    aborted.signal.addEventListener('abort', onAbort);
    this.#waiters.push(waiter);
    try {
      while (!waiter.granted) {
        aborted.signal.throwIfAborted();
        const now = this.#clock.now();
        const freeAt = this.#budget.nextFreeAt(now);
        if (freeAt <= now) {
          this.#grantWaiter(now);
          continue;
        }
        napper = new AbortController();
        try {
          await this.#clock.sleep(freeAt - now, napper.signal);
        } catch {
          // woken by a grant, or aborted: the loop head tells which
        }
      }
    } finally {
      aborted.signal.removeEventListener('abort', onAbort);
      aborted.dispose();
      const i = this.#waiters.indexOf(waiter);
      if (i >= 0) this.#waiters.splice(i, 1);
    }
  }

  #grantWaiter(now: number): void {
    const waiter = this.#waiters[0];
    if (waiter === undefined || !this.#budget.tryAcquire(now)) return;
    this.#waiters.shift();
    waiter.granted = true;
    waiter.wake();
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
