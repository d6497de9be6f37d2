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
  /** Receives node-cron's own messages (missed executions); default: node-cron's console logger. */
  readonly logger?: Logger;
}

export class Ticker {
  readonly expression: string;
  readonly #onTick: (tick: Tick) => void;
  readonly #options: TickerOptions;
  #task: ScheduledTask | undefined;

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
    this.#task = task;
  }

  /** The next tick's time, or null when stopped: bounds a cycle started outside the schedule. */
  nextAt(): number | null {
    return this.#task?.getNextRuns(1)[0]?.getTime() ?? null;
  }

  async stop(): Promise<void> {
    const task = this.#task;
    this.#task = undefined;
    if (task !== undefined) await task.destroy();
  }
}
