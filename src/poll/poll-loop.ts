// The fan-out of a tick: every account's cycle, concurrently.

import { setMaxListeners } from 'node:events';
import type { Clock } from '../monitor/clock.js';
import { DEFAULT_CYCLE_MS, type CycleReport, type CycleRunner } from './cycle.js';

/** A cycle never plans past this, whatever the schedule says: the longest sane tick period. */
const MAX_CYCLE_MS = 24 * 60 * 60 * 1000;

export interface PollLoopOptions {
  readonly clock: Clock;
  /** Cycle length when a tick does not say when the next one comes. Default DEFAULT_CYCLE_MS. */
  readonly cycleMs?: number;
  /** Every cycle's report, skipped ones included (metrics, per-cycle notification batching). */
  readonly onCycle?: (report: CycleReport) => void;
  readonly onError?: (account: string, error: unknown) => void;
}

/**
 * Fans each tick out to every account's cycle, concurrently. An account whose previous cycle
 * still runs skips the tick (reported as skipped), so one slow account never delays the
 * others and never runs two cycles at once.
 */
export class PollLoop {
  readonly #clock: Clock;
  readonly #cycleMs: number;
  readonly #onCycle: (report: CycleReport) => void;
  readonly #onError: (account: string, error: unknown) => void;
  readonly #runners = new Map<string, CycleRunner>();
  /** The signal of the cycles running now; `interrupt` ends them and starts a new one. */
  #generation = new AbortController();
  #stopped = false;

  constructor(options: PollLoopOptions) {
    this.#clock = options.clock;
    this.#cycleMs = options.cycleMs ?? DEFAULT_CYCLE_MS;
    this.#onCycle = options.onCycle ?? (() => undefined);
    this.#onError = options.onError ?? (() => undefined);
    this.#newGeneration();
  }

  add(runner: CycleRunner): void {
    if (this.#runners.has(runner.account)) {
      throw new Error(`account ${runner.account} is already scheduled`);
    }
    this.#runners.set(runner.account, runner);
  }

  /** Removes an account (reload) and stops it; resolves when its cycle is over. */
  async remove(account: string): Promise<void> {
    const runner = this.#runners.get(account);
    if (runner === undefined) return;
    this.#runners.delete(account);
    await runner.stop();
  }

  /**
   * Starts a cycle for every account. `nextTickAt` (wall time: the cron's next match) bounds the
   * cycles. Resolves with the reports when the cycles started by this tick are over; never rejects.
   */
  async tick(nextTickAt?: number): Promise<CycleReport[]> {
    if (this.#stopped) return [];
    // The cycles run on the monotonic clock: the wall time of the next tick becomes a time from
    // now, once, here. Bounded, so a wall clock stepped between the cron's reading and ours can
    // neither end a cycle at once nor let it run for hours.
    const fromNow =
      nextTickAt === undefined
        ? this.#cycleMs
        : Math.min(Math.max(nextTickAt - this.#clock.now(), 0), MAX_CYCLE_MS);
    const deadline = this.#clock.monotonic() + fromNow;
    const signal = this.#generation.signal;
    const runs = [...this.#runners.values()].map((r) => this.#runOne(r, signal, deadline));
    const reports = await Promise.all(runs);
    return reports.filter((r): r is CycleReport => r !== undefined);
  }

  /** Stops every account; see AccountScheduler.stop. */
  async stop(options: { readonly graceMs?: number } = {}): Promise<void> {
    await Promise.all([...this.#runners.values()].map((r) => r.stop(options)));
    this.#stopped = true;
    this.#generation.abort();
  }

  /**
   * Ends the cycles running now — their signal aborts, so no call starts and sleeps end — and
   * keeps the accounts for later ticks: an HA replica that lost the lease (SPEC §11) stops
   * polling at once but may lead again. The ticks in flight resolve soon after.
   */
  interrupt(): void {
    this.#generation.abort(new Error('polling interrupted: this replica no longer holds the lease'));
    this.#newGeneration();
  }

  #newGeneration(): void {
    this.#generation = new AbortController();
    // Every running account cycle links to this signal for the length of its cycle: 500 accounts
    // mean 500 listeners at once, by design, not a leak.
    setMaxListeners(0, this.#generation.signal);
  }

  async #runOne(
    runner: CycleRunner,
    signal: AbortSignal,
    deadline: number,
  ): Promise<CycleReport | undefined> {
    try {
      const report = await runner.runCycle(signal, { deadline });
      this.#onCycle(report);
      return report;
    } catch (error) {
      this.#onError(runner.account, error);
      return undefined;
    }
  }
}
