// One account's whole poll cycle: its scheduler picks the devices, each check goes through the
// account's metered gateway and feeds the pure state machine, and at the end of the cycle what
// changed — device rows, history, the account's state and the alerts decided — goes to `commit`
// as one batch. The cycle writer writes a tick's batches in one transaction with the outbox, so a
// crash can never record an alert as decided without also having queued it: at worst the cycle
// is lost and decided again after the restart.
//
// In order: runCycle → scheduler (when: account-scheduler.ts, dispatch-cycle.ts) → check (gateway
// call → device-check.ts: observeDevice, QR at DOWN, the row now or later) → on slots no check
// wants, balance reads (delivery-reader.ts, delivery-steps.ts) → endCycle (cycle-tally.ts: account
// verdict, time-driven device and delivery events) → commit.
//
// The poller's states come from the store only through `load()`: at start, and whenever they
// must be replaced by what the store holds now (an HA standby refreshing, a replica taking over
// the lease). Constructed, it holds fresh states and makes no store call.
//
// Over 350 lines: the account's public face (load, update, check, cycle, stop) over the parts
// named above, which hold the logic.

import type { AccountConfig } from '../config/types.js';
import type { ConnectResult, GatewayClient } from '../gateway/client.js';
import type { Logger } from '../log.js';
import type { CheckOutcome } from '../metrics/metrics.js';
import type { AccountState } from '../monitor/account-state.js';
import type { Clock } from '../monitor/clock.js';
import type { DeliveryReading } from '../monitor/delivery.js';
import type { Mutes } from '../monitor/mutes.js';
import type { DeviceRow, Store } from '../store/store.js';
import { AccountScheduler, type ScheduledDevice } from './account-scheduler.js';
import type { CheckResult, CycleOptions, CycleReport, CycleRunner } from './cycle.js';
import type { CycleCommit } from './cycle-writer.js';
import { accountRow, CycleTally, endCycle, type AccountRuntime } from './cycle-tally.js';
import { DeliveryReader } from './delivery-reader.js';
import { takeReading } from './delivery-steps.js';
import { qrForDown, takeCheck, type CheckContext } from './device-check.js';
import {
  deviceRow,
  readStoredStates,
  restoreAccountState,
  restoreDevices,
  roundOf,
  scheduledDevices,
  setDeviceConfigs,
  storedRowsOf,
  type DeviceRuntime,
  type StoredStates,
} from './device-runtime.js';
import { MeteredGateway, type ConnectThrottled, type Slot } from './metered-gateway.js';
import { StoredCallLog } from './call-log.js';

export type { DeviceRuntime, StoredStates } from './device-runtime.js';
export { readStoredStates } from './device-runtime.js';

export interface PollerDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly log: Logger;
  readonly mutes: Mutes;
  readonly commit: (batch: CycleCommit) => void;
  /** Every call to the gateway: its duration and outcome. */
  readonly recordCheck: (account: string, seconds: number, outcome: CheckOutcome) => void;
  /** Every balance read that reached the gateway (whatsgate_delivery_checks_total). */
  readonly recordDeliveryCheck?: (account: string) => void;
  /** HA: the lease epoch the gateway calls are logged under (SPEC §11); absent without HA. */
  readonly epoch?: () => number | null;
  /**
   * HA: a gateway call that could not be logged in the store is not made (call-log.ts), and
   * `load()` rejects when the call log cannot be read. Default false (a single node).
   */
  readonly strictCallLog?: boolean;
  /** Each failure to log a gateway call in the store, and null at the first success after one. */
  readonly onCallLogWrite?: (failure: unknown) => void;
}

export class AccountPoller implements CycleRunner {
  readonly scheduler: AccountScheduler;
  readonly gateway: MeteredGateway;
  readonly devices = new Map<string, DeviceRuntime>();
  /** Balance reads (SPEC §10): which devices, at what pace; its `pace` is exported. */
  readonly delivery: DeliveryReader;
  #config: AccountConfig;
  readonly #account: AccountRuntime;
  #tally = new CycleTally();
  /** One round of the account (roundMs), kept until the devices, their intervals or the rate change. */
  #roundMs: number | undefined;
  readonly #log: Logger;
  readonly #checkContext: CheckContext;

