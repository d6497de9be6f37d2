// The exporter. The families with a series per device or per account are written as text from
// snapshots (device-block.ts, account-block.ts: prom-client's objects cost tens of MB and ms per
// scrape at 100,000 devices and 500 accounts); the rest are ordinary prom-client metrics in
// registries of our own. /metrics streams it all in chunks (exposition-stream.ts).
//
// Two registries because an HA standby (SPEC §11) exports only the monitor's own series
// (`whatsgate_monitor_*`, `whatsgate_monitor_leader 0`) and process metrics: device, account and
// notification series come from the lease holder alone, so queries over replicas never double.
// docs/reference.md's metrics table is generated from a render, so it lists every family.

import { setImmediate as nextTurn } from 'node:timers/promises';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { PrometheusContentType } from 'prom-client';
import type { ProbeErrorReason } from '../monitor/model.js';
import { AccountFamilies } from './account-block.js';
import { DeviceBlockRenderer } from './device-block.js';
import { PROMETHEUS_CONTENT_TYPE } from './exposition.js';
import { ChunkPool, DEFAULT_CHUNK_BYTES, Exposition, expositionText } from './exposition-stream.js';
import type { Block } from './exposition-stream.js';
import type { AccountMetricsView } from './source.js';
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
   * How much of our text `/metrics` hands to the socket at a time; default 64 KiB.
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
  /** The per-account counters, histogram and gauges (account-block.ts). */
  readonly #accounts = new AccountFamilies(CHECK_DURATION_BUCKETS);
  readonly #chunks: ChunkPool;
  #channels: ReadonlySet<string>;

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
    this.#chunks = new ChunkPool(options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    // Our blocks are 0.0.4 text; an OpenMetrics registry would mix formats.
    // The type already says so; this catches callers without types (widened to string for that).
    const contentType: string = registry.contentType;
    if (contentType !== PROMETHEUS_CONTENT_TYPE) {
      throw new TypeError(`Metrics needs a registry in ${PROMETHEUS_CONTENT_TYPE}, got ${contentType}`);
    }
    const registers = [registry];

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
    this.#accounts.recordCheck(account, durationSeconds, outcome === 'ok' ? null : outcome);
  }

  /** One balance read reached the gateway (SPEC §10). Its call is also in `recordCheck`. */
  recordDeliveryCheck(account: string): void {
    this.#accounts.ensure(account).deliveryChecks += 1;
  }

  recordSkippedCycle(account: string): void {
    this.#accounts.ensure(account).skipped += 1;
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
    this.#accounts.forget(account);
  }

  /** The whole exposition as a string: for tests and small setups; `/metrics` streams it. */
  async render(): Promise<string> {
    return this.withExposition(expositionText);
  }

  /**
   * Makes one scrape's exposition — pulls the account and channel figures, renders prom-client's
   * registries, takes snapshots of the accounts and devices — and lends it to `use`, which
   * writes it to the socket in chunks (`writeTo`, see exposition-stream.ts) before the promise
   * it returns settles. Overlapping scrapes each get their own snapshots.
   */
  async withExposition<T>(use: (exposition: Exposition) => T | Promise<T>): Promise<T> {
    const leader = this.#source.leader?.() ?? true;
    this.#leader.set(leader ? 1 : 0);
    this.#storeWritable.set(this.#source.store().writable ? 1 : 0);
    const own = await this.#monitorRegistry.metrics();
    let pieces: (string | Block)[] = [own];
    if (leader) {
      const accounts = this.#accounts.block(this.#pullAccounts());
      this.#pullPending();
      const fleet = await this.registry.metrics();
      // A turn between prom-client's text and the device snapshot (~5 ms at 100,000 devices),
      // so the two together do not hold up the event loop.
      await nextTurn();
      pieces = [own, accounts, fleet, this.#devices.block(this.#source.devices())];
    }
    const exposition = new Exposition(this.contentType, pieces, this.#chunks);
    try {
      return await use(exposition);
    } finally {
      exposition.release();
    }
  }

  /** The source's accounts now; each starts at zero, those it no longer lists are forgotten. */
  #pullAccounts(): AccountMetricsView[] {
    const views = [...this.#source.accounts()];
    const listed = new Set<string>();
    for (const a of views) {
      listed.add(a.account);
      this.#accounts.ensure(a.account);
    }
    for (const account of [...this.#accounts.accounts()]) {
      if (!listed.has(account)) this.#accounts.forget(account);
    }
    return views;
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
