import type { DeliveryState } from '../monitor/delivery.js';
import type { DeviceStatus, Health } from '../monitor/model.js';
import { deliveryReport, type DeliveryReport } from './delivery.js';
import type { HistoryRow } from '../store/store.js';
import { isoOrNull, isoWithOffset } from './time.js';

/** What `status --json` and `GET /api/v1/devices` return per device (SPEC §5). */
export interface DeviceReport {
  readonly account: string;
  readonly device: string;
  readonly name: string;
  readonly status: DeviceStatus | null;
  readonly state: Health;
  readonly since: string | null;
  readonly last_check: string | null;
  readonly probe_error: string | null;
  readonly silenced_until: string | null;
  /** Delivery health (SPEC §10): today's counts and the problem; null until the balance was read. */
  readonly delivery: DeliveryReport | null;
}

export interface DeviceFacts {
  readonly account: string;
  readonly device: string;
  readonly name: string;
  readonly status: DeviceStatus | null;
  readonly health: Health;
  readonly statusSince: number | null;
  readonly lastCheckAt: number | null;
  readonly probeError: string | null;
  readonly silencedUntil: number | null;
  /** Absent when unknown (a device not yet stored). */
  readonly delivery?: DeliveryState;
}

export function deviceReport(f: DeviceFacts, timeZone: string): DeviceReport {
  return {
    account: f.account,
    device: f.device,
    name: f.name,
    status: f.status,
    state: f.health,
    since: isoOrNull(f.statusSince, timeZone),
    last_check: isoOrNull(f.lastCheckAt, timeZone),
    probe_error: f.probeError,
    silenced_until: isoOrNull(f.silencedUntil, timeZone),
    delivery: f.delivery === undefined ? null : deliveryReport(f.delivery, timeZone),
  };
}

/** `history --json` and `GET /api/v1/devices/{n}/history` rows, oldest first. */
export interface HistoryReport {
  readonly at: string;
  readonly from: DeviceStatus | null;
  readonly to: HistoryRow['to'];
}

export function historyReport(rows: readonly HistoryRow[], timeZone: string): HistoryReport[] {
  return rows.map((r) => ({ at: isoWithOffset(r.at, timeZone), from: r.from, to: r.to }));
}
