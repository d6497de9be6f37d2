// The daemon: the composition root. Builds every part from the config, starts them, reloads on
// SIGHUP (the diff of old and new config) and stops cleanly. The only place that constructs and
// wires objects; what each part does lives in its own module:
//   poll/          the account pollers, their metered gateways, the loop, the cycle writer, the tick
//   views/         the status page, re-link page, API and metrics over the fleet
//   housekeeping/  run records, retention, the audit schedule
//   ha/            the lease: with a PostgreSQL store, which replica polls and notifies (SPEC §11)
//
// A tick, in order: refresh the mutes → record the run → every account's cycle → write the tick.
//
// Roles. Without HA the daemon leads from start to stop. With HA it starts as a standby: it
// serves the pages and the API from the shared store (its pollers reloaded from it every few
// seconds) and exports only its own series; when the lease keeper gains the lease it loads the
// state the last holder left, and only then ticks, notifies and keeps house; when it loses the
// lease it stops all of that at once and stands by again.
//
// Over 350 lines: the roles (lead, stand by, stand down, reload) use the same parts it wires;
// split apart, each would take the whole set of them as parameters.

import { mkdirSync } from 'node:fs';
import { describeStore, deviceCount } from './config/index.js';
import type { Shard } from './config/shard.js';
import type { Config } from './config/types.js';
import { gatewayClientFor, sameConnection } from './gateway/for-account.js';
import { LeaseKeeper } from './ha/lease-keeper.js';
import { AuditSchedule } from './housekeeping/audit-schedule.js';
import { Retention } from './housekeeping/retention.js';
import { RunRecord } from './housekeeping/run-record.js';
import { startHttpServer, type HttpServer } from './http/server.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics/metrics.js';
import type { Clock } from './monitor/clock.js';
import { leaseName } from './monitor/lease.js';
import { Mutes } from './monitor/mutes.js';
import { Notifications } from './notify/notifications.js';
import { AccountPoller, readStoredStates, type PollerDeps } from './poll/account-poller.js';
import { fleetSenders } from './poll/fleet-senders.js';
import type { CycleReport } from './poll/cycle.js';
import { CycleWriter } from './poll/cycle-writer.js';
import { MaintenanceCalendar } from './poll/maintenance.js';
import { tuneHeapGrowth } from './runtime/heap.js';
import { PollLoop } from './poll/poll-loop.js';
import { Ticker } from './poll/ticker.js';
import { isHaStore, type HaStore } from './store/lease.js';
import { openStore } from './store/open.js';
import type { Store } from './store/store.js';
import { accountFleet, type Fleet } from './views/fleet.js';
import { FleetMetricsSource } from './views/metrics-source.js';
import { fleetHandlers } from './views/pages.js';
import { pollingReady } from './views/readiness.js';
import { VERSION } from './version.js';

const STOP_GRACE_MS = 8_000;
/** How often a standby reloads its pollers from the shared store, for its pages and API. */
const STANDBY_REFRESH_MS = 5_000;

export interface DaemonOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  /** `run --shard I/N`: the lease group is the shard's (SPEC §9). */
  readonly shard?: Shard | null;
}

export class Daemon {
  #config: Config;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #store: Store;
  readonly #notifications: Notifications;
  readonly #metrics: Metrics;
  readonly #loop: PollLoop;
  readonly #writer: CycleWriter;
  readonly #pollers = new Map<string, AccountPoller>();
  readonly #mutes = new Mutes();
  readonly #fleet: Fleet;
  #calendar: MaintenanceCalendar;
  #runs: RunRecord;
  readonly #retention: Retention;
  readonly #audit: AuditSchedule;
  /** With HA (a PostgreSQL store and `ha:`): who holds the lease. Null: this daemon always leads. */
  readonly #keeper: LeaseKeeper | null;
  #http: HttpServer | null = null;
  #ticker: Ticker | null = null;
  /** Between onGained and onLost (always, without HA): ticking, notifying, keeping house. */
  #active = false;
  /** Counts stints as leader: a tick of an earlier stint stops at its next step. */
  #stint = 0;
  /** The first tick of this stint as leader ended (its batch written). */
  #ready = false;
  #readyLogged = false;
  /** When polling started; /readyz counts the first round from here. */
  #startedAt = Number.POSITIVE_INFINITY;
  #stopping = false;
  readonly #ticks = new Set<Promise<void>>();
  readonly #pollerDeps: PollerDeps;
  /** Role changes and a standby's refreshes, one at a time, in order. */
  #serial: Promise<void> = Promise.resolve();
  #refreshTimer: NodeJS.Timeout | null = null;

