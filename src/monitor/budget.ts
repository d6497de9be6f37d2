// The API-call budget of one account (SPEC §3 "Budget"). Pure: time comes in as `now`, on a
// monotonic clock (monitor/clock.ts), so a wall clock stepped either way neither stalls nor bursts.
//
// The gateway allows 60 calls a minute per account for everything the customer does, so the
// monitor spends at most its configured share, counted over ANY 60 s window, and spreads the
// calls evenly: a burst of 30 at once would starve the customer's own sending for that moment.
//
// The rule, by construction (issue 12): a slot is granted only if the call log proves room — at
// most `rate` call starts in any span of `BUDGET_WINDOW_MS + BUDGET_MARGIN_MS`. The gateway counts
// a call when it arrives, up to the margin after its start; two arrivals `rate` calls apart are
// then at least a full window apart, so no 60 s window at the gateway ever holds more than `rate`,
// however late a timer fires or how long a call is in transit (up to the margin). Timers can only
// make a call later than granted, never earlier: the grant compares the log with the time it is
// granted at, not the time a sleep was meant to end.
//
// Out-of-band calls (QR codes, later balance reads and sends) may take at most
// OUT_OF_BAND_SHARE of the window, so a re-link page left open can never starve routine checks.

export const BUDGET_WINDOW_MS = 60_000;

/**
 * How late a call may arrive at the gateway after its slot was granted and still be counted in
 * the right window: the event loop's delay between the grant and the request leaving, plus
 * transit (a TLS handshake on a fresh connection across a continent: ~100–150 ms). A quiet loop
 * adds tens of ms, but a starved machine adds hundreds: with 250 ms the end-to-end test
 * (budget-restart, CLI processes starting beside a loaded suite) once counted 21 calls of 20 in a
 * window at the gateway. One second covers that, and costs 1.7 % of the budget.
 */
export const BUDGET_MARGIN_MS = 1_000;

/**
 * The most of any window out-of-band calls may take. A quarter: at the default 30/min that is 7
 * calls — two re-link pages refreshing their QR codes every 20 s and a `reconnect: qr` DOWN —
 * while three quarters stay for the routine checks, whose planning (the stretch floor) counts
 * only on those, so the effective interval stays true under a flood of QR requests.
 */
export const OUT_OF_BAND_SHARE = 0.25;

/** A routine check (planned by the scheduler) or a call that waits for its own slot. */
export type CallKind = 'check' | 'out_of_band';

export interface BudgetOptions {
  /** Calls allowed in any window; a positive integer. */
  readonly ratePerMinute: number;
  /** First pause after a 429 without `Retry-After`. Default 60 s. */
  readonly backoffInitialMs?: number;
  /** Cap of the doubling backoff, and of any pause (a `Retry-After` too). Default 10 min. */
  readonly backoffMaxMs?: number;
  /** Default BUDGET_MARGIN_MS. */
  readonly marginMs?: number;
}

function checkRate(rate: number): number {
  if (!Number.isInteger(rate) || rate < 1) {
    throw new RangeError(`rate must be a positive integer of calls per minute, got ${rate}`);
  }
  return rate;
}

/** Out-of-band calls allowed in a window at `rate`: the share, but at least one. */
export function outOfBandLimit(rate: number): number {
  return Math.max(1, Math.floor(rate * OUT_OF_BAND_SHARE));
}

/**
 * The gap between routine checks the scheduler plans with: the span shared by the calls the
 * out-of-band share leaves (at 1/min nothing can be set aside; the one call is shared).
 */
export function plannedSpacingMs(rate: number, marginMs = BUDGET_MARGIN_MS): number {
  const reserved = Math.min(outOfBandLimit(rate), rate - 1);
  return Math.ceil((BUDGET_WINDOW_MS + marginMs) / (rate - reserved));
}

/** Inserts `at` into the ascending list `list`; O(log n) search, appends in the common case. */
function insertSorted(list: number[], at: number): void {
  let lo = 0;
  let hi = list.length;
  if (hi === 0 || list[hi - 1]! <= at) {
    list.push(at);
    return;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! <= at) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, at);
}

/** Removes the leading entries of the ascending `list` that are at or before `cutoff`. */
function dropUpTo(list: number[], cutoff: number): void {
  let drop = 0;
  while (drop < list.length && list[drop]! <= cutoff) drop++;
  if (drop > 0) list.splice(0, drop);
}

export class Budget {
  #rate: number;
  readonly #spanMs: number;
  // Start times of calls, ascending; only those inside the last span matter.
  readonly #calls: number[] = [];
  // The out-of-band ones among them, again.
  readonly #outOfBand: number[] = [];
  #pausedUntil = Number.NEGATIVE_INFINITY;
  #rateLimitedSince: number | null = null;
  readonly #backoffInitialMs: number;
  readonly #backoffMaxMs: number;
  #nextBackoffMs: number;

