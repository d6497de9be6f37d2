// A device as its poller holds it — its config and the state machine's state — how that state is
// restored from the store, and the row it is stored as.

import type { DeviceConfig } from '../config/types.js';
import { initialAccountState, type AccountState } from '../monitor/account-state.js';
import { initialDeviceState, type DeviceState } from '../monitor/device-state.js';
import type { DeviceRow } from '../store/store.js';

export interface DeviceRuntime {
  config: DeviceConfig;
  state: DeviceState;
}

/** A stored state is trusted only if it has the machine's shape; anything else starts afresh. */
export function restoreDeviceState(value: unknown): DeviceState {
  const init = initialDeviceState();
  if (typeof value !== 'object' || value === null) return init;
  const v = value as Partial<DeviceState>;
  if (v.health !== 'UP' && v.health !== 'DOWN') return init;
  return { ...init, ...v };
}

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
    state: s,
  };
}