  private constructor(options: DaemonOptions, store: Store) {
    const { config, log, clock } = options;
    const current = (): Config => this.#config;
    this.#config = config;
    this.#log = log;
    this.#clock = clock;
    this.#store = store;
    this.#fleet = { pollers: this.#pollers, mutes: this.#mutes };
    this.#calendar = new MaintenanceCalendar(config.maintenance, config.timezone);
    this.#runs = new RunRecord(store, log, clock.now());
    this.#keeper =
      config.ha !== null && isHaStore(store)
        ? this.#leaseKeeper(store, config.ha.leaseMs, options.shard ?? null)
        : null;
    const leading = (): boolean => this.#leading();
    this.#metrics = new Metrics({
      source: new FleetMetricsSource(
        this.#fleet,
        () => this.#notifications.pending(),
        () => this.#writer.health(),
        () => this.#notifications.sendersUp(),
        leading,
      ),
      version: VERSION,
      channels: Object.keys(config.notify.channels),
    });
    this.#notifications = new Notifications({
      outbox: store.outbox,
      config,
      clock,
      log: log.child({ component: 'notify' }),
      onOutcome: (channel, outcome) => this.#metrics.recordNotification(channel, outcome),
      fleet: () => accountFleet(this.#fleet),
      // The whatsapp channel sends through the accounts' metered gateways (their budget).
      services: fleetSenders(this.#pollers),
      canSend: leading,
    });
    this.#writer = new CycleWriter({
      store,
      log,
      publish: (tx, alerts) => this.#notifications.publish(alerts, tx.outbox),
      onFailure: () => this.#metrics.recordStoreError(),
    });
    this.#loop = new PollLoop({
      clock,
      onCycle: (report) => this.#onCycle(report),
      onError: (account, err) => log.error({ component: 'poller', account, err }, 'poll cycle failed'),
    });
    const keeper = this.#keeper;
    this.#pollerDeps = {
      store,
      clock,
      log,
      mutes: this.#mutes,
      commit: (batch) => this.#writer.add(batch),
      recordCheck: this.#metrics.recordCheck.bind(this.#metrics),
      recordDeliveryCheck: this.#metrics.recordDeliveryCheck.bind(this.#metrics),
      onCallLogWrite: (failure) => this.#writer.noteOtherWrite(failure),
      // With HA every call is logged under the lease epoch before it is made, and none is made
      // unlogged or after the lease lapsed on this replica's clock (SPEC §11).
      ...(keeper === null ? {} : { epoch: () => keeper.epoch(), strictCallLog: true }),
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

  /**
   * Opens the store (a clear StoreError if it cannot) and loads what it holds, starts HTTP, then
   * leads — or, with HA, stands by until the lease keeper gains the lease.
   */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const { config } = options;
    const devices = deviceCount(config);
    const heapGrowthPercent = tuneHeapGrowth(devices);
    if (config.store.kind === 'sqlite') mkdirSync(config.stateDir, { recursive: true });
    const store = await openStore(config.store);
    let daemon: Daemon;
    try {
      daemon = new Daemon(options, store);
      await daemon.#loadFromStore();
      await daemon.#startHttp();
    } catch (err) {
      await store.close();
      throw err;
    }
    const keeper = daemon.#keeper;
    daemon.#log.info(
      {
        component: 'daemon',
        version: VERSION,
        accounts: config.accounts.length,
        devices,
        ...(heapGrowthPercent ? { heap_growth_percent: heapGrowthPercent } : {}),
        listen: daemon.#http?.url,
        store: describeStore(config.store),
        ...(keeper === null ? {} : { ha: { lease: keeper.name, holder: keeper.holder } }),
      },
      'whatsgate-monitor started',
    );
    if (keeper === null) {
      await daemon.#lead();
    } else {
      (store as HaStore).setFence({ lease: keeper.name, epoch: null });
      daemon.#scheduleRefresh();
      keeper.start();
    }
    return daemon;
  }

  get url(): string | null {
    return this.#http?.url ?? null;
  }

  /** One poll tick: every account's cycle, then one write of what they changed. */
  async tick(nextTickAt?: number): Promise<void> {
    if (this.#stopping || !this.#active) return;
    const stint = this.#stint;
    const current = (): boolean => stint === this.#stint && this.#active;
    const now = this.#clock.now();
    await this.#refreshMutes(now);
    if (current()) await this.#runs.record(now, this.#config.retentionMs);
    if (!current()) return;
    await this.#loop.tick(nextTickAt);
    // Lost the lease meanwhile: what the cycles decided is the next holder's to decide again.
    if (!current()) return;
    await this.#writer.flush();
    // After the commit: a worker woken inside the transaction would not see its rows on PostgreSQL.
    this.#notifications.wake();
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
      config.listen.port !== old.listen.port ||
      JSON.stringify(config.store) !== JSON.stringify(old.store) ||
      config.ha?.leaseMs !== old.ha?.leaseMs
    ) {
      this.#log.warn(
        { component: 'daemon' },
        'state_dir, listen, store and ha take effect only after a restart',
      );
    }
    await this.#inTurn(async () => {
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
          const added = new AccountPoller(account, gatewayClientFor(account), this.#pollerDeps);
          await added.load();
          this.#addAccount(added);
        } else if (sameConnection(poller.config, account)) {
          await poller.update(account);
        } else {
          void (await poller.update(account, gatewayClientFor(account)))?.close();
        }
      }
    });
    tuneHeapGrowth(deviceCount(config));
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
    // In turn with role changes: a standby must not end up with a ticker, nor a leader with two.
    await this.#inTurn(async () => {
      if (scheduleChanged && this.#active) {
        await this.#ticker?.stop();
        this.#startTicker();
      }
      if (auditChanged && this.#active) {
        await this.#audit.stop();
        this.#audit.start();
      }
    });
    this.#log.info({ component: 'daemon', accounts: config.accounts.length }, 'configuration reloaded');
  }

  /** Stops ticking, lets checks in flight finish (bounded), closes HTTP, clients and the DB. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#refreshTimer !== null) clearTimeout(this.#refreshTimer);
    // Checks in flight finish and what they decided is written while this replica still holds
    // the lease; then the lease is let go, so a standby takes over at its next try.
    await this.#inTurn(() => this.#standDown('stopping', { final: true }));
    await this.#keeper?.stop();
    await this.#serial;
    await this.#http?.close();
    await Promise.allSettled([...this.#pollers.values()].map((p) => p.close()));
    this.#calendar.close();
    await this.#store.close();
    this.#log.info({ component: 'daemon' }, 'stopped');
  }

  // --- roles ---------------------------------------------------------------------------------

  #leading(): boolean {
    return this.#keeper === null ? !this.#stopping : this.#keeper.leading();
  }

  #leaseKeeper(store: HaStore, leaseMs: number, shard: Shard | null): LeaseKeeper {
    const name = leaseName(shard);
    return new LeaseKeeper({
      store,
      name,
      leaseMs,
      clock: this.#clock,
      log: this.#log,
      onGained: (epoch) => this.#inTurn(() => this.#lead(() => store.setFence({ lease: name, epoch }))),
      onLost: (why) =>
        this.#inTurn(async () => {
          await this.#standDown(why, { final: false });
          store.setFence({ lease: name, epoch: null });
        }),
    });
  }

  /** Runs `work` after every role change and refresh before it. */
  #inTurn(work: () => Promise<void>): Promise<void> {
    const run = this.#serial.then(work);
    this.#serial = run.catch((err: unknown) =>
      this.#log.error({ component: 'daemon', err }, 'role change failed'),
    );
    return run;
  }

  /**
   * Starts leading: the state the store holds now (the last holder's, or this process's last
   * run's) replaces what is in memory, the budget counts the calls logged in the last minute —
   * by whoever made them —, then ticking, notifying and housekeeping start.
   */
  async #lead(fence?: () => void): Promise<void> {
    if (this.#stopping) return;
    // Ticks of an earlier stint as leader end before the state under them is replaced, and
    // before writes carry the new epoch: none of theirs may.
    await Promise.allSettled([...this.#ticks]);
    this.#writer.discard();
    fence?.();
    await this.#loadFromStore();
    this.#runs = new RunRecord(this.#store, this.#log, this.#clock.now());
    await this.#runs.load();
    this.#stint++;
    this.#active = true;
    this.#ready = false;
    this.#readyLogged = false;
    this.#notifications.start();
    this.#startTicker();
    this.#audit.start();
    void this.#retention.start();
  }

  /**
   * Stops leading. On losing the lease (`final` false) at once: no new tick, the cycles running
   * now end (no call starts), nothing is sent; what the last tick decided but could not write is
   * left to the next holder, which decides it again from the store. At stop (`final`), checks in
   * flight get STOP_GRACE_MS to finish and their results are written (SPEC §9).
   */
  async #standDown(why: string, options: { readonly final: boolean }): Promise<void> {
    if (options.final) await this.#loop.stop({ graceMs: STOP_GRACE_MS });
    if (!this.#active) return;
    this.#active = false;
    this.#stint++;
    await this.#ticker?.stop();
    this.#ticker = null;
    if (options.final) {
      await Promise.allSettled([...this.#ticks]);
      await this.#writer.close();
      await this.#runs.close(this.#clock.now(), this.#config.retentionMs);
    } else {
      this.#loop.interrupt();
      this.#writer.discard();
    }
    await Promise.allSettled([this.#notifications.stop(), this.#retention.stop(), this.#audit.stop()]);
    this.#log.info({ component: 'daemon', reason: why }, 'polling and notifying stopped');
  }

  /** Every poller's state, the account states and the run periods, as the store holds them. */
  async #loadFromStore(): Promise<void> {
    const stored = await readStoredStates(this.#store);
    await Promise.all([...this.#pollers.values()].map((p) => p.load(stored)));
    await this.#runs.load();
  }

  /** A standby's pages and API follow the leader's writes: its pollers reload every few seconds. */
  #scheduleRefresh(): void {
    this.#refreshTimer = setTimeout(() => {
      void this.#inTurn(async () => {
        if (this.#active || this.#stopping) return;
        try {
          await this.#loadFromStore();
        } catch (err) {
          this.#log.warn({ component: 'daemon', err }, 'a standby could not refresh from the store');
        }
      }).finally(() => {
        if (!this.#stopping) this.#scheduleRefresh();
      });
    }, STANDBY_REFRESH_MS);
    this.#refreshTimer.unref();
  }

  // --- wiring ------------------------------------------------------------------------------

  #addAccount(poller: AccountPoller): void {
    this.#pollers.set(poller.name, poller);
    this.#loop.add(poller);
  }

  async #refreshMutes(now: number): Promise<void> {
    this.#calendar.advance(now);
    try {
      this.#mutes.refresh(await this.#store.activeSilences(now), this.#calendar.openWindows(now), now);
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
      canPoll: () => this.#leading(),
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

  /** /readyz: true, or why not (one line). A standby is ready: it serves what the store holds. */
  #readiness(): true | string {
    if (this.#stopping) return 'stopping';
    if (!this.#active) return true;
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
