// The exporter: per-device families are pulled from the daemon and written as text
// (device-block.ts); everything else is ordinary prom-client metrics in registries of our own.
//
// Two registries because an HA standby (SPEC §11) exports only the monitor's own series
// (`whatsgate_monitor_*`, `whatsgate_monitor_leader 0`) and process metrics: device, account and
// notification series come from the lease holder alone, so queries over replicas never double.
//
// Over 350 lines: the registry holds every metric family's definition in one place, so names
// and help texts are read (and generated into docs/reference.md) from here alone.

import { setImmediate as nextTurn } from 'node:timers/promises';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PrometheusContentType } from 'prom-client';
import { PROBE_ERROR_REASONS } from '../monitor/model.js';
import type { ProbeErrorReason } from '../monitor/model.js';
import { DeviceBlockRenderer } from './device-block.js';
import { DeviceSnapshot } from './device-snapshot.js';
import { PROMETHEUS_CONTENT_TYPE } from './exposition.js';
import { ChunkPool, Exposition, expositionText } from './exposition-stream.js';
import type { MetricsSource } from './source.js';

export type CheckOutcome = 'ok' | ProbeErrorReason;

/**
 * `sent` and `failed` are delivery attempts; `dropped` is the outbox giving up on a message
 * (it counts no attempt, since the failed attempts before it were already recorded).
 */
export type NotificationOutcome = 'sent' | 'failed' | 'dropped';

export interface MetricsOptions {
  readonly source: MetricsSource;
  readonly version: string;
  /** Configured notification channels: their series exist at 0 from the start. */
  readonly channels?: readonly string[];
  /** Defaults to a new registry; never prom-client's global one. */
  readonly registry?: Registry<PrometheusContentType>;
  /** prom-client's process and Node.js metrics; default `true`. */
  readonly processMetrics?: boolean;
  /**
   * How much of the device block `/metrics` hands to the socket at a time; default 64 KiB.
   * `Number.POSITIVE_INFINITY`: in one piece.
   */
  readonly chunkBytes?: number;
}

/**
 * Sized for one HTTP call under a 10 s timeout: fine steps where healthy calls land, `10` as
 * "finished within the default timeout", and timeouts (just over 10 s) in the buckets above.
 */
export const CHECK_DURATION_BUCKETS: readonly number[] = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];

/**
 * prom-client registers these as gauges with a `_total` suffix, which `promtool check metrics`
 * rejects (the suffix is reserved for counters). They are dropped rather than renamed: each is
 * `sum(...)` of its per-type sibling (`nodejs_active_handles{type}` etc.), which stays.
 */
const DROPPED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

export class Metrics {
  readonly registry: Registry<PrometheusContentType>;
  /** The `Content-Type` of `render()`'s text. */
  readonly contentType: string = PROMETHEUS_CONTENT_TYPE;

  readonly #source: MetricsSource;
  readonly #devices = new DeviceBlockRenderer();
  readonly #chunks: ChunkPool;
  /** An idle device snapshot, reused by the next scrape (its columns are ~100 B a device). */
  #idleSnapshot: DeviceSnapshot | null = null;
  /** Accounts whose counters are initialised, so each is set up (and forgotten) exactly once. */
  readonly #accounts = new Set<string>();
  #channels: ReadonlySet<string>;

  readonly #checks: Counter<'account'>;
  readonly #deliveryChecks: Counter<'account'>;
  readonly #deliveryInterval: Gauge<'account'>;
  readonly #checkErrors: Counter<'account' | 'reason'>;
  readonly #checkDuration: Histogram<'account'>;
  readonly #cyclesSkipped: Counter<'account'>;
  readonly #reachable: Gauge<'account'>;
  readonly #interval: Gauge<'account'>;
  readonly #effectiveInterval: Gauge<'account'>;
  readonly #cycleDuration: Gauge<'account'>;
  readonly #notifications: Counter<'channel'>;
  readonly #notificationFailures: Counter<'channel'>;
  readonly #notificationsDropped: Counter<'channel'>;
  readonly #notificationsPending: Gauge<'channel'>;
  readonly #sendersUp: Gauge<'channel'>;
  readonly #storeErrors: Counter;
  readonly #storeWritable: Gauge;
  readonly #leader: Gauge;
  /** `whatsgate_monitor_*` and the process: exported by every replica. */
  readonly #monitorRegistry = new Registry<PrometheusContentType>();

