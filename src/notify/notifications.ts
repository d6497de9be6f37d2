// The notification layer as the daemon sees it: one object that takes the poller's alerts
// (AlertSink) and the audit reports (AuditSender), holds alerts for grouping and releases them
// (GroupRelease, run by the worker's loop), delivers them from the outbox, re-sends firing
// Alertmanager alerts every minute, and reports pending counts and delivery outcomes for the
// metrics.

import type { AuditDelivery, AuditMessage, AuditSender } from '../audit/sender.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Clock } from '../monitor/clock.js';
import type { OutboxStore } from '../store/outbox.js';
import type { ChannelServices } from './channels/definition.js';
import type { AlertSink, MonitorAlert } from './events.js';
import type { Notifier } from './notifier.js';
import {
  OutboxWorker,
  type BackoffPolicy,
  type ChannelPending,
  type DeliveryOutcome,
} from './outbox-worker.js';
import { createNotifiers, type NotifierFactory } from './registry.js';
import { GroupRelease, type FleetCounts } from './release.js';
import { NotificationSink } from './sink.js';

/** How often firing Alertmanager alerts are checked for their minute being up. */
const REFRESH_CHECK_MS = 15_000;

export interface NotificationsOptions {
  /** `new SqliteOutbox(sqliteStore)`: the daemon's database. */
  readonly outbox: OutboxStore;
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Logger;
  /** Each attempt (`sent`/`failed`) and each message given up (`dropped`): `metrics.recordNotification`. */
  readonly onOutcome?: (channel: string, outcome: DeliveryOutcome) => void;
  /** Tests replace the real channels. */
  readonly createNotifier?: NotifierFactory;
  /** What the daemon offers channels (the accounts' gateways, for whatsapp). */
  readonly services?: ChannelServices;
  readonly newId?: () => string;
  readonly backoff?: BackoffPolicy;
  readonly maxAgeMs?: number;
  /** Each account's devices and how many are DOWN now, for the mass-outage line (the poller state). */
  readonly fleet?: FleetCounts;
}

export class Notifications implements AlertSink, AuditSender {
  readonly #outbox: OutboxStore;
  readonly #log: Logger;
  readonly #factory: NotifierFactory | undefined;
  readonly #services: ChannelServices;
  readonly #clock: Clock;
  #notifiers: Map<string, Notifier>;
  #config: Config;
  readonly #worker: OutboxWorker;
  readonly #sink: NotificationSink;
  readonly #stop = new AbortController();
  #refresher: Promise<void> | null = null;

  constructor(options: NotificationsOptions) {
    this.#outbox = options.outbox;
    this.#log = options.log.child({ component: 'notify' });
    this.#clock = options.clock;
    this.#factory = options.createNotifier;
    this.#services = options.services ?? {};
    this.#notifiers = createNotifiers(options.config, this.#factory, this.#services);
    this.#config = options.config;
    const release = new GroupRelease({
      store: options.outbox,
      clock: options.clock,
      log: options.log,
      policy: () => ({
        groupWaitMs: this.#config.notify.groupWaitMs,
        groupIntervalMs: this.#config.notify.groupIntervalMs,
      }),
      ...(options.fleet === undefined ? {} : { fleet: options.fleet }),
      ...(options.newId === undefined ? {} : { newId: options.newId }),
    });
    this.#worker = new OutboxWorker({
      store: options.outbox,
      clock: options.clock,
      log: options.log,
      notifiers: this.#notifiers,
      ...(options.onOutcome === undefined ? {} : { onOutcome: options.onOutcome }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      ...(options.maxAgeMs === undefined ? {} : { maxAgeMs: options.maxAgeMs }),
      release: (now) => release.run(now).wakeAt,
    });
    this.#sink = new NotificationSink({
      store: options.outbox,
      clock: options.clock,
      log: options.log,
      config: options.config,
      onQueued: () => this.#worker.wake(),
      ...(options.newId === undefined ? {} : { newId: options.newId }),
    });
  }

  /**
   * Starts delivering, beginning with whatever a previous run left in the outbox, and re-sending
   * firing Alertmanager alerts (checked every 15 s, so whatever the poll schedule, each goes out
   * again 60–75 s after the last time).
   */
  start(): void {
    this.#worker.start();
    this.#refresher ??= this.#refreshLoop();
  }

  /** The poller's seam: one call per account poll cycle. Throws only if the database fails. */
  publish(alerts: readonly MonitorAlert[]): void {
    this.#sink.publish(alerts);
  }

  /** The scheduled audit: queued in the outbox like every message (outcome `queued`). */
  sendAuditReport(message: AuditMessage, channels: readonly string[]): Promise<readonly AuditDelivery[]> {
    return Promise.resolve(this.#sink.queueAudit(message, channels));
  }

  /**
   * Re-sends firing Alertmanager alerts whose minute is up. start() already runs it every 15 s;
   * the daemon may call it on its ticks too (idempotent). Never throws.
   */
  tick(now: number = this.#clock.now()): void {
    try {
      this.#sink.refreshFiring(now);
    } catch (err) {
      this.#log.error({ err }, 'could not queue the Alertmanager re-send');
    }
  }

  /** SIGHUP: new channels, routes and rendering settings; pending messages stay queued. */
  async reload(config: Config): Promise<void> {
    const old = this.#notifiers;
    this.#notifiers = createNotifiers(config, this.#factory, this.#services);
    this.#config = config;
    this.#sink.setConfig(config);
    this.#worker.setNotifiers(this.#notifiers);
    await Promise.allSettled([...old.values()].map((n) => n.close()));
  }

  /** For `whatsgate_notifications_pending`; cached, no I/O. */
  pending(): ChannelPending[] {
    return this.#worker.pending();
  }

  /** For `whatsgate_notification_senders_up`: channels that send through watched devices. No I/O. */
  sendersUp(): { channel: string; up: number }[] {
    const out: { channel: string; up: number }[] = [];
    for (const [channel, notifier] of this.#notifiers) {
      if (notifier.sendersUp !== undefined) out.push({ channel, up: notifier.sendersUp() });
    }
    return out;
  }

  /** Deletes delivered and dropped messages finished before `before` (retention). */
  prune(before: number): number {
    const removed = this.#outbox.prune(before);
    this.#worker.refreshPending();
    return removed;
  }

  /** Stops delivering (attempts in flight are abandoned and retried at the next start). */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#refresher;
    await this.#worker.stop();
    await Promise.allSettled([...this.#notifiers.values()].map((n) => n.close()));
  }

  async #refreshLoop(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      this.tick();
      try {
        await this.#clock.sleep(REFRESH_CHECK_MS, signal);
      } catch {
        return;
      }
    }
  }
}
