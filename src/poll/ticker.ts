// The node-cron wiring: the config's `schedule` only says when to look for due work (SPEC §3),
// so this stays a thin edge that turns cron matches into calls of a plain callback. Everything
// that decides anything (PollLoop, AccountScheduler) is tested without it.
//
// node-cron times its next match on the wall clock: after the wall clock is stepped back by an
// hour it waits that hour, and no cycle starts (issue 11). A ClockStepWatch compares the wall
// clock with the monotonic one every second; when they drift apart the task is made anew, which
// plans from the new wall time, and a tick runs at once.

import cron from 'node-cron';
import type { Logger, ScheduledTask } from 'node-cron';
import type { Clock } from '../monitor/clock.js';
import { systemClock } from './system-clock.js';

export interface Tick {
  /** The matched cron time, ms since the epoch. */
  readonly at: number;
  /** The next match, so a cycle can finish before it; null if the task has stopped. */
  readonly nextAt: number | null;
}

export interface TickerOptions {
  readonly timezone?: string;
  /** Receives node-cron's own messages and one line per run of missed executions; default: the console. */
  readonly logger?: Logger;
  /** Wall and monotonic time, to notice a stepped wall clock. Default: the system clock. */
  readonly clock?: Clock;
}

/** How often the wall clock is compared with the monotonic one. */
const STEP_CHECK_MS = 1_000;
/** Drift between the two clocks beyond timer jitter and NTP slewing: a step. */
const STEP_THRESHOLD_MS = 2_000;

/**
 * Notices a step of the wall clock: the offset between wall and monotonic time stays put while
 * time passes (NTP slews it by milliseconds at most), and moves by the step when someone sets it.
 */
export class ClockStepWatch {
  #offset: number;

  constructor(
    private readonly clock: Clock,
    private readonly thresholdMs = STEP_THRESHOLD_MS,
  ) {
    this.#offset = clock.now() - clock.monotonic();
  }

  /** The step since the last call (positive: forward), or 0 when the clocks still agree. */
  check(): number {
    const offset = this.clock.now() - this.clock.monotonic();
    const step = offset - this.#offset;
    if (Math.abs(step) < this.thresholdMs) return 0;
    this.#offset = offset;
    return step;
  }
}

/** Missed executions this close together are one run, reported in one line. */
const MISSED_QUIET_MS = 1_000;

/**
 * Collapses node-cron's "missed execution" reports: after a forward clock jump of a day it reports
 * every match it skipped (43,202 lines at a 2 s schedule); the operator needs one line with the
 * count and the span. `report` is called once per run, after MISSED_QUIET_MS without another.
 */
export class MissedRuns {
  #count = 0;
  #first: Date | undefined;
  #last: Date | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly report: (message: string) => void,
    private readonly quietMs = MISSED_QUIET_MS,
  ) {}

  missed(at: Date): void {
    this.#count++;
    this.#first ??= at;
    this.#last = at;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.flush(), this.quietMs);
    this.#timer.unref();
  }

  /** Reports the run so far, if any (also on stop). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#count === 0 || this.#first === undefined || this.#last === undefined) return;
    const span =
      this.#count === 1
        ? `at ${this.#first.toISOString()}`
        : `from ${this.#first.toISOString()} to ${this.#last.toISOString()}`;
    const message =
      `missed ${this.#count} scheduled tick${this.#count === 1 ? '' : 's'} ${span} ` +
      '(the clock jumped forward, or the process was blocked); due checks run at the next tick';
    this.#count = 0;
    this.#first = undefined;
    this.#last = undefined;
    try {
      this.report(message);
    } catch {
      // a throwing logger must not break the ticker
    }
  }
}

export class Ticker {
  readonly expression: string;
  readonly #onTick: (tick: Tick) => void;
  readonly #options: TickerOptions;
  #task: ScheduledTask | undefined;
  #missed: MissedRuns | undefined;
  #watch: NodeJS.Timeout | undefined;

  /** Throws on an invalid expression; config validation should have caught it earlier. */
  constructor(expression: string, onTick: (tick: Tick) => void, options: TickerOptions = {}) {
    if (!cron.validate(expression)) throw new Error(`invalid cron expression: ${expression}`);
    this.expression = expression;
    this.#onTick = onTick;
    this.#options = options;
  }

  get running(): boolean {
    return this.#task !== undefined;
  }

  start(): void {
    if (this.#task !== undefined) return;
    this.#schedule();
    const steps = new ClockStepWatch(this.#options.clock ?? systemClock);
    this.#watch = setInterval(() => {
      const step = steps.check();
      if (step === 0 || this.#task === undefined) return;
      (this.#options.logger ?? console).warn(
        `the wall clock was stepped ${step > 0 ? 'forward' : 'back'} by ${Math.round(Math.abs(step) / 1000)} s; the schedule restarts from the new time`,
      );
      void this.#task.destroy();
      this.#task = undefined;
      this.#schedule();
      const next = this.nextAt();
      this.#onTick({ at: (this.#options.clock ?? systemClock).now(), nextAt: next });
    }, STEP_CHECK_MS);
    this.#watch.unref();
  }

  #schedule(): void {
    this.#missed?.flush();
    const options: { timezone?: string; logger?: Logger } = {};
    if (this.#options.timezone !== undefined) options.timezone = this.#options.timezone;
    if (this.#options.logger !== undefined) options.logger = this.#options.logger;
    const task = cron.schedule(
      this.expression,
      (context) => {
        // Computed from now: node-cron's own next run may still point at the current match.
        const next = task.getNextRuns(1)[0];
        this.#onTick({ at: context.date.getTime(), nextAt: next?.getTime() ?? null });
      },
      options,
    );
    // A listener keeps node-cron from logging each missed execution itself.
    const missed = new MissedRuns((message) => (this.#options.logger ?? console).warn(message));
    task.on('execution:missed', (context) => missed.missed(context.date));
    this.#missed = missed;
    this.#task = task;
  }

  /** The next tick's time, or null when stopped: bounds a cycle started outside the schedule. */
  nextAt(): number | null {
    return this.#task?.getNextRuns(1)[0]?.getTime() ?? null;
  }

  async stop(): Promise<void> {
    clearInterval(this.#watch);
    this.#watch = undefined;
    const task = this.#task;
    this.#task = undefined;
    this.#missed?.flush();
    this.#missed = undefined;
    if (task !== undefined) await task.destroy();
  }
}
