// What the HTTP handlers answer with, computed from the fleet at request time: the status page,
// the re-link page's device and its QR code, the devices report and a device's history.

import type { Config } from '../config/types.js';
import type { HttpHandlers } from '../http/server.js';
import { reconnectResultFrom, type ReconnectQrResult, type RelinkDevice } from '../http/relink.js';
import type { Period } from '../audit/compute.js';
import type { Clock } from '../monitor/clock.js';
import { deletedIndex, deviceReport, historyReport, type DeviceReport } from '../report/devices.js';
import type { Store } from '../store/store.js';
import type { StatusPageData } from '../web/status-page.js';
import { VERSION } from '../version.js';
import { deviceFacts, pollerOf, type Fleet } from './fleet.js';

const DAY_MS = 86_400_000;

export interface PagesDeps {
  readonly fleet: Fleet;
  readonly store: Store;
  readonly clock: Clock;
  /** The current config (a reload replaces it). */
  readonly config: () => Config;
  /** When the daemon ran, up to `now` (the audit shows time outside as unknown). */
  readonly runningPeriods: (now: number) => Period[];
}

export type FleetHandlers = Required<
  Pick<HttpHandlers, 'statusPage' | 'relinkDevice' | 'reconnectQr' | 'devices' | 'history'>
>;

export function fleetHandlers(deps: PagesDeps): FleetHandlers {
  return {
    statusPage: () => statusPage(deps),
    relinkDevice: (device, { checkSoon }) => relinkDevice(deps.fleet, device, checkSoon),
    reconnectQr: (device, signal) => reconnectQr(deps.fleet, device, signal),
    devices: () =>
      devicesReport(deps.fleet, deps.config().timezone, deletedIndex(deps.store.deletedDevices())),
    history: (device, since) => deviceHistory(deps, device, since),
  };
}

export function devicesReport(
  fleet: Fleet,
  timeZone: string,
  deleted: ReadonlyMap<string, number> = new Map(),
): DeviceReport[] {
  return deviceFacts(fleet, deleted).map((f) => deviceReport({ ...f, device: f.number }, timeZone));
}

function deviceHistory(deps: PagesDeps, device: string, since: number | null): unknown[] | null {
  const owners = [...deps.fleet.pollers.values()].filter((p) => p.devices.has(device));
  if (owners.length === 0) return null;
  const timeZone = deps.config().timezone;
  return owners.flatMap((p) =>
    historyReport(deps.store.history(p.name, device, since === null ? {} : { since }), timeZone).map((r) =>
      owners.length > 1 ? { account: p.name, ...r } : r,
    ),
  );
}

function statusPage(deps: PagesDeps): StatusPageData {
  const now = deps.clock.now();
  const history = deps.store.historyAll(now - 7 * DAY_MS);
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
    devices: deviceFacts(deps.fleet, deletedIndex(deps.store.deletedDevices())),
    history,
    runningPeriods: deps.runningPeriods(now),
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

/** A QR code for the re-link page, paid for out of the account's budget like any check. */
async function reconnectQr(fleet: Fleet, device: string, signal: AbortSignal): Promise<ReconnectQrResult> {
  const poller = pollerOf(fleet, device);
  if (poller === undefined) return { status: 'not_found', message: `device ${device} is not configured` };
  const result = await poller.connect(device, signal);
  if (result === null)
    return { status: 'error', message: 'the request was cancelled while waiting for the API budget' };
  if (result.kind === 'throttled') return { status: 'throttled', retryInMs: result.retryInMs };
  return reconnectResultFrom(result);
}
