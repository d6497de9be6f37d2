// The status page's view model (SPEC §6): the daemon's facts about every device and account
// become what the page shows — sorted DOWN first, counted, the re-link offered where it helps.
// Pure; the HTML is status-page.ts.

import type { DeliveryState } from '../monitor/delivery.js';
import type { DeviceStatus } from '../monitor/model.js';
import type { DeviceRow, HistoryStatus } from '../store/store.js';

export const STATUS_PAGE_REFRESH_SECONDS = 30;
/** Changes listed per device. */
export const RECENT_CHANGES = 3;

/**
 * One configured device as the daemon sees it now: its stored row's facts (store.ts DeviceRow,
 * by `number`) and what the daemon adds.
 */
export type StatusDeviceFacts = Omit<DeviceRow, 'device' | 'state' | 'transitions'> & {
  readonly number: string;
  readonly name: string;
  /** A silence or maintenance window holds until then; null when none. */
  readonly silencedUntil: number | null;
  /** Delivery health (SPEC §10); absent or never read: the column shows `–`. */
  readonly delivery?: DeliveryState | undefined;
  /** When `delete` deleted it at the gateway (it reads `deleted` until removed from the config). */
  readonly deletedAt?: number | null | undefined;
};

/** What the history says of a device: its uptimes and last changes. Absent: none known. */
export interface StatusDeviceHistory {
  /** Fraction of observed time connected over the last 24 h / 7 d (audit/compute.ts); null when nothing observed. */
  readonly uptime24h?: number | null;
  readonly uptime7d?: number | null;
  /** Its changes of the last 7 d, newest first, at most RECENT_CHANGES. */
  readonly recentChanges?: readonly StatusChangeView[];
}

export interface StatusAccountFacts {
  readonly name: string;
  /** False while `account.unreachable` holds. */
  readonly reachable: boolean;
  /** Why its checks fail (`unauthorized: … invalid Access-Token`); null when they do not. */
  readonly problem: string | null;
  /** Since when they fail; null when they do not. */
  readonly problemSince: number | null;
  /** A note to show even while reachable, e.g. that the budget stretches the interval. */
  readonly warning?: string | null;
}

/** What the daemon hands the HTTP server for `GET /` (HttpHandlers.statusPage). */
export interface StatusPageData {
  readonly now: number;
  /** Config `timezone`: times on the page are shown in it. */
  readonly timeZone: string;
  readonly version?: string;
  readonly accounts: readonly StatusAccountFacts[];
  /** Every configured device, in config order. */
  readonly devices: readonly (StatusDeviceFacts & StatusDeviceHistory)[];
}

export interface StatusChangeView {
  readonly at: number;
  readonly from: DeviceStatus | null;
  readonly to: HistoryStatus;
}

export interface StatusDeviceView extends StatusDeviceFacts {
  /** Fraction of observed time connected over the last 24 h / 7 d; null when nothing observed. */
  readonly uptime24h: number | null;
  readonly uptime7d: number | null;
  /** Newest first, at most RECENT_CHANGES. */
  readonly recentChanges: readonly StatusChangeView[];
  /** Whether the page links the re-link page for this device. */
  readonly relink: boolean;
}

export interface StatusPageView {
  readonly now: number;
  readonly timeZone: string;
  readonly version: string | null;
  readonly accounts: readonly StatusAccountFacts[];
  /** DOWN first, then by account and name. */
  readonly devices: readonly StatusDeviceView[];
  readonly counts: {
    readonly total: number;
    readonly down: number;
    readonly up: number;
    readonly unchecked: number;
  };
  readonly refreshSeconds: number;
}

export interface StatusViewOptions {
  /** The re-link page is served (basic auth set or a loopback listen address). */
  readonly relinkAvailable: boolean;
}

export function buildStatusView(data: StatusPageData, options: StatusViewOptions): StatusPageView {
  const { now } = data;
  // Field by field, not rest and spread: at 10,000 devices the generic copy is most of the time.
  const devices = data.devices.map((d): StatusDeviceView => ({
    account: d.account,
    number: d.number,
    name: d.name,
    status: d.status,
    statusRaw: d.statusRaw,
    health: d.health,
    statusSince: d.statusSince,
    lastCheckAt: d.lastCheckAt,
    probeError: d.probeError,
    silencedUntil: d.silencedUntil,
    ...(d.delivery === undefined ? {} : { delivery: d.delivery }),
    ...(d.deletedAt === undefined ? {} : { deletedAt: d.deletedAt }),
    uptime24h: d.uptime24h ?? null,
    uptime7d: d.uptime7d ?? null,
    recentChanges:
      d.recentChanges === undefined
        ? []
        : d.recentChanges.length > RECENT_CHANGES
          ? d.recentChanges.slice(0, RECENT_CHANGES)
          : d.recentChanges,
    relink: options.relinkAvailable && d.status !== 'connected' && d.status !== null,
  }));
  const rank = (d: StatusDeviceView): number => (d.health === 'DOWN' ? 0 : d.status === null ? 1 : 2);
  // What localeCompare does, with one collator for the whole sort rather than a lookup per call;
  // equal texts (the account, for most pairs) are told apart without it.
  const { compare } = new Intl.Collator();
  const order = (a: string, b: string): number => (a === b ? 0 : compare(a, b));
  devices.sort(
    (a, b) =>
      rank(a) - rank(b) || order(a.account, b.account) || order(a.name, b.name) || order(a.number, b.number),
  );
  let down = 0;
  let unchecked = 0;
  for (const d of devices) {
    if (d.health === 'DOWN') down++;
    else if (d.status === null) unchecked++;
  }
  return {
    now,
    timeZone: data.timeZone,
    version: data.version ?? null,
    accounts: data.accounts,
    devices,
    counts: { total: devices.length, down, up: devices.length - down - unchecked, unchecked },
    refreshSeconds: STATUS_PAGE_REFRESH_SECONDS,
  };
}
