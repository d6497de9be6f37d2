// The daemon: the composition root. Builds every part from the config, starts them, reloads on
// SIGHUP (the diff of old and new config) and stops cleanly. The only place that constructs and
// wires objects; what each part does lives in its own module:
//   poll/          the account pollers, their metered gateways, the loop, the cycle writer, the tick
//   views/         the status page, re-link page, API and metrics over the fleet
//   housekeeping/  run records, retention, the audit schedule
//
// A tick, in order: refresh the mutes → record the run → every account's cycle → write the tick.

import { mkdirSync } from 'node:fs';
import type { Config } from './config/types.js';
import { gatewayClientFor, sameConnection } from './gateway/for-account.js';
import { AuditSchedule } from './housekeeping/audit-schedule.js';
import { Retention } from './housekeeping/retention.js';
import { RunRecord } from './housekeeping/run-record.js';
import { startHttpServer, type HttpServer } from './http/server.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics/metrics.js';
import type { Clock } from './monitor/clock.js';
import { Mutes } from './monitor/mutes.js';
import { Notifications } from './notify/notifications.js';
import { AccountPoller, type PollerDeps } from './poll/account-poller.js';
import { fleetSenders } from './poll/fleet-senders.js';
import type { CycleReport } from './poll/cycle.js';
import { CycleWriter } from './poll/cycle-writer.js';
import { MaintenanceCalendar } from './poll/maintenance.js';
import { PollLoop } from './poll/poll-loop.js';
import { Ticker } from './poll/ticker.js';
import { dbPathIn } from './store/location.js';
import { SqliteOutbox } from './store/outbox.js';
import { openSqliteStore, type SqliteStore } from './store/sqlite-store.js';
import { accountFleet, type Fleet } from './views/fleet.js';
import { FleetMetricsSource } from './views/metrics-source.js';
import { fleetHandlers } from './views/pages.js';
import { pollingReady } from './views/readiness.js';
import { VERSION } from './version.js';

const STOP_GRACE_MS = 8_000;

export interface DaemonOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
}

export class Daemon {
  #config: Config;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #store: SqliteStore;
  readonly #notifications: Notifications;
  readonly #metrics: Metrics;
  readonly #loop: PollLoop;
  readonly #writer: CycleWriter;
  readonly #pollers = new Map<string, AccountPoller>();
  readonly #mutes = new Mutes();
  readonly #fleet: Fleet;
  #calendar: MaintenanceCalendar;
  readonly #runs: RunRecord;
  readonly #retention: Retention;
  readonly #audit: AuditSchedule;
  #http: HttpServer | null = null;
  #ticker: Ticker | null = null;
  /** The first tick ended (its batch written). */
  #ready = false;
  #readyLogged = false;
  /** When polling started; /readyz counts the first round from here. */
  #startedAt = Number.POSITIVE_INFINITY;
  #stopping = false;
  readonly #ticks = new Set<Promise<void>>();
  readonly #pollerDeps: PollerDeps;

