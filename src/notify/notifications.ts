// The notification layer as the daemon sees it: one object that takes the poller's alerts
// (AlertSink) and the audit reports (AuditSender), holds alerts for grouping and releases them
// (GroupRelease, run by the worker's loop), delivers them from the outbox, re-sends firing
// Alertmanager alerts every minute, and reports pending counts and delivery outcomes for the
// metrics.
//
// HA (SPEC §11): `canSend` gates every release, claim, attempt and Alertmanager re-send (a
// replica whose lease lapsed on its own clock sends nothing), and stop()/start() may alternate
// on one object: a replica that loses the lease stops delivering, and starts again when it
// leads again (its channels, closed by stop(), are made afresh).

import type { AuditDelivery, AuditMessage, AuditSender } from '../audit/sender.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Clock } from '../monitor/clock.js';
import type { OutboxStore } from '../store/outbox-store.js';
import type { ChannelServices } from './channels/definition.js';
import { ALWAYS, isDeposed } from './deposed.js';
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
  /** `store.outbox`: the daemon's database (SQLite or PostgreSQL). */
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
  /**
   * HA: whether this replica may deliver now (it holds the lease by its own monotonic clock).
   * Asked right before every release, claim, attempt and re-send; while false nothing is
   * released, claimed or sent, and delivery resumes by itself once it is true again (within a
   * second, or at once after wake()). Default: always (a single node).
   */
  readonly canSend?: () => boolean;
}

export class Notifications implements AlertSink, AuditSender {
  readonly #outbox: OutboxStore;
  readonly #log: Logger;
  readonly #factory: NotifierFactory | undefined;
  readonly #services: ChannelServices;
  readonly #clock: Clock;
  readonly #canSend: () => boolean;
  #notifiers: Map<string, Notifier>;
  /** stop() closed them; the next start() makes them afresh. */
  #notifiersClosed = false;
  #config: Config;
  readonly #worker: OutboxWorker;
  readonly #sink: NotificationSink;
  /** The re-send loop of the current run: aborted by stop(), replaced by start(). */
  #refreshStop = new AbortController();
  #refresher: Promise<void> | null = null;
  #lastRefresher: Promise<void> = Promise.resolve();
  /** A re-send refused as `deposed` was logged at warn in this run (the rest go at debug). */
  #refreshDeposedLogged = false;

  constructor(options: NotificationsOptions) {
    this.#outbox = options.outbox;
    this.#log = options.log.child({ component: 'notify' });
    this.#clock = options.clock;
    this.#canSend = options.canSend ?? ALWAYS;
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
      canSend: this.#canSend,
      ...(options.onOutcome === undefined ? {} : { onOutcome: options.onOutcome }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      ...(options.maxAgeMs === undefined ? {} : { maxAgeMs: options.maxAgeMs }),
      release: async (now) => (await release.run(now)).wakeAt,
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
   * Starts delivering, beginning with whatever a previous run (or process, or replica) left in
   * the outbox, and re-sending firing Alertmanager alerts (checked every 15 s, so whatever the
   * poll schedule, each goes out again 60–75 s after the last time). Idempotent while running;
   * after stop() it starts again.
   */
  start(): void {
    if (this.#refresher !== null) return;
    if (this.#notifiersClosed) {
      this.#notifiers = createNotifiers(this.#config, this.#factory, this.#services);
      this.#notifiersClosed = false;
      this.#worker.setNotifiers(this.#notifiers);
    }
    this.#worker.start();
    this.#refreshDeposedLogged = false;
    if (this.#refreshStop.signal.aborted) this.#refreshStop = new AbortController();
    const refresher = this.#refreshLoop(this.#refreshStop.signal, this.#lastRefresher);
    this.#refresher = refresher;
    this.#lastRefresher = refresher;
  }

  /**
   * The cycle writer's seam: a tick's alerts, queued through `outbox` — its transaction's
   * `tx.outbox`, so they commit with the tick's device rows. Rejects if the database fails (a
   * `deposed` StoreError included: the caller's transaction is refused as a whole).
   */
  publish(alerts: readonly MonitorAlert[], outbox: OutboxStore): Promise<void> {
    return this.#sink.publish(alerts, outbox);
  }

  /**
   * Messages were committed by someone else's transaction (the cycle writer's, after publish()):
   * deliver now. publish() wakes the loop already, which is enough on SQLite (the loop's reads
   * wait for that transaction to end); on PostgreSQL they would not see rows not yet committed,
   * so the writer calls this once its transaction has committed.
   */
  wake(): void {
    this.#worker.wake();
  }

  /** The scheduled audit: queued in the outbox like every message (outcome `queued`). */
  sendAuditReport(message: AuditMessage, channels: readonly string[]): Promise<readonly AuditDelivery[]> {
    return this.#sink.queueAudit(message, channels);
  }

  /**
   * Re-sends firing Alertmanager alerts whose minute is up (nothing while `canSend` says no).
   * start() already runs it every 15 s; the daemon may call it on its ticks too (idempotent).
   * Never rejects: a failure is logged.
   */
  async tick(now: number = this.#clock.now()): Promise<void> {
    if (!this.#canSend()) return;
    try {
      await this.#sink.refreshFiring(now);
    } catch (err) {
      if (isDeposed(err)) {
        const line = 'another replica took over the lease: the Alertmanager re-send is left to it';
        if (this.#refreshDeposedLogged) this.#log.debug({ err }, line);
        else this.#log.warn({ err }, line);
        this.#refreshDeposedLogged = true;
      } else {
        this.#log.error({ err }, 'could not queue the Alertmanager re-send');
      }
    }
  }

  /** SIGHUP: new channels, routes and rendering settings; pending messages stay queued. */
  async reload(config: Config): Promise<void> {
    const old = this.#notifiers;
    const wasClosed = this.#notifiersClosed;
    this.#notifiers = createNotifiers(config, this.#factory, this.#services);
    this.#notifiersClosed = false;
    this.#config = config;
    this.#sink.setConfig(config);
    this.#worker.setNotifiers(this.#notifiers);
    if (!wasClosed) await Promise.allSettled([...old.values()].map((n) => n.close()));
  }

  /**
   * For `whatsgate_notifications_pending`: the counts the worker read last (after each pass, at
   * each wake), so synchronous and without I/O; empty until the first read after start.
   */
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

  /** Deletes delivered and dropped messages finished before `before` (retention); resolves to how many. */
  async prune(before: number): Promise<number> {
    const removed = await this.#outbox.prune(before);
    await this.#worker.refreshPending();
    return removed;
  }

  /**
   * Stops delivering and closes the channels (attempts in flight are abandoned and retried at the
   * next start, by this process or the replica that leads next). start() may follow.
   */
  async stop(): Promise<void> {
    // Everything is set in motion before the first await, so a start() that comes before this
    // resolves begins a new run with new channels rather than racing with this one's end.
    this.#refreshStop.abort();
    const refresher = this.#refresher;
    this.#refresher = null;
    const stopped = this.#worker.stop();
    const closing = this.#notifiersClosed ? [] : [...this.#notifiers.values()];
    this.#notifiersClosed = true;
    await refresher;
    await stopped;
    await Promise.allSettled(closing.map((n) => n.close()));
  }

  async #refreshLoop(signal: AbortSignal, previous: Promise<void>): Promise<void> {
    await previous;
    while (!signal.aborted) {
      await this.tick();
      try {
        await this.#clock.sleep(REFRESH_CHECK_MS, signal);
      } catch {
        return;
      }
    }
  }
}
