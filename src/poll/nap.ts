// The wait of a loop that is often woken early (the scheduler's dispatch loop, a call waiting
// for the budget): a cancellable timer, not an AbortController per nap whose abort() builds a
// DOMException and rejects a promise (issue 17: 17 % of the daemon's CPU went to that machinery).
//
// On a clock with `timer` (the system clock) a nap costs one promise, and a timer only when its
// end differs from the one already armed: a loop woken early (a check ended) that naps again
// until the same due time keeps its timer. On a clock without it (the FakeClock of tests, a
// test's jittery clock) it falls back to `sleep` with a signal, as before.

import type { Clock, Timer } from '../monitor/clock.js';

/** A timer on `clock`: its own `timer` when it has one, else a `sleep` that `cancel` aborts. */
export function startTimer(clock: Clock, ms: number, fn: () => void, slackMs = 0): Timer {
  if (clock.timer !== undefined) return clock.timer(ms, fn, slackMs);
  const controller = new AbortController();
  clock.sleep(ms, controller.signal).then(fn, () => undefined);
  return { cancel: () => controller.abort() };
}

/**
 * One loop's nap: waits for its time or for `wake`, whichever comes first; never rejects. The
 * timer of a nap ended by `wake` stays armed for the next nap with the same end; when it fires
 * during another nap it ends that one (a loop looks again, no harm). `cancel` when done.
 */
export class Napper {
  readonly #clock: Clock;
  #resolve: (() => void) | undefined;
  #timer: Timer | undefined;
  #timerAt = Number.NaN;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Whether a nap is in progress (a `wake` would end it). */
  get napping(): boolean {
    return this.#resolve !== undefined;
  }

  /** `napUntil` `ms` from now; `Infinity` waits for `wake` only, `ms <= 0` resolves at once. */
  nap(ms: number, slackMs = 0): Promise<void> {
    if (!(ms > 0)) return Promise.resolve();
    return this.napUntil(Number.isFinite(ms) ? this.#clock.monotonic() + ms : ms, slackMs);
  }

  /**
   * Resolves at monotonic `at` (up to `slackMs` later, to share a wake-up: see Clock.timer), or
   * at the next `wake`; `Infinity` waits for `wake` only, a time passed resolves at once.
   */
  napUntil(at: number, slackMs = 0): Promise<void> {
    if (Number.isFinite(at)) {
      const ms = at - this.#clock.monotonic();
      if (!(ms > 0)) return Promise.resolve();
      if (this.#timer === undefined || this.#timerAt !== at) {
        this.#timer?.cancel();
        this.#timerAt = at;
        this.#timer = startTimer(this.#clock, ms, () => this.#fired(at), slackMs);
      }
    }
    return new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Ends the nap in progress, if any. */
  wake(): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.();
  }

  /** Disarms the timer kept for a next nap (the loop is done for now). */
  cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = Number.NaN;
  }

  #fired(at: number): void {
    if (this.#timerAt === at) {
      this.#timer = undefined;
      this.#timerAt = Number.NaN;
    }
    this.wake();
  }
}