  constructor(options: MetricsOptions) {
    this.#source = options.source;
    this.#chunks = new ChunkPool(options.chunkBytes ?? 64 * 1024);
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    // The device block is appended as 0.0.4 text; an OpenMetrics registry would mix formats.
    // The type already says so; this catches callers without types (widened to string for that).
    const contentType: string = registry.contentType;
    if (contentType !== PROMETHEUS_CONTENT_TYPE) {
      throw new TypeError(`Metrics needs a registry in ${PROMETHEUS_CONTENT_TYPE}, got ${contentType}`);
    }
    const registers = [registry];

    this.#checks = new Counter({
      name: 'whatsgate_checks_total',
      help: 'Calls made to the WhatsGate API (status, connect and balance).',
      labelNames: ['account'],
      registers,
    });
    this.#deliveryChecks = new Counter({
      name: 'whatsgate_delivery_checks_total',
      help: 'Balance reads (GET /reports/balance) made to the WhatsGate API; also counted in whatsgate_checks_total.',
      labelNames: ['account'],
      registers,
    });
    this.#deliveryInterval = new Gauge({
      name: 'whatsgate_account_delivery_interval_seconds',
      help: "How often each device's balance is really read, given the budget left after status checks (+Inf: none left).",
      labelNames: ['account'],
      registers,
    });
    this.#checkErrors = new Counter({
      name: 'whatsgate_check_errors_total',
      help: 'API calls that produced no status, by reason.',
      labelNames: ['account', 'reason'],
      registers,
    });
    this.#checkDuration = new Histogram({
      name: 'whatsgate_check_duration_seconds',
      help: 'Duration of one WhatsGate API call.',
      labelNames: ['account'],
      buckets: [...CHECK_DURATION_BUCKETS],
      registers,
    });
    this.#cyclesSkipped = new Counter({
      name: 'whatsgate_poll_cycles_skipped_total',
      help: 'Scheduler ticks skipped because the previous poll cycle was still running.',
      labelNames: ['account'],
      registers,
    });
    this.#reachable = new Gauge({
      name: 'whatsgate_account_reachable',
      help: '0 while account.unreachable holds (the monitor cannot see the devices), else 1.',
      labelNames: ['account'],
      registers,
    });
    this.#interval = new Gauge({
      name: 'whatsgate_account_interval_seconds',
      help: 'How often the configuration asks for each device of the account to be checked.',
      labelNames: ['account'],
      registers,
    });
    this.#effectiveInterval = new Gauge({
      name: 'whatsgate_account_effective_interval_seconds',
      help: 'How often each device of the account is really checked, given the API budget.',
      labelNames: ['account'],
      registers,
    });
    this.#cycleDuration = new Gauge({
      name: 'whatsgate_poll_cycle_duration_seconds',
      help: 'Duration of the last full poll cycle of the account.',
      labelNames: ['account'],
      registers,
    });
    this.#notifications = new Counter({
      name: 'whatsgate_notifications_total',
      help: 'Notification delivery attempts.',
      labelNames: ['channel'],
      registers,
    });
    this.#notificationFailures = new Counter({
      name: 'whatsgate_notification_failures_total',
      help: 'Notification delivery attempts that failed (retried later unless given up).',
      labelNames: ['channel'],
      registers,
    });
    this.#notificationsDropped = new Counter({
      name: 'whatsgate_notifications_dropped_total',
      help: 'Notifications given up on (older than 24 h or refused for good).',
      labelNames: ['channel'],
      registers,
    });
    this.#notificationsPending = new Gauge({
      name: 'whatsgate_notifications_pending',
      help: 'Notifications waiting in the outbox.',
      labelNames: ['channel'],
      registers,
    });
    this.#sendersUp = new Gauge({
      name: 'whatsgate_notification_senders_up',
      help: 'Channels that send through monitored devices (whatsapp): how many of their sender devices are UP; at 0 their messages wait in the outbox.',
      labelNames: ['channel'],
      registers,
    });
    const monitor = [this.#monitorRegistry];
    this.#storeErrors = new Counter({
      name: 'whatsgate_monitor_store_errors_total',
      help: 'Writes of poll results (device rows, history, alerts) that the database refused; they are held and retried.',
      registers: monitor,
    });
    this.#storeWritable = new Gauge({
      name: 'whatsgate_monitor_store_writable',
      help: '1 while the database takes writes; 0 from a failed write until one succeeds (alerts and history wait in memory).',
      registers: monitor,
    });
    this.#leader = new Gauge({
      name: 'whatsgate_monitor_leader',
      help: '1 on the replica that holds the HA lease (it polls and notifies; always 1 without HA), 0 on a standby.',
      registers: monitor,
    });
    new Gauge({
      name: 'whatsgate_monitor_build_info',
      help: 'Always 1: the version of whatsgate-monitor.',
      labelNames: ['version'],
      registers: monitor,
    }).set({ version: options.version }, 1);

    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.#monitorRegistry });
      for (const name of DROPPED_DEFAULT_METRICS) this.#monitorRegistry.removeSingleMetric(name);
    }

    this.#channels = new Set();
    this.setChannels(options.channels ?? []);
  }

  /** One API call (status or connect) finished, with a status (`ok`) or a probe error. */
  recordCheck(account: string, durationSeconds: number, outcome: CheckOutcome): void {
    this.#ensureAccount(account);
    this.#checks.inc({ account });
    this.#checkDuration.observe({ account }, durationSeconds);
    if (outcome !== 'ok') this.#checkErrors.inc({ account, reason: outcome });
  }

  /** One balance read reached the gateway (SPEC §10). Its call is also in `recordCheck`. */
  recordDeliveryCheck(account: string): void {
    this.#ensureAccount(account);
    this.#deliveryChecks.inc({ account });
  }

  recordSkippedCycle(account: string): void {
    this.#ensureAccount(account);
    this.#cyclesSkipped.inc({ account });
  }

  /** A write of poll results failed (disk full, I/O error, lock held too long). */
  recordStoreError(): void {
    this.#storeErrors.inc();
  }

  /** Counted even for a channel no longer configured: the attempt happened. */
  recordNotification(channel: string, outcome: NotificationOutcome): void {
    switch (outcome) {
      case 'sent':
        this.#notifications.inc({ channel });
        break;
      case 'failed':
        this.#notifications.inc({ channel });
        this.#notificationFailures.inc({ channel });
        break;
      case 'dropped':
        this.#notificationsDropped.inc({ channel });
        break;
    }
  }

  /** After a reload: new channels start at 0, removed ones lose their series. */
  setChannels(channels: readonly string[]): void {
    const next = new Set(channels);
    for (const channel of this.#channels) {
      if (next.has(channel)) continue;
      this.#notifications.remove({ channel });
      this.#notificationFailures.remove({ channel });
      this.#notificationsDropped.remove({ channel });
    }
    for (const channel of next) {
      if (this.#channels.has(channel)) continue;
      this.#notifications.inc({ channel }, 0);
      this.#notificationFailures.inc({ channel }, 0);
      this.#notificationsDropped.inc({ channel }, 0);
    }
    this.#channels = next;
  }

  /**
   * Removes the account's counters. `render()` also does this for any account the source no
   * longer lists, so calling it on reload only makes the removal immediate.
   */
  forgetAccount(account: string): void {
    if (!this.#accounts.delete(account)) return;
    this.#checks.remove({ account });
    this.#deliveryChecks.remove({ account });
    for (const reason of PROBE_ERROR_REASONS) this.#checkErrors.remove({ account, reason });
    this.#checkDuration.remove({ account });
    this.#cyclesSkipped.remove({ account });
  }

  /** The whole exposition as a string: for tests and small setups; `/metrics` streams it. */
  async render(): Promise<string> {
    return this.withExposition(expositionText);
  }

  /**
   * Makes one scrape's exposition — pulls the account and channel figures, renders prom-client's
   * registries, takes a snapshot of the devices — and lends it to `use`, which writes it to the
   * socket in chunks (`writeTo`, see exposition-stream.ts) before the promise it returns settles.
   * Overlapping scrapes each get their own snapshot.
   */
  async withExposition<T>(use: (exposition: Exposition) => T | Promise<T>): Promise<T> {
    const leader = this.#source.leader?.() ?? true;
    this.#leader.set(leader ? 1 : 0);
    this.#storeWritable.set(this.#source.store().writable ? 1 : 0);
    if (leader) {
      this.#pullAccounts();
      this.#pullPending();
    }
    const own = await this.#monitorRegistry.metrics();
    const fleet = leader ? await this.registry.metrics() : '';
    let snapshot: DeviceSnapshot | null = null;
    if (leader) {
      // A turn between prom-client's text (~15 ms at 500 accounts) and the snapshot (~5 ms at
      // 100,000 devices), so the two together do not hold up the event loop.
      await nextTurn();
      snapshot = this.#idleSnapshot ?? new DeviceSnapshot();
      this.#idleSnapshot = null;
      snapshot.fill(this.#source.devices());
    }
    const exposition = new Exposition(this.contentType, {
      head: [own, fleet],
      devices: snapshot,
      renderer: this.#devices,
      pool: this.#chunks,
    });
    try {
      return await use(exposition);
    } finally {
      if (exposition.release() && snapshot !== null) this.#idleSnapshot = snapshot;
    }
  }

  #ensureAccount(account: string): void {
    if (this.#accounts.has(account)) return;
    this.#accounts.add(account);
    // Zero series from the start, so rate() and increase() see the first error too.
    this.#checks.inc({ account }, 0);
    this.#deliveryChecks.inc({ account }, 0);
    for (const reason of PROBE_ERROR_REASONS) this.#checkErrors.inc({ account, reason }, 0);
    this.#checkDuration.zero({ account });
    this.#cyclesSkipped.inc({ account }, 0);
  }

  #pullAccounts(): void {
    this.#reachable.reset();
    this.#interval.reset();
    this.#effectiveInterval.reset();
    this.#deliveryInterval.reset();
    this.#cycleDuration.reset();
    const listed = new Set<string>();
    for (const a of this.#source.accounts()) {
      const labels = { account: a.account };
      listed.add(a.account);
      this.#ensureAccount(a.account);
      this.#reachable.set(labels, a.reachable ? 1 : 0);
      this.#interval.set(labels, a.intervalMs / 1000);
      this.#effectiveInterval.set(labels, a.effectiveIntervalMs / 1000);
      if (a.lastCycleDurationMs !== null) this.#cycleDuration.set(labels, a.lastCycleDurationMs / 1000);
      const delivery = a.deliveryIntervalMs;
      if (delivery !== undefined && delivery !== null) this.#deliveryInterval.set(labels, delivery / 1000);
    }
    for (const account of [...this.#accounts]) {
      if (!listed.has(account)) this.forgetAccount(account);
    }
  }

  #pullPending(): void {
    this.#notificationsPending.reset();
    for (const channel of this.#channels) this.#notificationsPending.set({ channel }, 0);
    for (const { channel, pending } of this.#source.notificationsPending()) {
      this.#notificationsPending.set({ channel }, pending);
    }
    this.#sendersUp.reset();
    for (const { channel, up } of this.#source.notificationSenders?.() ?? []) {
      this.#sendersUp.set({ channel }, up);
    }
  }
}
