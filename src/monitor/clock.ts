// Time as an injected dependency: the scheduler, budget and reminders never read the system clock
// themselves, so tests drive them with a fake clock (test-support/fake-clock.ts) and no real sleeps.
// The real clock is an edge: poll/system-clock.ts.
//
// Two readings, never mixed (issue 11): `now()` is the wall clock, for what people and records see
// (history `at`, "last check", event times); `monotonic()` only ever moves forward at the rate of
// real time, for everything that waits or paces (due times, budget windows, pauses, backoffs,
// deadlines). A wall clock stepped back an hour must not stop the checks for an hour, and one
// stepped forward must not let a burst of calls through.

/** A pending timer of `Clock.timer`; `cancel` is idempotent, and does nothing once it fired. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Wall time: milliseconds since the Unix epoch. May jump either way (NTP, an operator). */
  now(): number;
  /**
   * Milliseconds on a clock that never steps: only differences between two readings mean
   * anything, and only within one process.
   */
  monotonic(): number;
  /**
   * Resolves after `ms` of monotonic time; rejects with the signal's reason when the signal aborts
   * first. `ms <= 0` resolves at once; `Infinity` waits for the signal only.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Optional, the cheap wait of a loop woken early often (issue 17): calls `fn` once after `ms`
   * of monotonic time unless cancelled first — no promise, no signal, no rejection. It may fire
   * up to `slackMs` later (default 0) so that timers due close together share one wake-up; never
   * earlier. A clock without it is used through `sleep` (poll/nap.ts).
   */
  timer?(ms: number, fn: () => void, slackMs?: number): Timer;
}

/**
 * The monotonic reading that corresponds to a wall time, by the clocks' offset now: for a time
 * read back from the store (a restored last check, another process's call). Never later than
 * `clock.monotonic()`: a wall time "in the future" (the clock was stepped back since) counts as now.
 */
export function monotonicOf(clock: Clock, wallMs: number): number {
  const mono = clock.monotonic();
  return mono - Math.max(0, clock.now() - wallMs);
}
