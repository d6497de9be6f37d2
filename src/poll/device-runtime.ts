// A device as its poller holds it — its config, the state machine's state and its delivery
// health (SPEC §10) — how those are read back and restored from the store, the row they are
// stored as, how the scheduler sees the device, and a status step taken on it.
//
// The delivery state rides in the row's state JSON as `delivery`, beside the DOWN/UP state, so it
// is written in the same transaction and survives restarts the same way; a row written before
// delivery health existed has none and starts fresh.

import type { DeviceConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { initialAccountState, type AccountState } from '../monitor/account-state.js';
import { monotonicOf, type Clock } from '../monitor/clock.js';
import type { DeliveryState } from '../monitor/delivery.js';
import type { ScheduledDevice } from '../monitor/due-queue.js';
import { NOT_FOUND_INTERVAL_FACTOR } from '../monitor/model.js';
import { roundMs } from '../monitor/round.js';
import { deliveryFromStoredState } from '../report/delivery.js';
import { initialDeviceState, type DeviceState, type DeviceStep } from '../monitor/device-state.js';
import type { DeviceAlert } from '../notify/events.js';
import type { AccountRow, DeliveryProblemChange, DeviceRow, DeviceSave, Store } from '../store/store.js';

export interface DeviceRuntime {
  config: DeviceConfig;
  state: DeviceState;
  delivery: DeliveryState;
  /** When its row was last handed to the cycle writer (monotonic); −∞ before the first. */
  rowCommittedAt: number;
  /** The state moved since by routine checks only (routine-rows.ts): the stored row lags. */
  rowBehind: boolean;
}

/** A device as loaded from its stored row, or afresh without one; its row counts as unwritten. */
export function deviceRuntime(config: DeviceConfig, row: DeviceRow | undefined): DeviceRuntime {
  return {
    config,
    state: restoreDeviceState(row?.state),
    delivery: restoreDeliveryState(row?.state),
    rowCommittedAt: Number.NEGATIVE_INFINITY,
    rowBehind: false,
  };
}

/** The stored states AccountPoller.load restores from: account and device rows, of any accounts. */
export interface StoredStates {
  readonly accounts: readonly AccountRow[];
  readonly devices: readonly DeviceRow[];
}

/** Reads them once, so that the pollers of a fleet loading together share one read of each table. */
export async function readStoredStates(store: Store): Promise<StoredStates> {
  const accounts = await store.getAccounts();
  const devices = await store.getDevices();
  return { accounts, devices };
}

/** A stored state is trusted only if it has the machine's shape; anything else starts afresh. */
export function restoreDeviceState(value: unknown): DeviceState {
  const init = initialDeviceState();
  if (typeof value !== 'object' || value === null) return init;
  const { delivery: _delivery, ...v } = value as Partial<DeviceState> & { delivery?: unknown };
  if (v.health !== 'UP' && v.health !== 'DOWN') return init;
  return { ...init, ...v };
}

/** The `delivery` part of a stored device state (report/delivery.ts reads it for the views too). */
export const restoreDeliveryState = deliveryFromStoredState;

export function restoreAccountState(value: unknown): AccountState {
  const init = initialAccountState();
  if (typeof value !== 'object' || value === null) return init;
  const v = value as Partial<AccountState>;
  if (typeof v.reachable !== 'boolean') return init;
  // Only the machine's keys: a state stored by an older build (which counted failed cycles,
  // not rounds) keeps its verdict and starts counting rounds afresh.
  const restored = { ...init };
  for (const key of Object.keys(init) as (keyof AccountState)[]) {
    if (v[key] !== undefined) (restored as Record<string, unknown>)[key] = v[key];
  }
  return restored;
}

export function deviceRow(account: string, rt: DeviceRuntime): DeviceRow {
  const s = rt.state;
  return {
    account,
    device: rt.config.number,
    status: s.status,
    statusRaw: s.statusRaw,
    health: s.health,
    statusSince: s.statusSince,
    lastCheckAt: s.lastCheckAt,
    probeError: s.lastProbeError === null ? null : `${s.lastProbeError.reason}: ${s.lastProbeError.message}`,
    transitions: s.transitions,
    state: { ...s, delivery: rt.delivery },
  };
}

/** The rows of `account` among `rows`, by device number. */
export function storedRowsOf(rows: readonly DeviceRow[], account: string): Map<string, DeviceRow> {
  const mine = new Map<string, DeviceRow>();
  for (const row of rows) if (row.account === account) mine.set(row.device, row);
  return mine;
}

/**
 * One round of the devices (monitor/round.ts) at `spacingMs`: a device the gateway does not know
 * is due every 10 × interval, and does not stretch the round.
 */
export function roundOf(devices: Iterable<DeviceRuntime>, spacingMs: number): number {
  const round = Array.from(devices, (rt) => {
    const known = rt.state.status !== 'not_found';
    return { intervalMs: rt.config.policy.intervalMs * (known ? 1 : NOT_FOUND_INTERVAL_FACTOR), known };
  });
  return roundMs(round, spacingMs);
}

/**
 * Replaces every device's state with its stored row of `account` in `rows` (afresh without one):
 * memory then holds what the store holds, and the first check writes the row again.
 */
export function restoreDevices(
  devices: ReadonlyMap<string, DeviceRuntime>,
  account: string,
  rows: readonly DeviceRow[],
): void {
  const mine = storedRowsOf(rows, account);
  for (const rt of devices.values()) {
    const row = mine.get(rt.config.number);
    rt.state = restoreDeviceState(row?.state);
    rt.delivery = restoreDeliveryState(row?.state);
    rt.rowCommittedAt = Number.NEGATIVE_INFINITY;
    rt.rowBehind = false;
  }
}

/**
 * The configured devices into `devices` (config order): kept ones keep their state, removed ones
 * leave, new ones start from their row in `stored` when it has one, else afresh.
 */
export function setDeviceConfigs(
  devices: Map<string, DeviceRuntime>,
  configs: readonly DeviceConfig[],
  stored: ReadonlyMap<string, DeviceRow>,
): void {
  const keep = new Set(configs.map((d) => d.number));
  for (const number of devices.keys()) if (!keep.has(number)) devices.delete(number);
  for (const config of configs) {
    const existing = devices.get(config.number);
    if (existing !== undefined) {
      existing.config = config;
      continue;
    }
    devices.set(config.number, deviceRuntime(config, stored.get(config.number)));
  }
}

/**
 * The devices as the scheduler plans them. It runs on the monotonic clock: a last check restored
 * from the store (wall time) is converted once, here (one "in the future" after a clock step back
 * counts as just now). A device the gateway does not know is due every 10 × interval (SPEC §3).
 */
export function scheduledDevices(devices: Iterable<DeviceRuntime>, clock: Clock): ScheduledDevice[] {
  return Array.from(devices, (rt) => {
    const intervalMs =
      rt.state.status === 'not_found'
        ? rt.config.policy.intervalMs * NOT_FOUND_INTERVAL_FACTOR
        : rt.config.policy.intervalMs;
    return rt.state.lastCheckAt === null
      ? { number: rt.config.number, intervalMs }
      : { number: rt.config.number, intervalMs, lastCheckAt: monotonicOf(clock, rt.state.lastCheckAt) };
  });
}

/** The save, with the delivery problems that began or ended when there are any. */
export function withDeliveryChanges(save: DeviceSave, changes: readonly DeliveryProblemChange[]): DeviceSave {
  return changes.length === 0 ? save : { ...save, deliveryChanges: changes };
}

/**
 * Takes a step of the device's state machine: its row and status change to save, and its events
 * as alerts (a device.down carrying the QR code when one came).
 */
export function applyDeviceStep(
  account: string,
  rt: DeviceRuntime,
  step: DeviceStep,
  log: Logger,
  qrDataUrl: string | null = null,
  deliveryChanges: readonly DeliveryProblemChange[] = [],
): { readonly save: DeviceSave; readonly alerts: DeviceAlert[] } {
  rt.state = step.state;
  const change =
    step.change === null
      ? null
      : {
          account,
          device: rt.config.number,
          at: step.change.at,
          from: step.change.from,
          to: step.change.to,
          raw: step.change.raw,
        };
  const alerts = step.events.map((event): DeviceAlert => {
    log.info({ device: rt.config.number, event: event.type, status: event.status }, event.type);
    const alert: DeviceAlert = {
      kind: 'device',
      account,
      device: { number: rt.config.number, name: rt.config.name, labels: rt.config.labels },
      channels: rt.config.channels,
      event,
    };
    return event.type === 'device.down' && qrDataUrl !== null
      ? { ...alert, qrCode: { dataUrl: qrDataUrl } }
      : alert;
  });
  return { save: withDeliveryChanges({ row: deviceRow(account, rt), change }, deliveryChanges), alerts };
}
