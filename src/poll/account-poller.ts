// One account's whole poll cycle: its scheduler picks the devices, each check goes through the
// account's metered gateway and feeds the pure state machine, and at the end of the cycle what
// changed — device rows, history, the account's state and the alerts decided — goes to `commit`
// as one batch. The cycle writer writes a tick's batches in one transaction with the outbox, so a
// crash can never record an alert as decided without also having queued it: at worst the cycle
// is lost and decided again after the restart.
//
// In order: runCycle → scheduler (when) → check (gateway call → observeDevice → QR at DOWN) →
// on slots no check wants, balance reads (delivery-reader.ts, delivery-steps.ts) → endCycle
// (account verdict, time-driven device and delivery events) → commit.
//
// The poller's states come from the store only through `load()`: at start, and whenever they
// must be replaced by what the store holds now (an HA standby refreshing, a replica taking over
// the lease). Constructed, it holds fresh states and makes no store call.

import type { AccountConfig } from '../config/types.js';
import type { ConnectResult, GatewayClient } from '../gateway/client.js';
import type { Logger } from '../log.js';
import type { CheckOutcome } from '../metrics/metrics.js';
import { observeAccountCycle, type AccountState } from '../monitor/account-state.js';
import type { Clock } from '../monitor/clock.js';
import type { DeliveryReading } from '../monitor/delivery.js';
import { needsConfirmation, observeDevice, tickDevice, type DeviceStep } from '../monitor/device-state.js';
import type { ProbeErrorReason } from '../monitor/model.js';
import type { Mutes } from '../monitor/mutes.js';
import { roundMs } from '../monitor/round.js';
import type { MonitorAlert } from '../notify/events.js';
import type { AccountRow, DeliveryProblemChange, DeviceRow, DeviceSave, Store } from '../store/store.js';
import { AccountScheduler, type ScheduledDevice } from './account-scheduler.js';
import type { CheckResult, CycleOptions, CycleReport, CycleRunner } from './cycle.js';
import type { CycleCommit } from './cycle-writer.js';
import { DeliveryReader } from './delivery-reader.js';
import { endDeliveryAtDown, takeReading, tickDeliveryOf } from './delivery-steps.js';
import {
  applyDeviceStep,
  deviceRow,
  readStoredStates,
  restoreAccountState,
  restoreDeliveryState,
  restoreDeviceState,
  scheduledDevices,
  setDeviceConfigs,
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
}

// How long the QR code of a `reconnect: qr` DOWN may wait for the budget and the call.
const QR_FOR_DOWN_MS = 60_000;

interface CycleTally {
  checks: number;
  validAnswers: number;
  unauthorized: boolean;
  lastError: { reason: ProbeErrorReason; message: string } | null;
  saves: DeviceSave[];
  alerts: MonitorAlert[];
}

function emptyTally(): CycleTally {
  return { checks: 0, validAnswers: 0, unauthorized: false, lastError: null, saves: [], alerts: [] };
}

export class AccountPoller implements CycleRunner {
  readonly scheduler: AccountScheduler;
  readonly gateway: MeteredGateway;
  readonly devices = new Map<string, DeviceRuntime>();
  /** Balance reads (SPEC §10): which devices, at what pace; its `pace` is exported. */
  readonly delivery: DeliveryReader;
  #config: AccountConfig;
  #accountState: AccountState;
  #tally = emptyTally();
  readonly #log: Logger;

