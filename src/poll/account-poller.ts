// One account's whole poll cycle: its scheduler picks the devices, each check goes through the
// account's metered gateway and feeds the pure state machine, and at the end of the cycle what
// changed — device rows, history, the account's state and the alerts decided — goes to `commit`
// as one batch. The cycle writer writes a tick's batches in one transaction with the outbox, so a
// crash can never record an alert as decided without also having queued it: at worst the cycle
// is lost and decided again after the restart.
//
// In order: runCycle → scheduler (when) → check (gateway call → observeDevice → QR at DOWN) →
// on slots no check wants, balance reads (delivery-reader.ts → observeReading) → endCycle
// (account verdict, time-driven device and delivery events) → commit.
//
// Over 350 lines for now: status checks, balance reads and the account verdict share one cycle
// tally and one device table; the performance issue (17) reworks that per-device state, and the
// split belongs with it.

import type { AccountConfig, DeviceConfig } from '../config/types.js';
import type { ConnectResult, GatewayClient } from '../gateway/client.js';
import type { Logger } from '../log.js';
import type { CheckOutcome } from '../metrics/metrics.js';
import { observeAccountCycle, type AccountState } from '../monitor/account-state.js';
import { monotonicOf, type Clock } from '../monitor/clock.js';
import { deviceWentDown, observeReading, tickDelivery, type DeliveryReading } from '../monitor/delivery.js';
import { needsConfirmation, observeDevice, tickDevice, type DeviceStep } from '../monitor/device-state.js';
import { NOT_FOUND_INTERVAL_FACTOR, type ProbeErrorReason } from '../monitor/model.js';
import type { Mutes } from '../monitor/mutes.js';
import { roundMs } from '../monitor/round.js';
import type { DeviceAlert, MonitorAlert } from '../notify/events.js';
import type { AccountRow, DeliveryProblemChange, DeviceRow, DeviceSave, Store } from '../store/store.js';
import { AccountScheduler } from './account-scheduler.js';
import type { CheckResult, CycleOptions, CycleReport, CycleRunner } from './cycle.js';
import type { CycleCommit } from './cycle-writer.js';
import { deliveryContext, deliveryAlerts, DeliveryReader } from './delivery-reader.js';
import {
  deliveryProblemChanges,
  deviceRow,
  restoreAccountState,
  restoreDeliveryState,
  restoreDeviceState,
  type DeviceRuntime,
} from './device-runtime.js';
import { MeteredGateway, type ConnectThrottled, type Slot } from './metered-gateway.js';
import { StoredCallLog } from './call-log.js';

export type { DeviceRuntime } from './device-runtime.js';

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

/** The save, with the delivery problems that began or ended when there are any. */
function withDeliveryChanges(save: DeviceSave, changes: readonly DeliveryProblemChange[]): DeviceSave {
  return changes.length === 0 ? save : { ...save, deliveryChanges: changes };
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
  // Since when 429 answers have held the account back with no other answer between (issue 11).
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
      }),
    });
    const stored = deps.store.getAccounts().find((a) => a.account === config.name);
    this.#accountState = restoreAccountState(stored?.state);
    this.#setDevices(config.devices);
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
   * A reload: new device list and limits, and a new client when the connection settings changed
   * (the old one is returned, for the caller to close once its calls are over).
   */
  update(config: AccountConfig, client?: GatewayClient): GatewayClient | null {
    this.#config = config;
    const old = client === undefined ? null : this.gateway.replaceClient(client);
    this.#setDevices(config.devices);
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
    // A device going DOWN ends its delivery problems silently (device.down says enough).
    let ended: DeliveryProblemChange[] = [];
    if (step.state.health === 'DOWN') {
      const before = rt.delivery;
      rt.delivery = deviceWentDown(before);
      ended = deliveryProblemChanges(this.name, device, before, rt.delivery, this.deps.clock.now());
    }
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
      const delivery = tickDelivery(rt.delivery, deliveryContext(rt, now, muted));
      if (delivery.state !== rt.delivery || delivery.events.length > 0) {
        const changes = deliveryProblemChanges(this.name, rt.config.number, rt.delivery, delivery.state, now);
        rt.delivery = delivery.state;
        t.saves.push(withDeliveryChanges({ row: deviceRow(this.name, rt), change: null }, changes));
        t.alerts.push(...deliveryAlerts(this.name, rt, delivery.events, this.#log));
      }
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
    const step = observeReading(rt.delivery, reading, deliveryContext(rt, reading.at, muted));
    const changes = deliveryProblemChanges(this.name, rt.config.number, rt.delivery, step.state, reading.at);
    rt.delivery = step.state;
    this.#tally.saves.push(withDeliveryChanges({ row: deviceRow(this.name, rt), change: null }, changes));
    this.#tally.alerts.push(...deliveryAlerts(this.name, rt, step.events, this.#log));
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

  /** Takes the step and adds its row, change and events to the cycle's batch. */
  #apply(
    rt: DeviceRuntime,
    step: DeviceStep,
    tally: CycleTally,
    qrDataUrl: string | null = null,
    deliveryChanges: readonly DeliveryProblemChange[] = [],
  ): void {
    rt.state = step.state;
    const row = deviceRow(this.name, rt);
    const change =
      step.change === null
        ? null
        : {
            account: this.name,
            device: rt.config.number,
            at: step.change.at,
            from: step.change.from,
            to: step.change.to,
            raw: step.change.raw,
          };
    tally.saves.push(withDeliveryChanges({ row, change }, deliveryChanges));
    for (const event of step.events) {
      this.#log.info({ device: rt.config.number, event: event.type, status: event.status }, event.type);
      const alert: DeviceAlert = {
        kind: 'device',
        account: this.name,
        device: { number: rt.config.number, name: rt.config.name, labels: rt.config.labels },
        channels: rt.config.channels,
        event,
      };
      tally.alerts.push(
        event.type === 'device.down' && qrDataUrl !== null
          ? { ...alert, qrCode: { dataUrl: qrDataUrl } }
          : alert,
      );
    }
  }

  #setDevices(devices: readonly DeviceConfig[]): void {
    const keep = new Set(devices.map((d) => d.number));
    for (const number of this.devices.keys()) if (!keep.has(number)) this.devices.delete(number);
    for (const config of devices) {
      const existing = this.devices.get(config.number);
      if (existing !== undefined) {
        existing.config = config;
        continue;
      }
      const row = this.deps.store.getDevice(this.#config.name, config.number);
      this.devices.set(config.number, {
        config,
        state: restoreDeviceState(row?.state),
        delivery: restoreDeliveryState(row?.state),
      });
    }
  }

  #reschedule(): void {
    this.scheduler.update({
      devices: this.#scheduled(),
      rateLimitPerMinute: this.#config.rateLimitPerMinute,
      concurrency: this.#config.concurrency,
    });
  }

  // The scheduler runs on the monotonic clock: a last check restored from the store (wall time)
  // is converted once, here (one "in the future" after a clock step back counts as just now).
  #scheduled(): { number: string; intervalMs: number; lastCheckAt?: number }[] {
    return [...this.devices.values()].map((rt) => {
      const intervalMs =
        rt.state.status === 'not_found'
          ? rt.config.policy.intervalMs * NOT_FOUND_INTERVAL_FACTOR
          : rt.config.policy.intervalMs;
      return rt.state.lastCheckAt === null
        ? { number: rt.config.number, intervalMs }
        : {
            number: rt.config.number,
            intervalMs,
            lastCheckAt: monotonicOf(this.deps.clock, rt.state.lastCheckAt),
          };
    });
  }
}
