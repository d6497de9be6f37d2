// The rows as SQLite returns them, and their conversion to and from the Store's types.

import type { Silence } from '../monitor/silence.js';
import type { DeviceRow, HistoryRow } from './store.js';

export interface DeviceRecord {
  account: string;
  device: string;
  status: DeviceRow['status'];
  statusRaw: string | null;
  health: DeviceRow['health'];
  statusSince: number | null;
  lastCheckAt: number | null;
  probeError: string | null;
  transitions: number;
  state: string;
}

export interface HistoryRecord {
  id: number;
  account: string;
  device: string;
  at: number;
  from: HistoryRow['from'];
  to: HistoryRow['to'];
  raw: string | null;
}

export interface AccountRecord {
  account: string;
  reachable: 0 | 1;
  state: string;
}

export type SilenceRecord = Silence;

export function toDeviceRow(r: DeviceRecord): DeviceRow {
  return {
    account: r.account,
    device: r.device,
    status: r.status,
    statusRaw: r.statusRaw,
    health: r.health,
    statusSince: r.statusSince,
    lastCheckAt: r.lastCheckAt,
    probeError: r.probeError,
    transitions: r.transitions,
    state: JSON.parse(r.state) as unknown,
  };
}

export function toHistoryRow(r: HistoryRecord): HistoryRow {
  return { account: r.account, device: r.device, at: r.at, from: r.from, to: r.to, raw: r.raw };
}

export function encodeState(state: unknown, what: string): string {
  const text = JSON.stringify(state);
  // undefined, a function or a symbol: nothing that JSON.parse could give back.
  if (text === undefined) throw new TypeError(`${what}: state is not JSON-serialisable`);
  return text;
}