  private constructor(options: DaemonOptions, store: SqliteStore) {
    const { config, log, clock } = options;
    const current = (): Config => this.#config;
    this.#config = config;
    this.#log = log;
    this.#clock = clock;
    this.#store = store;
    this.#fleet = { pollers: this.#pollers, mutes: this.#mutes };
    this.#calendar = new MaintenanceCalendar(config.maintenance, config.timezone);
    this.#runs = new RunRecord(store, log, clock.now());
    this.#metrics = new Metrics({
      source: new FleetMetricsSource(
        this.#fleet,
        () => this.#notifications.pending(),
        () => this.#writer.health(),
        () => this.#notifications.sendersUp(),
      ),
      version: VERSION,
      channels: Object.keys(config.notify.channels),
    });
    this.#notifications = new Notifications({
      outbox: new SqliteOutbox(store),
      config,
      clock,
      log: log.child({ component: 'notify' }),
      onOutcome: (channel, outcome) => this.#metrics.recordNotification(channel, outcome),
      fleet: () => accountFleet(this.#fleet),
      // The whatsapp channel sends through the accounts' metered gateways (their budget).
      services: fleetSenders(this.#pollers),
    });
    this.#writer = new CycleWriter({
      store,
      log,
      publish: (alerts) => this.#notifications.publish(alerts),
      onFailure: () => this.#metrics.recordStoreError(),
    });
    this.#loop = new PollLoop({
      clock,
      onCycle: (report) => this.#onCycle(report),
      onError: (account, err) => log.error({ component: 'poller', account, err }, 'poll cycle failed'),
    });
    this.#pollerDeps = {
      store,
      clock,
      log,
      mutes: this.#mutes,
      commit: (batch) => this.#writer.add(batch),
      recordCheck: this.#metrics.recordCheck.bind(this.#metrics),
      recordDeliveryCheck: this.#metrics.recordDeliveryCheck.bind(this.#metrics),
    };
    for (const account of config.accounts)
      this.#addAccount(new AccountPoller(account, gatewayClientFor(account), this.#pollerDeps));
    this.#retention = new Retention({
      store,
      pruneNotifications: (before) => this.#notifications.prune(before),
      clock,
      log,
      config: current,
    });
    this.#audit = new AuditSchedule({
      store,
      notifications: this.#notifications,
      clock,
      log,
      config: current,
      runningPeriods: (now) => this.#runs.periods(now),
    });
  }

  /** Opens the database (a clear StoreError if it cannot), then starts HTTP and the tick. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    mkdirSync(options.config.stateDir, { recursive: true });
    const store = openSqliteStore(dbPathIn(options.config.stateDir));
    const daemon = new Daemon(options, store);
    try {
      await daemon.#startHttp();
    } catch (err) {
      store.close();
      throw err;
    }
    daemon.#startTicker();
    daemon.#notifications.start();
    daemon.#audit.start();
    daemon.#retention.start();
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
    this.#refreshMutes(now);
    this.#runs.record(now, this.#config.retentionMs);
    await this.#loop.tick(nextTickAt);
    this.#writer.flush();
    this.#ready = true;
    // "The first cycle" of SPEC §6: every device checked once, or one round passed (readiness.ts).
    if (!this.#readyLogged && pollingReady(this.#fleet, this.#startedAt, this.#clock.now())) {
      this.#readyLogged = true;
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
      await poller.close();
      this.#metrics.forgetAccount(name);
    }
    for (const account of config.accounts) {
      const poller = this.#pollers.get(account.name);
      if (poller === undefined) {
        this.#addAccount(new AccountPoller(account, gatewayClientFor(account), this.#pollerDeps));
      } else if (sameConnection(poller.config, account)) {
        poller.update(account);
      } else {
        void poller.update(account, gatewayClientFor(account))?.close();
      }
    }
    this.#calendar.close();
    this.#calendar = new MaintenanceCalendar(config.maintenance, config.timezone);
    this.#mutes.setWindows(this.#calendar.openWindows(this.#clock.now()));
    this.#metrics.setChannels(Object.keys(config.notify.channels));
    this.#http?.setBasicAuth(config.web.basicAuth);
    this.#http?.setPublicUrl(config.publicUrl);
    await this.#notifications.reload(config);
    const scheduleChanged = config.schedule !== old.schedule || config.timezone !== old.timezone;
    const auditChanged = AuditSchedule.changed(old, config);
    this.#config = config;
    if (scheduleChanged) {
      await this.#ticker?.stop();
      this.#startTicker();
    }
    if (auditChanged) {
      await this.#audit.stop();
      this.#audit.start();
    }
    this.#log.info({ component: 'daemon', accounts: config.accounts.length }, 'configuration reloaded');
  }

  /** Stops ticking, lets checks in flight finish (bounded), closes HTTP, clients and the DB. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#ticker?.stop();
    await this.#retention.stop();
    await this.#audit.stop();
    await this.#loop.stop({ graceMs: STOP_GRACE_MS });
    await Promise.allSettled([...this.#ticks]);
    this.#writer.close();
    await this.#notifications.stop();
    await this.#http?.close();
    await Promise.allSettled([...this.#pollers.values()].map((p) => p.close()));
    this.#calendar.close();
    this.#runs.close(this.#clock.now(), this.#config.retentionMs);
    this.#store.close();
    this.#log.info({ component: 'daemon' }, 'stopped');
  }

  // --- wiring ------------------------------------------------------------------------------

  #addAccount(poller: AccountPoller): void {
    this.#pollers.set(poller.name, poller);
    this.#loop.add(poller);
  }

  #refreshMutes(now: number): void {
    this.#calendar.advance(now);
    try {
      this.#mutes.refresh(this.#store.activeSilences(now), this.#calendar.openWindows(now), now);
    } catch (err) {
      this.#log.error({ component: 'daemon', err }, 'could not read silences');
    }
  }

  #onCycle(report: CycleReport): void {
    if (!report.skipped) return;
    this.#metrics.recordSkippedCycle(report.account);
    // Counted in whatsgate_poll_cycles_skipped_total; routine when checks spread over a tick.
    this.#log.debug(
      { component: 'poller', account: report.account },
      'tick skipped: the previous cycle still runs',
    );
  }

  async #startHttp(): Promise<void> {
    const pages = fleetHandlers({
      fleet: this.#fleet,
      store: this.#store,
      clock: this.#clock,
      config: () => this.#config,
      runningPeriods: (now) => this.#runs.periods(now),
    });
    this.#http = await startHttpServer({
      host: this.#config.listen.host,
      port: this.#config.listen.port,
      log: this.#log.child({ component: 'http' }),
      basicAuth: this.#config.web.basicAuth,
      publicUrl: this.#config.publicUrl,
      handlers: {
        ...pages,
        ready: () => this.#readiness(),
        metrics: (send) => this.#metrics.withExposition((bytes) => send(this.#metrics.contentType, bytes)),
      },
    });
  }

  /** /readyz: true, or why not (one line). */
  #readiness(): true | string {
    if (this.#stopping) return 'stopping';
    // A failing store first: it is the reason an operator must act on, at start-up too.
    const store = this.#writer.health();
    if (!store.writable) {
      return `the database refuses writes (${store.held.history} history rows, ${store.held.alerts} alerts held): ${store.error ?? 'unknown error'}`;
    }
    if (!this.#ready || !pollingReady(this.#fleet, this.#startedAt, this.#clock.now())) {
      return 'not every device has been checked yet (ready after one check each, or one round)';
    }
    return true;
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
        clock: this.#clock,
        logger: {
          info: (m) => log.info(m),
          warn: (m) => log.warn(m),
          error: (m) => log.error(m instanceof Error ? { err: m } : {}, String(m)),
          debug: (m) => log.debug(String(m)),
        },
      },
    );
    this.#startedAt = this.#clock.now();
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
}