  constructor(
    config: AccountConfig,
    client: GatewayClient,
    private readonly deps: PollerDeps,
  ) {
    this.#config = config;
    this.#log = deps.log.child({ component: 'poller', account: config.name });
    this.#checkContext = {
      account: config.name,
      clock: deps.clock,
      mutes: deps.mutes,
      log: this.#log,
      qrForDown: (device) => qrForDown(this, deps.log, device),
    };
    this.gateway = new MeteredGateway({
      account: config.name,
      client,
      rateLimitPerMinute: config.rateLimitPerMinute,
      clock: deps.clock,
      onCall: deps.recordCheck,
      onWarn: (message) => this.#log.warn(message),
      callLog: new StoredCallLog({
        store: deps.store,
        account: config.name,
        clock: deps.clock,
        origin: 'daemon',
        onWarn: (message) => this.#log.warn(message),
        ...(deps.epoch === undefined ? {} : { epoch: deps.epoch }),
        strict: deps.strictCallLog === true,
        ...(deps.onCallLogWrite === undefined ? {} : { onStoreWrite: deps.onCallLogWrite }),
      }),
    });
    this.#account = {
      state: restoreAccountState(undefined),
      rowCommittedAt: Number.NEGATIVE_INFINITY,
      rowBehind: false,
    };
    setDeviceConfigs(this.devices, config.devices, new Map());
    this.delivery = new DeliveryReader({
      account: config.name,
      gateway: this.gateway,
      clock: deps.clock,
      log: this.#log,
      devices: this.devices,
      onReading: (rt, reading) => this.#onReading(rt, reading),
      ...(deps.recordDeliveryCheck === undefined ? {} : { onCall: deps.recordDeliveryCheck }),
    });
    this.delivery.refresh();
    this.scheduler = new AccountScheduler({
      account: config.name,
      devices: this.#scheduled(),
      concurrency: config.concurrency,
      clock: deps.clock,
      slots: this.gateway,
      spare: this.delivery,
      check: (device, signal, slot) => this.check(device, signal, slot),
      onWarn: (message) => this.#log.warn(message),
    });
  }

  get account(): string {
    return this.#config.name;
  }
  get name(): string {
    return this.#config.name;
  }
  get config(): AccountConfig {
    return this.#config;
  }
  get accountState(): AccountState {
    return this.#account.state;
  }

  /**
   * (Re)loads the account's state and every device's state from the store, REPLACING what is in
   * memory, and adds the calls of the store's log the budget does not know yet (at the first load,
   * all of the last window's: a restart or a takeover must not reset the budget). Checks are then
   * scheduled from the stored last checks, as after a restart, and what the stored states decided
   * (a DOWN alerted, a reminder sent) is not decided again. Call it before the first cycle, and
   * later only while no cycle runs (no tick started, or the last one's cycles over; `stop` is for
   * good): a cycle running would commit states from before the load. `stored`: the rows read once
   * for every poller (readStoredStates), else this poller reads them. Rejects when the store
   * cannot be read (nothing is replaced then), or when a strict call log cannot be read.
   */
  async load(stored?: StoredStates): Promise<void> {
    const { accounts, devices } = stored ?? (await readStoredStates(this.deps.store));
    await this.gateway.restoreBudget();
    this.#account.state = restoreAccountState(accounts.find((a) => a.account === this.name)?.state);
    this.#account.rowCommittedAt = Number.NEGATIVE_INFINITY;
    this.#account.rowBehind = false;
    restoreDevices(this.devices, this.name, devices);
    // Whatever a cycle tallied and did not commit belongs to the states just replaced.
    this.#tally = new CycleTally();
    this.#roundMs = undefined;
    this.scheduler.restore(this.#scheduled());
    this.delivery.reset();
  }

  /**
   * A reload: new device list and limits, and a new client when the connection settings changed
   * (the old one is returned, for the caller to close once its calls are over). A device new to
   * this poller starts from its stored state, if the store has one (a device put back in the
   * config): read first, so a store that cannot be read rejects before anything changed.
   */
  async update(config: AccountConfig, client?: GatewayClient): Promise<GatewayClient | null> {
    const rows = config.devices.some((d) => !this.devices.has(d.number))
      ? storedRowsOf(await this.deps.store.getDevices(), config.name)
      : new Map<string, DeviceRow>();
    this.#config = config;
    const old = client === undefined ? null : this.gateway.replaceClient(client);
    setDeviceConfigs(this.devices, config.devices, rows);
    this.#roundMs = undefined;
    this.scheduler.update({
      devices: this.#scheduled(),
      rateLimitPerMinute: config.rateLimitPerMinute,
      concurrency: config.concurrency,
    });
    this.delivery.refresh();
    return old;
  }

  /** One cycle of the account, from its scheduler's checks to the commit of what they changed. */
  async runCycle(signal: AbortSignal, options: CycleOptions = {}): Promise<CycleReport> {
    const report = await this.scheduler.runCycle(signal, options);
    this.#endCycle(report);
    return report;
  }

  /**
   * Hands every routine row still waiting (routine-rows.ts) to the cycle writer, for its next
   * flush: before a clean stop's last flush, so that a clean stop loses no last-check time.
   */
  commitRoutineRows(): void {
    const tally = new CycleTally();
    const mono = this.deps.clock.monotonic();
    tally.saveBehind(this.name, this.devices.values(), mono);
    const account = this.#account.rowBehind ? accountRow(this.name, this.#account, mono) : null;
    if (tally.saves.length > 0 || account !== null) {
      this.deps.commit({ saves: tally.saves, account, alerts: [] });
    }
  }

  /**
   * Stops the cycles (see AccountScheduler.stop) and turns away calls waiting for the budget;
   * then hands the routine rows still waiting to the cycle writer (commitRoutineRows).
   */
  async stop(options: { readonly graceMs?: number } = {}): Promise<void> {
    this.gateway.stop();
    await this.scheduler.stop(options);
    this.commitRoutineRows();
  }

  /** Closes the gateway client; after `stop`. */
  close(): Promise<void> {
    return this.gateway.close();
  }

  /**
   * One `/connect` through the account's budget (the re-link page); null when cancelled while
   * waiting, `throttled` when the device had one moments ago.
   */
  connect(device: string, signal: AbortSignal): Promise<ConnectResult | ConnectThrottled | null> {
    return this.gateway.connect(device, { signal, timeoutMs: this.#timeoutMs(device) });
  }

  async check(device: string, signal: AbortSignal, slot: Slot): Promise<CheckResult> {
    const rt = this.devices.get(device);
    const started = performance.now();
    const observation = await this.gateway.status(device, slot, {
      signal,
      timeoutMs: this.#timeoutMs(device),
    });
    // Cut short by a stop: the answer says nothing about the device or the account.
    if (signal.aborted) return { observation, recheckSoon: false };
    this.#tally.count(observation);
    // A device removed by a reload while its check was in flight: nothing to record.
    if (rt === undefined) return { observation, recheckSoon: false };
    const taken = await takeCheck(this.#checkContext, rt, observation, () => this.#tally);
    // A device the gateway does not know is checked every 10 × interval (SPEC §3): its due time
    // changes with the status. Before the scheduler's `finish`, which takes the new interval.
    if (taken.notFoundChanged) this.#reschedule();
    // Which devices' balance is read follows UP/DOWN and the status (delivery-reader.ts).
    if (taken.deliveryChanged) this.delivery.refresh();
    if (this.#log.isLevelEnabled('debug')) {
      const ms = Math.round(performance.now() - started);
      this.#log.debug(
        observation.kind === 'status'
          ? { device, status: observation.status, ms }
          : { device, reason: observation.reason, err: observation.message, ms },
        'checked',
      );
    }
    return { observation, recheckSoon: taken.recheckSoon };
  }

  /** After the account's cycle: account-level verdict, time-driven device events, then commit. */
  #endCycle(report: CycleReport): void {
    const { clock, mutes } = this.deps;
    const tally = this.#tally;
    this.#tally = new CycleTally();
    const commit = endCycle(tally, {
      account: this.name,
      accountRuntime: this.#account,
      devices: this.devices.values(),
      now: clock.now(),
      mono: clock.monotonic(),
      mutes,
      log: this.#log,
      skipped: report.skipped,
      failureThreshold: this.#config.policy.failureThreshold,
      roundMs: () => this.roundMs(),
      rateLimitedSince: () => this.rateLimitedSince(),
    });
    if (commit !== null) this.deps.commit(commit);
  }

  /**
   * Since when 429 answers have held the account back (the pause included), in wall time for the
   * account state; null when not. The metered gateway keeps the run on the monotonic clock and
   * ends it only at a valid answer, so a huge Retry-After still reads as held back.
   */
  rateLimitedSince(): number | null {
    const forMs = this.gateway.rateLimitedForMs();
    return forMs > 0 ? this.deps.clock.now() - forMs : null;
  }

  /** One round of the account: every device due once, at the budget's pace (monitor/round.ts). */
  roundMs(): number {
    this.#roundMs ??= roundOf(this.devices.values(), this.gateway.plannedSpacingMs);
    return this.#roundMs;
  }

  /** Rows for every configured device, in config order (status page, API, metrics). */
  rows(): DeviceRow[] {
    return [...this.devices.values()].map((rt) => deviceRow(this.name, rt));
  }

  /** A balance reading: the delivery rules, the row, and any alert, into this cycle's batch. */
  #onReading(rt: DeviceRuntime, reading: DeliveryReading): void {
    const muted = this.deps.mutes.isMuted(this.name, rt.config.number);
    const step = takeReading(this.name, rt, reading, muted, this.#log);
    if (step.save !== null) this.#tally.save(rt, step.save, this.deps.clock.monotonic());
    this.#tally.addAlerts(step.alerts);
    if (this.#log.isLevelEnabled('debug')) {
      const { at: _at, ...counts } = reading;
      this.#log.debug({ device: rt.config.number, ...counts }, 'balance read');
    }
  }

  #timeoutMs(device: string): number {
    return this.devices.get(device)?.config.policy.timeoutMs ?? this.#config.policy.timeoutMs;
  }

  #reschedule(): void {
    this.#roundMs = undefined;
    this.scheduler.update({
      devices: this.#scheduled(),
      rateLimitPerMinute: this.#config.rateLimitPerMinute,
      concurrency: this.#config.concurrency,
    });
  }

  #scheduled(): ScheduledDevice[] {
    return scheduledDevices(this.devices.values(), this.deps.clock);
  }
}
