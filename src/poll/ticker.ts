// The node-cron wiring: the config's `schedule` only says when to look for due work (SPEC §3),
// so this stays a thin edge that turns cron matches into calls of a plain callback. Everything
// that decides anything (PollLoop, AccountScheduler) is tested without it.

import cron from 'node-cron';
import type { Logger, ScheduledTask } from 'node-cron';

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
    const task = this.#task;
    this.#task = undefined;
    this.#missed?.flush();
    this.#missed = undefined;
    if (task !== undefined) await task.destroy();
  }
}
