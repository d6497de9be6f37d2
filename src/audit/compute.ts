// The device audit (SPEC §5 `audit`, best practice "audit devices, delete unused ones"): per
// device uptime over a period, its outages, whether it looks unused, whether the gateway still
// knows it. Pure: the history, the time and every fact come in as arguments.
//
// Uptime counts observed time only. A moment of the period is *observed* for a device when
//  - the device had been seen at all (its first status, `from: null`, lies before it),
//  - it had not been deleted at the gateway (`to: 'deleted'`),
//  - the daemon was running then: inside a run period, when run periods are known (before the
//    first recorded run nothing is known about runs, so history alone decides there),
//  - and the daemon was still checking it (before `observedUntil`: its last check plus a grace).
// Unobserved time is *unknown*: shown as such, never counted as up nor as down.
//
// Two ways in, one report: `computeAudit` reads the history's rows (the definition, and what the
// tests hold the other way to), `computeAuditFromFacts` takes each device's figures as
// audit/rollup.ts reads them from the store's rollups without the rows.

import type { DeliveryReading } from '../monitor/delivery.js';
import type { DeliveryProblemPeriod, HistoryRow, HistoryStatus } from '../store/store.js';
import { deliveryAudit, type DeliveryAudit } from './delivery.js';
import {
  currentRun,
  normalisePeriods,
  observedMask,
  timeline,
  type CurrentRun,
  type Period,
  type Piece,
} from './timeline.js';

export { normalisePeriods, type Period } from './timeline.js';

export interface AuditDevice {
  readonly account: string;
  /** Digits only. */
  readonly number: string;
  readonly name: string;
  /**
   * The status is known up to here (the daemon's last check of the device plus a grace); later
   * time is unknown. Null or absent: not bounded (the daemon is checking it right now).
   */
  readonly observedUntil?: number | null;
  /** The last balance reading (SPEC §10): today's counts. Absent or null: never read. */
  readonly delivery?: DeliveryReading | null;
}

export interface AuditInput {
  /** The configured devices, in the order the report lists them. */
  readonly devices: readonly AuditDevice[];
  /**
   * Status changes (store.historyAll(from)) — any order, any devices. Rows before `since` are
   * welcome: they give the status at `since` and how long a device has been not connected.
   */
  readonly history: readonly HistoryRow[];
  /** When the daemon ran. Absent or empty: unknown, so history alone decides what was observed. */
  readonly runningPeriods?: readonly Period[];
  readonly now: number;
  /** Start of the audited period. */
  readonly since: number;
  /** Not connected this long → "unused? consider deleting". 0 turns the flag off. */
  readonly staleAfterMs: number;
  /** Devices the gateway reported unknown (`device not found!`), as `deviceKey(account, number)`. */
  readonly notFound?: ReadonlySet<string>;
  /** Delivery problem periods (store.problemPeriods(since)) — any order, any devices. */
  readonly problemPeriods?: readonly DeliveryProblemPeriod[];
}

export interface Outage {
  /** First observed moment not connected within the period (`since` when it began earlier). */
  readonly start: number;
  /** When the device was seen connected again (or was deleted); null while it lasts. */
  readonly end: number | null;
  /** Observed time not connected within the period (unknown stretches inside it excluded). */
  readonly durationMs: number;
  /** The outage was already going on when the period began. */
  readonly startedBefore: boolean;
}

export interface DeviceAudit {
  readonly account: string;
  readonly number: string;
  readonly name: string;
  /** The last recorded status; null when none was ever recorded. */
  readonly status: HistoryStatus | null;
  /** When that status was recorded. */
  readonly statusSince: number | null;
  readonly periodMs: number;
  readonly observedMs: number;
  readonly connectedMs: number;
  /** Observed time not connected. */
  readonly downMs: number;
  readonly unknownMs: number;
  /** connectedMs / observedMs in [0, 1]; null when nothing was observed. */
  readonly uptime: number | null;
  /** observedMs / periodMs in [0, 1]. */
  readonly coverage: number;
  /** Oldest first. */
  readonly outages: readonly Outage[];
  /** Sum of the outages' durations (= downMs). */
  readonly outageMs: number;
  readonly longestOutage: Outage | null;
  /** Last moment seen connected; `now` while connected; null when the records show none. */
  readonly lastConnectedAt: number | null;
  /**
   * While not connected: since when, as far as the records reach (a lower bound on how long).
   * Null while connected, deleted or never seen.
   */
  readonly notConnectedSince: number | null;
  /** Seen since its first status and never connected. */
  readonly neverConnected: boolean;
  /** Not connected for at least `staleAfterMs`. */
  readonly stale: boolean;
  /** The gateway reported the device unknown. */
  readonly notFound: boolean;
  /** When it was deleted at the gateway, if the current status is `deleted`. */
  readonly deletedAt: number | null;
  /** The exact command to delete it, for stale devices the gateway still knows. */
  readonly deleteCommand: string | null;
  /** Today's delivery counts and the hours each delivery problem held in the period (SPEC §10). */
  readonly delivery: DeliveryAudit;
}