  constructor(options: BudgetOptions) {
    this.#rate = checkRate(options.ratePerMinute);
    this.#spanMs = BUDGET_WINDOW_MS + (options.marginMs ?? BUDGET_MARGIN_MS);
    this.#backoffInitialMs = options.backoffInitialMs ?? 60_000;
    this.#backoffMaxMs = options.backoffMaxMs ?? 600_000;
    this.#nextBackoffMs = this.#backoffInitialMs;
  }

  get ratePerMinute(): number {
    return this.#rate;
  }

  /** The least gap between two calls: the window and margin divided by the rate, rounded up. */
  get spacingMs(): number {
    return Math.ceil(this.#spanMs / this.#rate);
  }

  /** The gap routine checks are planned with, the out-of-band share set aside. */
  get plannedSpacingMs(): number {
    return plannedSpacingMs(this.#rate, this.#spanMs - BUDGET_WINDOW_MS);
  }

  get outOfBandLimit(): number {
    return outOfBandLimit(this.#rate);
  }

  /** End of the current pause; in the past when not paused. */
  get pausedUntil(): number {
    return this.#pausedUntil;
  }

  /** When the current run of 429s began (no valid answer since); null when there is none. */
  get rateLimitedSince(): number | null {
    return this.#rateLimitedSince;
  }

  isPaused(now: number): boolean {
    return now < this.#pausedUntil;
  }

  /** A reload may change the rate; the call log stays, so the window holds across it. */
  setRate(ratePerMinute: number): void {
    this.#rate = checkRate(ratePerMinute);
  }

  /** The earliest time, not before `now`, at which a call of `kind` would be allowed. */
  nextFreeAt(now: number, kind: CallKind = 'check'): number {
    this.#prune(now);
    let at = Math.max(now, this.#pausedUntil);
    const calls = this.#calls;
    const last = calls[calls.length - 1];
    if (last !== undefined) at = Math.max(at, last + this.spacingMs);
    // The proof of room: the rate-th newest call must have left the span. With a constant rate the
    // spacing alone ensures it; after a reload that lowered the rate, or with calls another
    // process made, it is this that holds.
    const nthLast = calls[calls.length - this.#rate];
    if (nthLast !== undefined) at = Math.max(at, nthLast + this.#spanMs);
    if (kind === 'out_of_band') {
      const oob = this.#outOfBand;
      const nthOob = oob[oob.length - this.outOfBandLimit];
      if (nthOob !== undefined) at = Math.max(at, nthOob + this.#spanMs);
    }
    return at;
  }

  /** Takes a slot when one is free now; the caller makes the call right away. */
  tryAcquire(now: number, kind: CallKind = 'check'): boolean {
    if (this.nextFreeAt(now, kind) > now) return false;
    this.record(now, kind);
    return true;
  }

  /**
   * Records a call made without a slot of this budget: restored from the store after a restart,
   * or made by another process (the CLI). Later calls make room for it. `at` may be in the past.
   */
  record(at: number, kind: CallKind = 'check'): void {
    insertSorted(this.#calls, at);
    if (kind === 'out_of_band') insertSorted(this.#outOfBand, at);
  }

  /** No call before `until` (capped at the backoff cap). An earlier end than the current pause is ignored. */
  pauseUntil(now: number, until: number): void {
    const capped = Math.min(until, now + this.#backoffMaxMs);
    if (capped > this.#pausedUntil) this.#pausedUntil = capped;
  }

  /**
   * A 429: pause for `Retry-After` when the gateway sent one, else for a backoff that doubles
   * (60 s, 2 min, … 10 min) until a call succeeds. Either way never longer than the backoff cap: a
   * `Retry-After: 99999999999` must not stop the account's checks for good. Returns the pause's end.
   */
  onRateLimited(now: number, retryAfterMs?: number): number {
    this.#rateLimitedSince ??= now;
    if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
      this.pauseUntil(now, now + retryAfterMs);
    } else if (now >= this.#pausedUntil) {
      // Calls already in flight when the pause began answer 429 too; they must not escalate it.
      this.pauseUntil(now, now + this.#nextBackoffMs);
      this.#nextBackoffMs = Math.min(this.#nextBackoffMs * 2, this.#backoffMaxMs);
    }
    return this.#pausedUntil;
  }

  /** A valid answer shows the gateway takes calls again: the backoff starts over. */
  onSuccess(): void {
    this.#nextBackoffMs = this.#backoffInitialMs;
    this.#rateLimitedSince = null;
  }

  // Drops calls that left the span (at every question about the budget: no array made for it).
  #prune(now: number): void {
    const cutoff = now - this.#spanMs;
    dropUpTo(this.#calls, cutoff);
    dropUpTo(this.#outOfBand, cutoff);
  }
}
