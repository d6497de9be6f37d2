// The daemon: builds every part from the config, runs the poll loop on the node-cron tick, serves
// HTTP, reloads on demand and stops cleanly. The only place that constructs and wires objects.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTask, type ScheduledTask } from 'node-cron';
import { Ticker } from './monitor/ticker.js';
import type { AccountConfig, Config } from './config/types.js';
import { createGatewayClient, type ConnectResult, type GatewayClient } from './gateway/client.js';
import {
  reconnectResultFrom,
  startHttpServer,
  type HttpServer,
  type ReconnectQrResult,
} from './http/server.js';
import type { RelinkDevice } from './http/relink.js';
import { readRuns, recordRun } from './audit/runs.js';
import type { StatusPageData } from './web/status-page.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics/metrics.js';
import type { AccountMetricsView, DeviceMetricsView, MetricsSource } from './metrics/source.js';
import type { Clock } from './monitor/clock.js';
import { MaintenanceCalendar } from './monitor/maintenance.js';
import { Mutes } from './monitor/mutes.js';
import { AccountPoller, type CycleCommit, type PollerDeps } from './monitor/poller.js';
import { PollLoop, type CycleReport } from './monitor/scheduler.js';
import { Notifications } from './notify/notifications.js';
import { SqliteOutbox } from './store/outbox.js';
import { auditFromStore } from './audit/from-store.js';
import { buildAuditMessage } from './audit/sender.js';
import { deviceReport, historyReport, type DeviceReport } from './report/devices.js';
import { openSqliteStore } from './store/sqlite-store.js';
import type { SqliteStore } from './store/sqlite-store.js';
import type { DeviceRow } from './store/store.js';
import { VERSION } from './version.js';

export const DB_FILE = 'monitor.db';
const STOP_GRACE_MS = 8_000;
const DAY_MS = 86_400_000;
// How often the record of when the daemon ran is brought up to date (audit: down-time is unknown).
const RUN_RECORD_MS = 60_000;
const RETENTION_SCHEDULE = '17 3 * * *';

export interface DaemonOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
}

function clientFor(account: AccountConfig): GatewayClient {
  return createGatewayClient({
    baseUrl: account.baseUrl,
    token: account.token,
    timeoutMs: account.policy.timeoutMs,
    connections: account.concurrency,
    userAgent: `whatsgate-monitor/${VERSION}`,
  });
}

function sameConnection(a: AccountConfig, b: AccountConfig): boolean {
  return (
    a.baseUrl === b.baseUrl &&
    a.token === b.token &&
    a.concurrency === b.concurrency &&
    a.policy.timeoutMs === b.policy.timeoutMs
  );
}

export class Daemon implements MetricsSource {
  #config: Config;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #store: SqliteStore;
  readonly #notifications: Notifications;
  #audit: ScheduledTask | null = null;
  readonly #metrics: Metrics;
  readonly #loop: PollLoop;
  readonly #pollers = new Map<string, AccountPoller>();
  #calendar: MaintenanceCalendar;
  readonly #mutes: Mutes;
  #http: HttpServer | null = null;
  #ticker: Ticker | null = null;
  #retention: ScheduledTask | null = null;
  #ready = false;
  readonly #runStart: number;
  #lastRunRecord = 0;
  #stopping = false;
  readonly #ticks = new Set<Promise<void>>();
  /** Cycles finished since the last flush: written, with their alerts, once per tick. */
  readonly #pending: CycleCommit[] = [];
  readonly #pollerDeps: PollerDeps;