export interface AuditSummary {
  readonly devices: number;
  readonly connected: number;
  /** Devices whose last status is something other than connected (deleted excluded). */
  readonly notConnected: number;
  /** Devices with no recorded status. */
  readonly noData: number;
  readonly stale: number;
  readonly notFound: number;
  readonly deleted: number;
  readonly outages: number;
  /** Fleet uptime: all connected time over all observed time; null when nothing was observed. */
  readonly uptime: number | null;
}

export interface AuditReport {
  readonly since: number;
  readonly now: number;
  readonly staleAfterMs: number;
  /** Run periods of the daemon were known, so its down-time shows as unknown. */
  readonly runsKnown: boolean;
  readonly devices: readonly DeviceAudit[];
  readonly summary: AuditSummary;
}

/** What the audit needs of one device's history over the period, however it was read. */
export interface DeviceHistoryFacts {
  /** Observed time connected, and not connected, in the period. */
  readonly connectedMs: number;
  readonly downMs: number;
  /** Oldest first. */
  readonly outages: readonly Outage[];
  /** The last change recorded (any time); null when none. */
  readonly last: { readonly at: number; readonly to: HistoryStatus } | null;
  /** The run of not-connected statuses the history ends in. */
  readonly run: CurrentRun;
}

export function deviceKey(account: string, number: string): string {
  return `${account}\u0000${number}`;
}

/** `whatsgate-monitor delete NUMBER`, with `--account` only when the number is ambiguous. */
export function deleteCommandFor(number: string, account: string, ambiguous: boolean): string {
  return `whatsgate-monitor delete ${number}${ambiguous ? ` --account ${shellWord(account)}` : ''}`;
}