  constructor(
    config: AccountConfig,
    client: GatewayClient,
    private readonly deps: PollerDeps,
  ) {
    this.#config = config;
    this.#log = deps.log.child({ component: 'poller', account: config.name });
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
      }),
    });
    this.#accountState = restoreAccountState(undefined);
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
    return this.#accountState;
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
    const rows = new Map<string, DeviceRow>();
    for (const row of devices) if (row.account === this.name) rows.set(row.device, row);
    this.#accountState = restoreAccountState(accounts.find((a) => a.account === this.name)?.state);
    for (const rt of this.devices.values()) {
      const row = rows.get(rt.config.number);
      rt.state = restoreDeviceState(row?.state);
      rt.delivery = restoreDeliveryState(row?.state);
    }
    // Whatever a cycle tallied and did not commit belongs to the states just replaced.
    this.#tally = emptyTally();
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
    const rows = new Map<string, DeviceRow>();
    if (config.devices.some((d) => !this.devices.has(d.number))) {
      for (const row of await this.deps.store.getDevices()) {
        if (row.account === config.name) rows.set(row.device, row);
      }
    }
    this.#config = config;
    const old = client === undefined ? null : this.gateway.replaceClient(client);
    setDeviceConfigs(this.devices, config.devices, rows);
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

  /** Stops the cycles (see AccountScheduler.stop) and turns away calls waiting for the budget. */
  async stop(options: { readonly graceMs?: number } = {}): Promise<void> {
    this.gateway.stop();
    await this.scheduler.stop(options);
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
    const seconds = (performance.now() - started) / 1000;
    const t = this.#tally;
    t.checks++;
    // not_found is a status: the gateway answered, so it counts as a valid answer here.
    if (observation.kind === 'status') t.validAnswers++;
    else {
      if (observation.reason === 'unauthorized') t.unauthorized = true;
      t.lastError = { reason: observation.reason, message: observation.message };
    }
    // A device removed by a reload while its check was in flight: nothing to record.
    if (rt === undefined) return { observation, recheckSoon: false };
    const muted = this.deps.mutes.isMuted(this.#config.name, device);
    const step = observeDevice(rt.state, observation, {
      now: this.deps.clock.now(),
      policy: rt.config.policy,
      muted,
    });
    // `reconnect: qr` (SPEC §3): one /connect at DOWN, its QR code attached to the device.down.
    let qrDataUrl: string | null = null;
    if (rt.config.policy.reconnect === 'qr' && step.events.some((e) => e.type === 'device.down')) {
      qrDataUrl = await this.#qrForDown(device);
    }
    const wasNotFound = rt.state.status === 'not_found';
    const ended = step.state.health === 'DOWN' ? endDeliveryAtDown(this.name, rt, this.deps.clock.now()) : [];
    this.#apply(rt, step, this.#tally, qrDataUrl, ended);
    // A device the gateway does not know is checked every 10 × interval (SPEC §3): its due time
    // changes with the status. Before the scheduler's `finish`, which takes the new interval.
    if (wasNotFound !== (step.state.status === 'not_found')) this.#reschedule();
    // Which devices' balance is read follows UP/DOWN and the status (delivery-reader.ts).
    this.delivery.refresh();
    if (step.change !== null) {
      this.#log.info(
        { device, from: step.change.from, to: step.change.to, raw: step.change.raw },
        'status changed',
      );
    }
    this.#log.debug(
      observation.kind === 'status'
        ? { device, status: observation.status, ms: Math.round(seconds * 1000) }
        : { device, reason: observation.reason, err: observation.message, ms: Math.round(seconds * 1000) },
      'checked',
    );
    return { observation, recheckSoon: needsConfirmation(step.state) };
  }

  /** After the account's cycle: account-level verdict, time-driven device events, then commit. */
  #endCycle(report: CycleReport): void {
    const now = this.deps.clock.now();
    const t = this.#tally;
    this.#tally = emptyTally();
    let account: AccountRow | null = null;
    if (!report.skipped) {
      const step = observeAccountCycle(
        this.#accountState,
        {
          now,
          checks: t.checks,
          validAnswers: t.validAnswers,
          unauthorized: t.unauthorized,
          lastError: t.lastError,
          rateLimitedSince: this.rateLimitedSince(),
        },
        {
          failureThreshold: this.#config.policy.failureThreshold,
          roundMs: this.roundMs(),
          muted: this.deps.mutes.isAccountMuted(this.name),
        },
      );
      if (step.state !== this.#accountState) {
        this.#accountState = step.state;
        account = { account: this.name, reachable: step.state.reachable, state: step.state };
      }
      for (const event of step.events) {
        this.#log.warn({ event: event.type, reason: event.reason, err: event.message }, event.type);
        t.alerts.push({ kind: 'account', account: this.name, event });
      }
    }
    for (const rt of this.devices.values()) {
      const muted = this.deps.mutes.isMuted(this.name, rt.config.number);
      // Delivery reminders, and what a silence held back (SPEC §10), before the device's own.
      const delivery = tickDeliveryOf(this.name, rt, now, muted, this.#log);
      if (delivery.save !== null) t.saves.push(delivery.save);
      t.alerts.push(...delivery.alerts);
      const step = tickDevice(rt.state, { now, policy: rt.config.policy, muted });
      if (step.state !== rt.state || step.events.length > 0) this.#apply(rt, step, t);
    }
    if (t.saves.length > 0 || account !== null || t.alerts.length > 0) {
      this.deps.commit({ saves: t.saves, account, alerts: t.alerts });
    }
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
    const scheduled = this.#scheduled();
    return roundMs(
      scheduled.map((d) => ({
        intervalMs: d.intervalMs,
        known: this.devices.get(d.number)?.state.status !== 'not_found',
      })),
      this.gateway.plannedSpacingMs,
    );
  }

  /** Rows for every configured device, in config order (status page, API, metrics). */
  rows(): DeviceRow[] {
    return [...this.devices.values()].map((rt) => deviceRow(this.name, rt));
  }

  /** A balance reading: the delivery rules, the row, and any alert, into this cycle's batch. */
  #onReading(rt: DeviceRuntime, reading: DeliveryReading): void {
    const muted = this.deps.mutes.isMuted(this.name, rt.config.number);
    const step = takeReading(this.name, rt, reading, muted, this.#log);
    if (step.save !== null) this.#tally.saves.push(step.save);
    this.#tally.alerts.push(...step.alerts);
    const { at: _at, ...counts } = reading;
    this.#log.debug({ device: rt.config.number, ...counts }, 'balance read');
  }

  /** `reconnect: qr` (SPEC §3): the QR code attached to a device.down; null when none came. */
  async #qrForDown(device: string): Promise<string | null> {
    const result = await this.connect(device, AbortSignal.timeout(QR_FOR_DOWN_MS));
    if (result?.kind === 'qr') return result.dataUrl;
    this.deps.log.warn(
      {
        component: 'notify',
        account: this.name,
        device,
        result: result === null ? 'cancelled' : result.kind,
      },
      'no QR code for the down alert',
    );
    return null;
  }

  #timeoutMs(device: string): number {
    return this.devices.get(device)?.config.policy.timeoutMs ?? this.#config.policy.timeoutMs;
  }

  #reschedule(): void {
    this.scheduler.update({
      devices: this.#scheduled(),
      rateLimitPerMinute: this.#config.rateLimitPerMinute,
      concurrency: this.#config.concurrency,
    });
  }

  #scheduled(): ScheduledDevice[] {
    return scheduledDevices(this.devices.values(), this.deps.clock);
  }

  /** Takes the step and adds its row, change and events to the cycle's batch. */
  #apply(
    rt: DeviceRuntime,
    step: DeviceStep,
    tally: CycleTally,
    qrDataUrl: string | null = null,
    deliveryChanges: readonly DeliveryProblemChange[] = [],
  ): void {
    const { save, alerts } = applyDeviceStep(this.name, rt, step, this.#log, qrDataUrl, deliveryChanges);
    tally.saves.push(save);
    tally.alerts.push(...alerts);
  }
}
