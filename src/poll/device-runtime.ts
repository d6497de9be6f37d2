// A device as its poller holds it — its config, the state machine's state and its delivery
// health (SPEC §10) — how those are restored from the store, and the row they are stored as.
//
// The delivery state rides in the row's state JSON as `delivery`, beside the DOWN/UP state, so it
// is written in the same transaction and survives restarts the same way; a row written before
// delivery health existed has none and starts fresh.

import type { DeviceConfig } from '../config/types.js';
import { initialAccountState, type AccountState } from '../monitor/account-state.js';
import { DELIVERY_PROBLEMS, type DeliveryState } from '../monitor/delivery.js';
import { deliveryFromStoredState } from '../report/delivery.js';
import { initialDeviceState, type DeviceState } from '../monitor/device-state.js';
import type { DeliveryProblemChange, DeviceRow } from '../store/store.js';

export interface DeviceRuntime {
  config: DeviceConfig;
  state: DeviceState;
  delivery: DeliveryState;
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

/**
 * The delivery problems that began or ended in one step of the delivery rules (SPEC §10), for the
 * store's problem periods (the audit's "hours stalled"): a problem that began opens a period at
 * the `since` the rules gave it (for a stall, the first reading of the wait); one that ended
 * closes it at `at`, the step's time. A problem whose `since` changed ended and began again.
 */
export function deliveryProblemChanges(
  account: string,
  device: string,
  before: DeliveryState,
  after: DeliveryState,
  at: number,
): DeliveryProblemChange[] {
  const out: DeliveryProblemChange[] = [];
  if (before === after) return out;
  for (const problem of DELIVERY_PROBLEMS) {
    const was = before.problemSince[problem];
    const is = after.problemSince[problem];
    if (was === is) continue;
    if (was !== null) out.push({ account, device, problem, kind: 'ended', at });
    if (is !== null) out.push({ account, device, problem, kind: 'started', at: is });
  }
  return out;
}