function shellWord(text: string): string {
  return /^[\w.@%+=:,/-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

export function computeAudit(input: AuditInput): AuditReport {
  const { now, since } = input;
  const start = Math.min(since, now);
  const rowsByDevice = new Map<string, HistoryRow[]>();
  for (const row of input.history) {
    const key = deviceKey(row.account, row.device);
    const list = rowsByDevice.get(key);
    if (list === undefined) rowsByDevice.set(key, [row]);
    else list.push(row);
  }
  const runs = normalisePeriods(input.runningPeriods ?? []);
  return auditReport(input, (d) => {
    const rows = [...(rowsByDevice.get(deviceKey(d.account, d.number)) ?? [])].sort((a, b) => a.at - b.at);
    return factsFromRows(rows, observedMask(d.observedUntil ?? null, runs), start, now);
  });
}

/** The audit from each device's facts, read by the caller (audit/rollup.ts) rather than from rows. */
export function computeAuditFromFacts(
  input: Omit<AuditInput, 'history'>,
  factsOf: (device: AuditDevice) => DeviceHistoryFacts,
): AuditReport {
  return auditReport(input, factsOf);
}

/** A device's facts from its rows (oldest first) — the rows of the whole period, and the one before. */
export function factsFromRows(
  rows: readonly HistoryRow[],
  mask: ReturnType<typeof observedMask>,
  start: number,
  now: number,
): DeviceHistoryFacts {
  const pieces = timeline(rows, mask, start, now);
  let connectedMs = 0;
  let downMs = 0;
  for (const p of pieces) {
    if (p.phase === 'connected') connectedMs += p.end - p.start;
    else if (p.phase === 'down') downMs += p.end - p.start;
  }
  const last = rows.at(-1);
  return {
    connectedMs,
    downMs,
    outages: outagesOf(pieces, start),
    last: last === undefined ? null : { at: last.at, to: last.to },
    run: currentRun(rows, now),
  };
}

/** The outages of a time line: observed stretches not connected, between connected ones or a deletion. */
export function outagesOf(pieces: readonly Piece[], start: number): Outage[] {
  const outages: Outage[] = [];
  let open: { start: number; durationMs: number; startedBefore: boolean } | null = null;
  const close = (end: number | null): void => {
    if (open !== null) outages.push({ ...open, end });
    open = null;
  };
  for (const p of pieces) {
    if (p.phase === 'connected') close(p.start);
    else if (p.phase === 'down') {
      if (open === null) {
        open = { start: p.start, durationMs: 0, startedBefore: p.start === start && p.recordedSince < start };
      }
      open.durationMs += p.end - p.start;
    } else if (p.recorded === 'deleted') {
      // Unknown time neither ends an outage nor adds to it — except a deletion, which ends it.
      close(p.start);
    }
  }
  close(null);
  return outages;
}

function auditReport(
  input: Omit<AuditInput, 'history'>,
  factsOf: (device: AuditDevice) => DeviceHistoryFacts,
): AuditReport {
  const { now, since } = input;
  const start = Math.min(since, now);
  const runs = normalisePeriods(input.runningPeriods ?? []);
  const problemsByDevice = new Map<string, DeliveryProblemPeriod[]>();
  for (const p of input.problemPeriods ?? []) {
    const key = deviceKey(p.account, p.device);
    const list = problemsByDevice.get(key);
    if (list === undefined) problemsByDevice.set(key, [p]);
    else list.push(p);
  }
  const accountsOf = new Map<string, Set<string>>();
  for (const d of input.devices) {
    const set = accountsOf.get(d.number) ?? new Set<string>();
    set.add(d.account);
    accountsOf.set(d.number, set);
  }

  const devices = input.devices.map((d) => {
    const key = deviceKey(d.account, d.number);
    const delivery = deliveryAudit(d.delivery ?? null, problemsByDevice.get(key) ?? [], start, now);
    return auditDevice(d, factsOf(d), delivery, {
      start,
      now,
      staleAfterMs: input.staleAfterMs,
      notFound: input.notFound?.has(key) === true,
      ambiguous: (accountsOf.get(d.number)?.size ?? 0) > 1,
    });
  });

  let connectedMs = 0;
  let observedMs = 0;
  for (const d of devices) {
    connectedMs += d.connectedMs;
    observedMs += d.observedMs;
  }
  const summary: AuditSummary = {
    devices: devices.length,
    connected: devices.filter((d) => d.status === 'connected').length,
    notConnected: devices.filter(
      (d) => d.status !== null && d.status !== 'connected' && d.status !== 'deleted',
    ).length,
    noData: devices.filter((d) => d.status === null).length,
    stale: devices.filter((d) => d.stale).length,
    notFound: devices.filter((d) => d.notFound).length,
    deleted: devices.filter((d) => d.deletedAt !== null).length,
    outages: devices.reduce((n, d) => n + d.outages.length, 0),
    uptime: observedMs > 0 ? connectedMs / observedMs : null,
  };
  return {
    since: start,
    now,
    staleAfterMs: input.staleAfterMs,
    runsKnown: runs.length > 0,
    devices,
    summary,
  };
}

interface DeviceContext {
  readonly start: number;
  readonly now: number;
  readonly staleAfterMs: number;
  readonly notFound: boolean;
  readonly ambiguous: boolean;
}

function auditDevice(
  d: AuditDevice,
  facts: DeviceHistoryFacts,
  delivery: DeliveryAudit,
  ctx: DeviceContext,
): DeviceAudit {
  const { start, now } = ctx;
  const { connectedMs, downMs, outages, last, run } = facts;
  const observedMs = connectedMs + downMs;
  const periodMs = now - start;
  const unknownMs = periodMs - observedMs;
  const status: HistoryStatus | null = last?.to ?? null;
  const stale =
    ctx.staleAfterMs > 0 && run.notConnectedSince !== null && now - run.notConnectedSince >= ctx.staleAfterMs;
  const longestOutage = outages.reduce<Outage | null>(
    (best, o) => (best === null || o.durationMs > best.durationMs ? o : best),
    null,
  );
  return {
    account: d.account,
    number: d.number,
    name: d.name,
    status,
    statusSince: last?.at ?? null,
    periodMs,
    observedMs,
    connectedMs,
    downMs,
    unknownMs,
    uptime: observedMs > 0 ? connectedMs / observedMs : null,
    coverage: periodMs > 0 ? observedMs / periodMs : 0,
    outages,
    outageMs: downMs,
    longestOutage,
    lastConnectedAt: run.lastConnectedAt,
    notConnectedSince: run.notConnectedSince,
    neverConnected: run.neverConnected,
    stale,
    notFound: ctx.notFound,
    deletedAt: status === 'deleted' ? (last?.at ?? null) : null,
    deleteCommand: stale && !ctx.notFound ? deleteCommandFor(d.number, d.account, ctx.ambiguous) : null,
    delivery,
  };
}
