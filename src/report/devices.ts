import type { DeliveryState } from '../monitor/delivery.js';
import type { DeviceStatus, Health } from '../monitor/model.js';
import { deliveryReport, type DeliveryReport } from './delivery.js';
import type { DeviceRow, HistoryRow, HistoryStatus } from '../store/store.js';
import { isoOrNull, isoWithOffset } from './time.js';

/** What `status --json` and `GET /api/v1/devices` return per device (SPEC §5). */
export interface DeviceReport {
  readonly account: string;
  readonly device: string;
  readonly name: string;
  /** `deleted` after `delete`, until the device is removed from the config; null until the first answer. */
  readonly status: HistoryStatus | null;
  /** The gateway's text behind the status, verbatim (what `unknown` stands for); null when none. */
  readonly status_raw: string | null;
  /** Null while the device is not checked yet (no valid answer so far): neither UP nor DOWN. */
  readonly state: Health | null;
  readonly since: string | null;
  readonly last_check: string | null;
  readonly probe_error: string | null;
  readonly silenced_until: string | null;
  /** Delivery health (SPEC §10): today's counts and the problem; null until the balance was read. */
  readonly delivery: DeliveryReport | null;
}

/** A device as reports show it: its stored row's facts (store.ts DeviceRow) and what the daemon adds. */
export type DeviceFacts = Omit<DeviceRow, 'state' | 'transitions'> & {
  readonly name: string;
  readonly silencedUntil: number | null;
  /** Absent when unknown (a device not yet stored). */
  readonly delivery?: DeliveryState;
  /** When `delete` deleted it at the gateway, if the gateway has not known it since; else null. */
  readonly deletedAt: number | null;
};

export function deviceReport(f: DeviceFacts, timeZone: string): DeviceReport {
  // A deleted device is gone until added again: DOWN, whatever the last check said before.
  const deleted = f.deletedAt !== null;
  return {
    account: f.account,
    device: f.device,
    name: f.name,
    status: deleted ? 'deleted' : f.status,
    status_raw: deleted ? null : f.statusRaw,
    state: deleted ? 'DOWN' : f.status === null ? null : f.health,
    since: isoOrNull(deleted ? f.deletedAt : f.statusSince, timeZone),
    last_check: isoOrNull(f.lastCheckAt, timeZone),
    probe_error: f.probeError,
    silenced_until: isoOrNull(f.silencedUntil, timeZone),
    delivery: f.delivery === undefined ? null : deliveryReport(f.delivery, timeZone),
  };
}

/** The STATUS column of `status`: the raw text next to `unknown`, so "Banana Mode" shows. */
export function statusText(r: Pick<DeviceReport, 'status' | 'status_raw'>): string {
  if (r.status === null) return '-';
  return r.status === 'unknown' && r.status_raw !== null ? `unknown ("${r.status_raw}")` : r.status;
}

/** The STATE column of `status`. */
export function stateText(r: Pick<DeviceReport, 'state'>): string {
  return r.state ?? 'not checked yet';
}

/** Deleted devices keyed `account\0device`, from `store.deletedDevices()`. */
export function deletedIndex(
  rows: readonly { account: string; device: string; at: number }[],
): Map<string, number> {
  return new Map(rows.map((r) => [`${r.account}\0${r.device}`, r.at]));
}

/** `history --json` and `GET /api/v1/devices/{n}/history` rows, oldest first. */
export interface HistoryReport {
  readonly at: string;
  readonly from: DeviceStatus | null;
  readonly to: HistoryRow['to'];
  /** The gateway's text for `to`, verbatim (what an `unknown` was); null when none was recorded. */
  readonly raw: string | null;
}

export function historyReport(rows: readonly HistoryRow[], timeZone: string): HistoryReport[] {
  return rows.map((r) => ({ at: isoWithOffset(r.at, timeZone), from: r.from, to: r.to, raw: r.raw }));
}