  private constructor(options: DaemonOptions, store: SqliteStore) {
    this.#config = options.config;
    this.#log = options.log;
    this.#clock = options.clock;
    this.#runStart = options.clock.now();
    this.#store = store;
    this.#calendar = new MaintenanceCalendar(options.config.maintenance, options.config.timezone);
    this.#mutes = new Mutes(this.#calendar);
    this.#metrics = new Metrics({
      source: this,
      version: VERSION,
      channels: Object.keys(options.config.notify.channels),
    });
    this.#loop = new PollLoop({
      clock: options.clock,
      onCycle: (report) => this.#onCycle(report),
      onError: (account, err) => this.#log.error({ component: 'poller', account, err }, 'poll cycle failed'),
    });
    this.#notifications = new Notifications({
      outbox: new SqliteOutbox(store),
      config: options.config,
      clock: options.clock,
      log: options.log.child({ component: 'notify' }),
      onOutcome: (channel, outcome) => this.#metrics.recordNotification(channel, outcome),
    });
    const deps: PollerDeps = {
      store,
      clock: options.clock,
      log: options.log,
      mutes: this.#mutes,
      commit: (batch) => this.#pending.push(batch),
      fetchQr: (poller, device) => this.#fetchQr(poller, device),
      recordCheck: this.#metrics.recordCheck.bind(this.#metrics),
    };
    for (const account of options.config.accounts) {
      const poller = new AccountPoller(account, clientFor(account), deps);
      this.#pollers.set(account.name, poller);
      this.#loop.add(poller.scheduler);
    }
    this.#pollerDeps = deps;
  }

  /** Opens the database (a clear StoreError if it cannot), then starts HTTP and the tick. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    mkdirSync(options.config.stateDir, { recursive: true });
    const store = openSqliteStore(join(options.config.stateDir, DB_FILE));
    const daemon = new Daemon(options, store);
    try {
      await daemon.#startHttp();
    } catch (err) {
      store.close();
      throw err;
    }
    daemon.#startSchedules();
    daemon.#log.info(
      {
        component: 'daemon',
        version: VERSION,
        accounts: options.config.accounts.length,
        devices: options.config.accounts.reduce((n, a) => n + a.devices.length, 0),
        listen: daemon.#http?.url,
      },
      'whatsgate-monitor started',
    );
    return daemon;
  }

  get url(): string | null {
    return this.#http?.url ?? null;
  }

  /** One poll tick: every account's cycle, then one write of what they changed. */
  async tick(nextTickAt?: number): Promise<void> {
    if (this.#stopping) return;
    const now = this.#clock.now();
    try {
      this.#mutes.refresh(this.#store.activeSilences(now), now);
    } catch (err) {
      this.#log.error({ component: 'daemon', err }, 'could not read silences');
    }
    this.#recordRun(now, false);
    await this.#loop.tick(nextTickAt);
    this.#flush();
    if (!this.#ready) {
      this.#ready = true;
      this.#log.info({ component: 'daemon' }, 'first poll cycle finished: ready');
    }
  }

  /** SIGHUP: the new config replaces the old one; the caller keeps the old one if it failed to load. */
  async reload(config: Config): Promise<void> {
    const old = this.#config;
    if (
      config.stateDir !== old.stateDir ||
      config.listen.host !== old.listen.host ||
      config.listen.port !== old.listen.port
    ) {
      this.#log.warn({ component: 'daemon' }, 'state_dir and listen take effect only after a restart');
    }
    const wanted = new Set(config.accounts.map((a) => a.name));
    for (const [name, poller] of this.#pollers) {
      if (wanted.has(name)) continue;
      this.#pollers.delete(name);
      await this.#loop.remove(name);
      await poller.client.close();
      this.#metrics.forgetAccount(name);
    }
    for (const account of config.accounts) {
      const poller = this.#pollers.get(account.name);
      if (poller === undefined) {
        const created = new AccountPoller(account, clientFor(account), this.#pollerDeps);
        this.#pollers.set(account.name, created);
        this.#loop.add(created.scheduler);
      } else if (sameConnection(poller.config, account)) {
        poller.update(account, poller.client);
      } else {
        const oldClient = poller.client;
        poller.update(account, clientFor(account));
        void oldClient.close();
      }
    }
    this.#calendar.close();
    this.#calendar = new MaintenanceCalendar(config.maintenance, config.timezone);
    this.#mutes.setCalendar(this.#calendar);
    this.#metrics.setChannels(Object.keys(config.notify.channels));
    this.#http?.setBasicAuth(config.web.basicAuth);
    await this.#notifications.reload(config);
    const scheduleChanged = config.schedule !== old.schedule || config.timezone !== old.timezone;
    const auditChanged = config.audit.schedule !== old.audit.schedule || config.timezone !== old.timezone;
    this.#config = config;
    if (scheduleChanged) {
      await this.#ticker?.stop();
      this.#startTicker();
    }
    if (auditChanged) {
      await this.#audit?.destroy();
      this.#startAudit();
    }
    this.#log.info({ component: 'daemon', accounts: config.accounts.length }, 'configuration reloaded');
  }

  /** Stops ticking, lets checks in flight finish (bounded), closes HTTP, clients and the DB. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#ticker?.stop();
    await this.#retention?.destroy();
    await this.#audit?.destroy();
    await this.#loop.stop({ graceMs: STOP_GRACE_MS });
    await Promise.allSettled([...this.#ticks]);
    this.#flush();
    await this.#notifications.stop();
    await this.#http?.close();
    await Promise.allSettled([...this.#pollers.values()].map((p) => p.client.close()));
    this.#calendar.close();
    this.#recordRun(this.#clock.now(), true);
    this.#store.close();
    this.#log.info({ component: 'daemon' }, 'stopped');
  }

  // --- views -----------------------------------------------------------------------------

  devicesReport(): DeviceReport[] {
    return this.#deviceFacts().map((f) => deviceReport({ ...f, device: f.number }, this.#config.timezone));
  }

  /** Every configured device as the state machine sees it, in config order. */
  #deviceFacts(): (Omit<DeviceRow, 'device' | 'state' | 'transitions'> & {
    number: string;
    name: string;
    silencedUntil: number | null;
  })[] {
    return [...this.#pollers.values()].flatMap((p) =>
      p.rows().map(({ device, state: _state, transitions: _transitions, ...row }) => ({
        ...row,
        number: device,
        name: p.devices.get(device)?.config.name ?? device,
        silencedUntil: this.#mutes.mutedUntil(p.name, device),
      })),
    );
  }

  *devices(): Iterable<DeviceMetricsView> {
    for (const poller of this.#pollers.values()) {
      for (const rt of poller.devices.values()) {
        const s = rt.state;
        yield {
          account: poller.name,
          device: rt.config.number,
          name: rt.config.name,
          labels: rt.config.labels,
          status: s.status,
          up: s.health === 'UP',
          probeSuccess: s.lastCheckAt === null ? null : s.lastProbeError === null,
          lastCheckAt: s.lastCheckAt,
          statusSince: s.statusSince,
          transitions: s.transitions,
          silenced: this.#mutes.isMuted(poller.name, rt.config.number),
        };
      }
    }
  }

  *accounts(): Iterable<AccountMetricsView> {
    for (const poller of this.#pollers.values()) {
      yield {
        account: poller.name,
        reachable: poller.accountState.reachable,
        intervalMs: poller.config.policy.intervalMs,
        effectiveIntervalMs: poller.scheduler.effectiveIntervalMs,
        lastCycleDurationMs: poller.scheduler.lastCycleDurationMs ?? null,
      };
    }
  }

  notificationsPending(): Iterable<{ channel: string; pending: number }> {
    return this.#notifications.pending();
  }

  // --- internals ---------------------------------------------------------------------------

  /**
   * Writes the finished cycles in one transaction: device rows, history, account states and the
   * outbox messages of their alerts. One tick's alerts of every account become one message per
   * channel (SPEC §8), and nothing is recorded as decided without being queued.
   */
  #flush(): void {
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    const alerts = batch.flatMap((c) => c.alerts);
    try {
      this.#store.transaction(() => {
        this.#store.saveDevices(batch.flatMap((c) => c.saves));
        for (const c of batch) if (c.account !== null) this.#store.saveAccount(c.account);
        if (alerts.length > 0) this.#notifications.publish(alerts);
      });
    } catch (err) {
      this.#log.error(
        { component: 'store', err, alerts: alerts.length },
        'could not save the poll cycle; its changes and alerts are decided again after a restart',
      );
    }
  }

  #onCycle(report: CycleReport): void {
    if (report.skipped) {
      this.#metrics.recordSkippedCycle(report.account);
      // Counted in whatsgate_poll_cycles_skipped_total; routine when checks spread over a tick.
      this.#log.debug(
        { component: 'poller', account: report.account },
        'tick skipped: the previous cycle still runs',
      );
    }
    this.#pollers.get(report.account)?.endCycle(report);
  }

  #history(device: string, since: number | null): unknown[] | null {
    const owners = [...this.#pollers.values()].filter((p) => p.devices.has(device));
    if (owners.length === 0) return null;
    return owners.flatMap((p) =>
      historyReport(
        this.#store.history(p.name, device, since === null ? {} : { since }),
        this.#config.timezone,
      ).map((r) => (owners.length > 1 ? { account: p.name, ...r } : r)),
    );
  }

  async #startHttp(): Promise<void> {
    this.#http = await startHttpServer({
      host: this.#config.listen.host,
      port: this.#config.listen.port,
      log: this.#log.child({ component: 'http' }),
      basicAuth: this.#config.web.basicAuth,
      handlers: {
        statusPage: () => this.#statusPage(),
        relinkDevice: (device, { checkSoon }) => this.#relinkDevice(device, checkSoon),
        reconnectQr: (device, signal) => this.#reconnectQr(device, signal),
        ready: () => this.#ready && !this.#stopping,
        metrics: (send) => this.#metrics.withExposition((bytes) => send(this.#metrics.contentType, bytes)),
        devices: () => this.devicesReport(),
        history: (device, since) => this.#history(device, since),
      },
    });
  }

  #statusPage(): StatusPageData {
    const now = this.#clock.now();
    const history = this.#store.historyAll(now - 7 * DAY_MS);
    return {
      now,
      timeZone: this.#config.timezone,
      version: VERSION,
      accounts: [...this.#pollers.values()].map((p) => {
        const s = p.accountState;
        const stretched = p.scheduler.effectiveIntervalMs > p.config.policy.intervalMs;
        return {
          name: p.name,
          reachable: s.reachable,
          problem: s.lastError === null ? null : `${s.lastError.reason}: ${s.lastError.message}`,
          problemSince: s.failingSince,
          warning: stretched
            ? `the API budget (${p.config.rateLimitPerMinute}/min) stretches the check interval to ${Math.round(p.scheduler.effectiveIntervalMs / 1000)} s`
            : null,
        };
      }),
      devices: this.#deviceFacts(),
      history,
      runningPeriods: [...readRuns(this.#store), { start: this.#runStart, end: now }],
    };
  }

  #relinkDevice(device: string, checkSoon: boolean): RelinkDevice | null {
    for (const p of this.#pollers.values()) {
      const rt = p.devices.get(device);
      if (rt === undefined) continue;
      if (checkSoon) p.scheduler.checkSoon(device);
      return {
        account: p.name,
        number: device,
        name: rt.config.name,
        status: rt.state.status,
        lastCheckAt: rt.state.lastCheckAt,
      };
    }
    return null;
  }

  /** A QR code for the re-link page, paid for out of the account's budget like any check. */
  async #reconnectQr(device: string, signal: AbortSignal): Promise<ReconnectQrResult> {
    const poller = [...this.#pollers.values()].find((p) => p.devices.has(device));
    if (poller === undefined) return { status: 'not_found', message: `device ${device} is not configured` };
    const result = await this.#connect(poller, device, signal);
    return result === null
      ? { status: 'error', message: 'the request was cancelled while waiting for the API budget' }
      : reconnectResultFrom(result);
  }

  /** `reconnect: qr`: the QR code attached to a device.down (SPEC §3); null when none came. */
  async #fetchQr(poller: AccountPoller, device: string): Promise<string | null> {
    const result = await this.#connect(poller, device, AbortSignal.timeout(60_000));
    if (result?.kind === 'qr') return result.dataUrl;
    this.#log.warn(
      {
        component: 'notify',
        account: poller.name,
        device,
        result: result === null ? 'cancelled' : result.kind,
      },
      'no QR code for the down alert',
    );
    return null;
  }

  /** One `/connect` call through the account's budget; null when cancelled while waiting. */
  async #connect(poller: AccountPoller, device: string, signal: AbortSignal): Promise<ConnectResult | null> {
    try {
      await poller.scheduler.reserve(signal);
    } catch {
      return null;
    }
    const timeoutMs = poller.devices.get(device)?.config.policy.timeoutMs ?? poller.config.policy.timeoutMs;
    const started = performance.now();
    const result = await poller.client.connect(device, { signal, timeoutMs });
    this.#metrics.recordCheck(
      poller.name,
      (performance.now() - started) / 1000,
      result.kind === 'probe_error' ? result.reason : 'ok',
    );
    if (result.kind === 'probe_error' && result.reason === 'rate_limited') {
      poller.scheduler.rateLimited(result.retryAfterMs);
    }
    return result;
  }

  /** Keeps the record of when the daemon ran: the audit shows time outside it as unknown. */
  #recordRun(now: number, force: boolean): void {
    if (!force && now - this.#lastRunRecord < RUN_RECORD_MS) return;
    this.#lastRunRecord = now;
    try {
      recordRun(
        this.#store,
        { start: this.#runStart, end: now },
        { keepAfter: now - this.#config.retentionMs },
      );
    } catch (err) {
      this.#log.error({ component: 'store', err }, 'could not record the run period');
    }
  }

  #startSchedules(): void {
    this.#startTicker();
    this.#retention = createTask(RETENTION_SCHEDULE, () => this.#prune(), {
      timezone: this.#config.timezone,
    });
    void this.#retention.start();
    this.#notifications.start();
    this.#startAudit();
    // Prune once at start as well: a daemon restarted daily might otherwise never reach 03:17.
    this.#prune();
  }

  #startTicker(): void {
    const log = this.#log.child({ component: 'scheduler' });
    this.#ticker = new Ticker(
      this.#config.schedule,
      // Never awaited by node-cron: overlapping ticks are the scheduler's business (it skips and
      // counts them), so the callback must return at once.
      (tick) => this.#runTick(tick.nextAt ?? undefined),
      {
        timezone: this.#config.timezone,
        logger: {
          info: (m) => log.info(m),
          warn: (m) => log.warn(m),
          error: (m) => log.error(m instanceof Error ? { err: m } : {}, String(m)),
          debug: (m) => log.debug(String(m)),
        },
      },
    );
    this.#ticker.start();
    // The first cycle starts now rather than at the first tick, so /readyz turns 200 sooner.
    this.#runTick(this.#ticker.nextAt() ?? undefined);
  }

  #runTick(nextAt: number | undefined): void {
    const run = this.tick(nextAt).catch((err: unknown) =>
      this.#log.error({ component: 'daemon', err }, 'tick failed'),
    );
    this.#ticks.add(run);
    void run.finally(() => this.#ticks.delete(run));
  }

  /** The weekly (or whatever `audit.schedule` says) report to `audit.channels`, through the outbox. */
  #startAudit(): void {
    const schedule = this.#config.audit.schedule;
    if (schedule === null) {
      this.#audit = null;
      return;
    }
    this.#audit = createTask(schedule, () => this.#sendAudit(), {
      timezone: this.#config.timezone,
      name: 'audit',
    });
    void this.#audit.start();
  }

  #sendAudit(): void {
    const now = this.#clock.now();
    const config = this.#config;
    try {
      const report = auditFromStore(this.#store, config, {
        now,
        since: now - 7 * DAY_MS,
        runningPeriods: [...readRuns(this.#store), { start: this.#runStart, end: now }],
      });
      this.#notifications
        .sendAuditReport(buildAuditMessage(report, config.timezone), config.audit.channels)
        .then(
          (deliveries) => this.#log.info({ component: 'audit', deliveries }, 'audit report queued'),
          (err: unknown) => this.#log.error({ component: 'audit', err }, 'audit report failed'),
        );
    } catch (err) {
      this.#log.error({ component: 'audit', err }, 'audit report failed');
    }
  }

  #prune(): void {
    const cutoff = this.#clock.now() - this.#config.retentionMs;
    try {
      const result = { ...this.#store.prune(cutoff), notifications: this.#notifications.prune(cutoff) };
      this.#log.info({ component: 'store', ...result }, 'retention pruning done');
    } catch (err) {
      this.#log.error({ component: 'store', err }, 'retention pruning failed');
    }
  }
}
