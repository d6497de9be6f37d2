// The weekly (or whatever `audit.schedule` says) report to `audit.channels`, through the outbox.

import { createTask, type ScheduledTask } from 'node-cron';
import type { Period } from '../audit/compute.js';
import { auditFromStore } from '../audit/from-store.js';
import { buildAuditMessageInSlices } from '../audit/sender.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Clock } from '../monitor/clock.js';
import type { Notifications } from '../notify/notifications.js';
import type { Store } from '../store/store.js';

const DAY_MS = 86_400_000;

export interface AuditScheduleDeps {
  readonly store: Store;
  readonly notifications: Pick<Notifications, 'sendAuditReport'>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: () => Config;
  readonly runningPeriods: (now: number) => Period[];
}

export class AuditSchedule {
  readonly #deps: AuditScheduleDeps;
  #task: ScheduledTask | null = null;

  constructor(deps: AuditScheduleDeps) {
    this.#deps = deps;
  }

  /** Schedules the report by the current config; none when `audit.schedule` is unset. */
  start(): void {
    const config = this.#deps.config();
    const schedule = config.audit.schedule;
    if (schedule === null) {
      this.#task = null;
      return;
    }
    this.#task = createTask(schedule, () => void this.send(), { timezone: config.timezone, name: 'audit' });
    void this.#task.start();
  }

  async stop(): Promise<void> {
    await this.#task?.destroy();
  }

  /** Whether a reload from `old` to `config` needs the schedule started again. */
  static changed(old: Config, config: Config): boolean {
    return config.audit.schedule !== old.audit.schedule || config.timezone !== old.timezone;
  }

  /** Queues the report of the last 7 days; never rejects, a failure is logged. */
  async send(): Promise<void> {
    const { store, notifications, clock, log } = this.#deps;
    const now = clock.now();
    const config = this.#deps.config();
    try {
      const report = await auditFromStore(store, config, {
        now,
        since: now - 7 * DAY_MS,
        runningPeriods: this.#deps.runningPeriods(now),
      });
      const deliveries = await notifications.sendAuditReport(
        await buildAuditMessageInSlices(report, config.timezone),
        config.audit.channels,
      );
      log.info({ component: 'audit', deliveries }, 'audit report queued');
    } catch (err) {
      log.error({ component: 'audit', err }, 'audit report failed');
    }
  }
}
