// The wait of a loop that is often woken early (the scheduler's dispatch loop, a call waiting
// for the budget): a cancellable timer, not an AbortController per nap whose abort() builds a
// DOMException and rejects a promise (issue 17: 17 % of the daemon's CPU went to that machinery).
//
// On a clock with `timer` (the system clock) a nap costs one timer entry and one promise; on a
// clock without it (the FakeClock of tests, a test's jittery clock) it falls back to `sleep` with
// a signal, as before — so tests driving a FakeClock see the same sleeps as they always did.

import type { Clock, Timer } from '../monitor/clock.js';

/** A timer on `clock`: its own `timer` when it has one, else a `sleep` that `cancel` aborts. */
export function startTimer(clock: Clock, ms: number, fn: () => void, slackMs = 0): Timer {
  if (clock.timer !== undefined) return clock.timer(ms, fn, slackMs);
  const controller = new AbortController();
  clock.sleep(ms, controller.signal).then(fn, () => undefined);
  return { cancel: () => controller.abort() };
}

/** One loop's nap: `nap` waits for its time or for `wake`, whichever comes first; never rejects. */
export class Napper {
  readonly #clock: Clock;
  #wake: (() => void) | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Whether a nap is in progress (a `wake` would end it). */
  get napping(): boolean {
    return this.#wake !== undefined;
  }

  /**
   * Resolves after `ms` (up to `slackMs` later, to share a wake-up: see Clock.timer), or at
   * the next `wake`; `Infinity` waits for `wake` only, `ms <= 0` resolves at once. One nap at a time.
   */
  nap(ms: number, slackMs = 0): Promise<void> {
    if (!(ms > 0)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: Timer | undefined;
      const done = (): void => {
        if (this.#wake !== done) return;
        this.#wake = undefined;
        timer?.cancel();
        resolve();
      };
      this.#wake = done;
      if (Number.isFinite(ms)) timer = startTimer(this.#clock, ms, done, slackMs);
    });
  }

  /** Ends the nap in progress, if any. */
  wake(): void {
    this.#wake?.();
  }
}
