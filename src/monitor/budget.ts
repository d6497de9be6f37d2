// The API-call budget of one account (SPEC §3 "Budget"). Pure: time comes in as `now`.
//
// The gateway allows 60 calls a minute per account for everything the customer does, so the
// monitor spends at most its configured share, counted over ANY 60 s window, and spreads the
// calls evenly: a burst of 30 at once would starve the customer's own sending for that moment.

export const BUDGET_WINDOW_MS = 60_000;

export interface BudgetOptions {
  /** Calls allowed in any window; a positive integer. */
  readonly ratePerMinute: number;
  /** First pause after a 429 without `Retry-After`. Default 60 s. */
  readonly backoffInitialMs?: number;
  /** Cap of the doubling backoff. Default 10 min. */
  readonly backoffMaxMs?: number;
}

function checkRate(rate: number): number {
  if (!Number.isInteger(rate) || rate < 1) {
    throw new RangeError(`rate must be a positive integer of calls per minute, got ${rate}`);
  }
  return rate;
}

export class Budget {
  #rate: number;
  #spacingMs: number;
  // Start times of calls, oldest first; only those inside the last window matter.
  readonly #calls: number[] = [];
  #pausedUntil = Number.NEGATIVE_INFINITY;
  #pauseLengthMs = 0;
  readonly #backoffInitialMs: number;
  readonly #backoffMaxMs: number;
  #nextBackoffMs: number;

  constructor(options: BudgetOptions) {
    this.#rate = checkRate(options.ratePerMinute);
    this.#spacingMs = Math.ceil(BUDGET_WINDOW_MS / this.#rate);
    this.#backoffInitialMs = options.backoffInitialMs ?? 60_000;
    this.#backoffMaxMs = options.backoffMaxMs ?? 600_000;
    this.#nextBackoffMs = this.#backoffInitialMs;
  }

  get ratePerMinute(): number {
    return this.#rate;
  }

  /** The least gap between two calls: the window divided by the rate, rounded up. */
  get spacingMs(): number {
    return this.#spacingMs;
  }

  /** End of the current pause; in the past when not paused. */
  get pausedUntil(): number {
    return this.#pausedUntil;
  }

  isPaused(now: number): boolean {
    return this.#normalise(now) < this.#pausedUntil;
  }

  /** A reload may change the rate; the call log stays, so the window holds across it. */
  setRate(ratePerMinute: number): void {
    this.#rate = checkRate(ratePerMinute);
    this.#spacingMs = Math.ceil(BUDGET_WINDOW_MS / this.#rate);
  }

  /** The earliest time, not before `now`, at which a call would be allowed. */
  nextFreeAt(now: number): number {
    now = this.#normalise(now);
    let at = Math.max(now, this.#pausedUntil);
    const calls = this.#calls;
    const last = calls[calls.length - 1];
    if (last !== undefined) at = Math.max(at, last + this.#spacingMs);
    // With a constant rate the spacing alone keeps any window at the rate; after a reload that
    // lowered it, the calls made at the old pace must first leave the window.
    const nthLast = calls[calls.length - this.#rate];
    if (nthLast !== undefined) at = Math.max(at, nthLast + BUDGET_WINDOW_MS);
    return at;
  }

  /** Takes a slot when one is free now; the caller makes the call right away. */
  tryAcquire(now: number): boolean {
    if (this.nextFreeAt(now) > now) return false;
    this.#calls.push(now);
    return true;
  }

  /**
   * Records a call that is made regardless of the budget, so later calls make room for it.
   * Prefer waiting for `nextFreeAt`; this is for calls that could not wait.
   */
  record(now: number): void {
    now = this.#normalise(now);
    this.#calls.push(now);
  }

  /** No call before `until`. An earlier end than the current pause is ignored. */
  pauseUntil(now: number, until: number): void {
    now = this.#normalise(now);
    if (until > this.#pausedUntil) {
      this.#pausedUntil = until;
      this.#pauseLengthMs = until - now;
    }
  }

  /**
   * A 429: pause for `Retry-After` when the gateway sent one, else for a backoff that doubles
   * (60 s, 2 min, … 10 min) until a call succeeds. Returns the end of the pause.
   */
  onRateLimited(now: number, retryAfterMs?: number): number {
    now = this.#normalise(now);
    if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
      this.pauseUntil(now, now + retryAfterMs);
    } else if (now >= this.#pausedUntil) {
      // Calls already in flight when the pause began answer 429 too; they must not escalate it.
      this.pauseUntil(now, now + this.#nextBackoffMs);
      this.#nextBackoffMs = Math.min(this.#nextBackoffMs * 2, this.#backoffMaxMs);
    }
    return this.#pausedUntil;
  }

  /** Any answer that is not a 429 shows the gateway takes calls again: the backoff starts over. */
  onSuccess(): void {
    this.#nextBackoffMs = this.#backoffInitialMs;
  }

  // Drops calls that left the window and copes with a wall clock stepped back: a call or pause
  // end "in the future" is pulled back to now, so a clock change cannot stall the account for hours.
  #normalise(now: number): number {
    const calls = this.#calls;
    let drop = 0;
    while (drop < calls.length && calls[drop]! <= now - BUDGET_WINDOW_MS) drop++;
    if (drop > 0) calls.splice(0, drop);
    for (let i = calls.length - 1; i >= 0 && calls[i]! > now; i--) calls[i] = now;
    if (this.#pausedUntil - now > this.#pauseLengthMs) this.#pausedUntil = now + this.#pauseLengthMs;
    return now;
  }
}
