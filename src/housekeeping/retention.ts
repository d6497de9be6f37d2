// Retention (SPEC `retention`): history, silences and sent notifications older than the retention
// are pruned daily at 03:17, and once at start (a daemon restarted daily might never reach 03:17).
// The store deletes the history in short slices, letting the daemon poll in between; the log says
// how many and how long the longest held the database.

import { createTask, type ScheduledTask } from 'node-cron';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Clock } from '../monitor/clock.js';
import type { Store } from '../store/store.js';

const RETENTION_SCHEDULE = '17 3 * * *';

export interface RetentionDeps {
  readonly store: Store;
  /** Prunes the notification outbox; resolves with how many messages went. */
  readonly pruneNotifications: (before: number) => Promise<number>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: () => Config;
}

export class Retention {
  readonly #deps: RetentionDeps;
  #task: ScheduledTask | null = null;

  constructor(deps: RetentionDeps) {
    this.#deps = deps;
  }

  /**
   * Schedules the daily prune (in the time zone of the config at start) and prunes once now;
   * resolves when that first prune is done (never rejects).
   */
  start(): Promise<void> {
    this.#task = createTask(RETENTION_SCHEDULE, () => void this.prune(), {
      timezone: this.#deps.config().timezone,
    });
    void this.#task.start();
    return this.prune();
  }

  async stop(): Promise<void> {
    await this.#task?.destroy();
  }

  /** Never rejects: a failure is logged. */
  async prune(): Promise<void> {
    const { store, pruneNotifications, clock, log, config } = this.#deps;
    const cutoff = clock.now() - config().retentionMs;
    let slices = 0;
    let longestSliceMs = 0;
    const onSlice = ({ ms }: { ms: number }): void => {
      slices++;
      longestSliceMs = Math.max(longestSliceMs, ms);
    };
    try {
      const result = {
        ...(await store.prune(cutoff, { onSlice })),
        notifications: await pruneNotifications(cutoff),
      };
      log.info(
        { component: 'store', ...result, slices, longestSliceMs: Math.round(longestSliceMs) },
        'retention pruning done',
      );
    } catch (err) {
      log.error({ component: 'store', err }, 'retention pruning failed');
    }
  }
}
