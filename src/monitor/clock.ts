// Time as an injected dependency: the scheduler, budget and reminders never read the system clock
// themselves, so tests drive them with a fake clock (test-support/fake-clock.ts) and no real sleeps.
// The real clock is an edge: poll/system-clock.ts.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Resolves after `ms`; rejects with the signal's reason when the signal aborts first.
   * `ms <= 0` resolves at once; `Infinity` waits for the signal only.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
