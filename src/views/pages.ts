// What the HTTP handlers answer with, computed from the fleet at request time: the status page,
// the re-link page's device and its QR code, the devices report and a device's history. The
// status page's uptimes and last changes come from the history's rollups (audit/rollup.ts): a
// lookup per device and edge, never the history's rows.

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Config } from '../config/types.js';
import type { HistoryAnswer, HistoryQuery, HttpHandlers } from '../http/server.js';
import { reconnectResultFrom, type ReconnectQrResult, type RelinkDevice } from '../http/relink.js';
import type { Period } from '../audit/compute.js';
import { uptimesAndRecent } from '../audit/rollup.js';
import type { Clock } from '../monitor/clock.js';
import { deletedIndex, deviceReport, historyReport } from '../report/devices.js';
import type { Store } from '../store/store.js';
import { historyPages } from '../report/history-page.js';
import { RECENT_CHANGES, type StatusPageData } from '../web/status-view.js';
import { VERSION } from '../version.js';
import { deviceFacts, pollerOf, type DeviceFacts, type Fleet } from './fleet.js';

const DAY_MS = 86_400_000;

export interface PagesDeps {
  readonly fleet: Fleet;
  readonly store: Store;
  readonly clock: Clock;
  /** The current config (a reload replaces it). */
  readonly config: () => Config;
  /** When the daemon ran, up to `now` (the audit shows time outside as unknown). */
  readonly runningPeriods: (now: number) => readonly Period[] | Promise<readonly Period[]>;
  /**
   * Whether this process polls the gateway now: false on an HA standby (SPEC §11), whose pollers
   * only mirror the store. A standby asks no re-check and fetches no QR code.
   */
  readonly canPoll: () => boolean;
}

export type FleetHandlers = Required<
  Pick<HttpHandlers, 'statusPage' | 'relinkDevice' | 'reconnectQr' | 'devices' | 'history'>
>;

/** The QR endpoint's answer on a standby (served 503 with Retry-After; the page tries again). */
export const STANDBY_QR_MESSAGE =
  'this replica is a standby; the leader (the replica whose whatsgate_monitor_leader is 1) serves QR codes — open this page on it';

export function fleetHandlers(deps: PagesDeps): FleetHandlers {
  return {
    statusPage: () => statusPage(deps),
    relinkDevice: (device, { checkSoon }) => relinkDevice(deps.fleet, device, checkSoon && deps.canPoll()),
    reconnectQr: (device, signal) => reconnectQr(deps, device, signal),
    devices: async () => {
      const deleted = deletedIndex(await deps.store.deletedDevices());
      const timeZone = deps.config().timezone;
      return factsByAccount(deps.fleet, deleted, (f) => deviceReport({ ...f, device: f.number }, timeZone));
    },
    history: (device, query) => deviceHistory(deps, device, query),
  };
}

/** How long a view computes before it lets the event loop go (the daemon polls on it). */
const SLICE_MS = 10;

/**
 * `deviceFacts` mapped through `each`, an account at a time, letting the event loop go between
 * accounts once a slice took SLICE_MS: 10,000 devices at once hold it for tens of milliseconds.
 */
async function factsByAccount<R>(
  fleet: Fleet,
  deleted: ReadonlyMap<string, number>,
  each: (facts: DeviceFacts) => R,
): Promise<R[]> {
  const out: R[] = [];
  let sliceStart = performance.now();
  for (const [name, poller] of fleet.pollers) {
    for (const f of deviceFacts({ pollers: new Map([[name, poller]]), mutes: fleet.mutes }, deleted)) {
      out.push(each(f));
    }
    if (performance.now() - sliceStart >= SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
  }
  return out;
}

async function deviceHistory(
  deps: PagesDeps,
  device: string,
  query: HistoryQuery,
): Promise<HistoryAnswer | null> {
  const owners = [...deps.fleet.pollers.values()].filter((p) => p.devices.has(device)).map((p) => p.name);
  if (owners.length === 0) return null;
  const { rows, next } = await historyPages(deps.store, owners, device, query);
  const timeZone = deps.config().timezone;
  // With the number in several accounts, each row says whose it is.
  const reports = historyReport(rows, timeZone).map((r, i) =>
    owners.length > 1 ? { account: rows[i]!.account, ...r } : r,
  );
  return { rows: reports, next };
}

async function statusPage(deps: PagesDeps): Promise<StatusPageData> {
  const now = deps.clock.now();
  const deleted = deletedIndex(await deps.store.deletedDevices());
  const runs = await deps.runningPeriods(now);
  const devices = await factsByAccount(deps.fleet, deleted, (f) => f);
  const keys = devices.map((d) => ({ account: d.account, device: d.number }));
  const { uptimes, recent } = await uptimesAndRecent(deps.store, keys, {
    now,
    windowsMs: [DAY_MS, 7 * DAY_MS],
    runs,
    recent: { since: now - 7 * DAY_MS, limit: RECENT_CHANGES },
  });
  // The uptimes' last slice may have run SLICE_MS; what follows (this assembly, then the server's
  // view and first slice of HTML, milliseconds each at 10,000 devices) starts on a turn of its own.
  await yieldToLoop();
  return {
    now,
    timeZone: deps.config().timezone,
    version: VERSION,
    accounts: [...deps.fleet.pollers.values()].map((p) => {
      const s = p.accountState;
      const stretched = p.scheduler.effectiveIntervalMs > p.config.policy.intervalMs;
      return {
        name: p.name,
        reachable: s.reachable,
        problem: s.lastError === null ? null : `${s.lastError.reason}: ${s.lastError.message}`,
        problemSince: s.failingSince,
        warning: stretched
          ? `the API budget (${p.config.rateLimitPerMinute}/min) stretches the check interval to ${Math.round(p.scheduler.effectiveIntervalMs / 1000)} s`
          : null,
      };
    }),
    // Each device's facts are this page's own (deviceFacts makes them anew), so its history is
    // added to them rather than both copied into a third object, field by field.
    devices: devices.map((d, i) =>
      Object.assign(d, {
        uptime24h: uptimes[i]?.[0] ?? null,
        uptime7d: uptimes[i]?.[1] ?? null,
        // The store's changes as they are: at, from and to, what the page shows.
        recentChanges: recent[i] ?? [],
      }),
    ),
  };
}

function relinkDevice(fleet: Fleet, device: string, checkSoon: boolean): RelinkDevice | null {
  const p = pollerOf(fleet, device);
  const rt = p?.devices.get(device);
  if (p === undefined || rt === undefined) return null;
  if (checkSoon) p.scheduler.checkSoon(device);
  return {
    account: p.name,
    number: device,
    name: rt.config.name,
    status: rt.state.status,
    lastCheckAt: rt.state.lastCheckAt,
  };
}

/**
 * A QR code for the re-link page, paid for out of the account's budget like any check; none on a
 * standby (its pollers do not call the gateway).
 */
async function reconnectQr(deps: PagesDeps, device: string, signal: AbortSignal): Promise<ReconnectQrResult> {
  const poller = pollerOf(deps.fleet, device);
  if (poller === undefined) return { status: 'not_found', message: `device ${device} is not configured` };
  if (!deps.canPoll()) return { status: 'standby', message: STANDBY_QR_MESSAGE };
  const result = await poller.connect(device, signal);
  if (result === null)
    return { status: 'error', message: 'the request was cancelled while waiting for the API budget' };
  if (result.kind === 'throttled') return { status: 'throttled', retryInMs: result.retryInMs };
  return reconnectResultFrom(result);
}
