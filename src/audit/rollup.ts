// Uptime and outages from the store's rollups (store.ts HistoryTotals) instead of the history's
// rows: what the status page's uptimes and the audit show, at the cost of a lookup per device and
// period edge however long the history. The rules of what counts (compute.ts's header) are the
// same; the property test (store/test-support/rollup-contract.ts) holds this to computeAudit on
// the raw rows, on every store.
//
// Time connected over an observed stretch [a, b) is the difference of the running totals at b and
// at a. The observed stretches of a period are where the daemon ran and still checked the
// device: cut by the run record's edges and by the device's `observedUntil`.
//
// The audit lists outages, so the rows of a period are read for the devices that were down in it
// (the totals say which, and most of a healthy fleet was not), and of every device only its last
// few changes, for its status and the run of not-connected statuses it ends in.

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { DeviceKey, HistoryChange, HistoryTotals, Store } from '../store/store.js';
import {
  auditInSteps,
  normalisePeriods,
  type AuditInput,
  type AuditReport,
  type DeviceAudit,
  type DeviceHistoryFacts,
} from './compute.js';
import { outagesOver, type StatusChange } from './outages.js';
import { currentRun, type CurrentRun, type Period } from './timeline.js';

/** What these figures read of the store. */
export type RollupReader = Pick<
  Store,
  'historyTotals' | 'historyBetween' | 'recentHistoryAndTotals' | 'history'
>;

/**
 * The parts of [start, end) a device was observed in, as compute.ts's `observedMask` says: before
 * the first recorded run or inside one, and before `until`. Sorted, disjoint.
 */
export function observedPeriods(
  runs: readonly Period[],
  until: number | null,
  start: number,
  end: number,
): Period[] {
  const stop = until === null ? end : Math.min(end, until);
  if (stop <= start) return [];
  const first = runs[0];
  // Before the first recorded run nothing is known about runs: observed, as far as runs go.
  const open: Period[] =
    first === undefined
      ? [{ start: Number.NEGATIVE_INFINITY, end: Number.POSITIVE_INFINITY }]
      : [{ start: Number.NEGATIVE_INFINITY, end: first.end }, ...runs.slice(1)];
  const out: Period[] = [];
  for (const p of open) {
    const a = Math.max(p.start, start);
    const b = Math.min(p.end, stop);
    if (a < b) out.push({ start: a, end: b });
  }
  return out;
}

/** Observed time connected and down within periods, from the totals at their edges. */
interface Sums {
  connectedMs: number;
  downMs: number;
}

function sumOver(periods: readonly Period[], at: (t: number) => HistoryTotals): Sums {
  let connectedMs = 0;
  let downMs = 0;
  for (const p of periods) {
    const a = at(p.start);
    const b = at(p.end);
    connectedMs += b.connectedMs - a.connectedMs;
    downMs += b.downMs - a.downMs;
  }
  return { connectedMs, downMs };
}

/**
 * Every edge of the periods plus `also`, sorted, each once — but `now`, whose totals come with
 * the last changes (recentHistoryAndTotals).
 */
function edgesBefore(
  now: number,
  periods: readonly (readonly Period[])[],
  also: readonly number[],
): number[] {
  const set = new Set<number>(also);
  for (const list of periods) for (const p of list) set.add(p.start).add(p.end);
  set.delete(now);
  return [...set].sort((a, b) => a - b);
}

/**
 * Where each instant of a list is; one per distinct list (most devices share one), so that the
 * totals of 10,000 devices are read without a map each.
 */
function positions(): (instants: readonly number[]) => ReadonlyMap<number, number> {
  const known = new Map<readonly number[], ReadonlyMap<number, number>>();
  return (instants) => {
    let found = known.get(instants);
    if (found === undefined) {
      found = new Map(instants.map((t, i) => [t, i]));
      known.set(instants, found);
    }
    return found;
  };
}

/**
 * A device's totals by instant: at `now` those read with its last changes
 * (recentHistoryAndTotals, a lookup fewer), at the others `totals` in the order of `where`.
 */
function lookup(
  where: ReadonlyMap<number, number>,
  totals: readonly HistoryTotals[],
  now: number,
  atNow: HistoryTotals,
): (t: number) => HistoryTotals {
  return (t) => (t === now ? atNow : totals[where.get(t)!]!);
}

/** A device's uptime (connected over observed time) over [now - window, now); null when nothing was observed. */
export type Uptimes = (number | null)[];

/** What the status page shows of each device's history, in the order of the devices asked. */
export interface UptimesAndRecent {
  readonly uptimes: Uptimes[];
  /** Each device's last changes, newest first (RecentAndTotals `changes`). */
  readonly recent: HistoryChange[][];
}

/**
 * Each device's uptime over each window ending at `now` (the status page's 24 h and 7 d), with the
 * daemon's run record as the mask (compute.ts), and its last changes (`recent`). The totals at
 * `now` and at the windows' other edges come with the last changes (store.ts
 * recentHistoryAndTotals): one read, and a lookup fewer per device.
 */
export async function uptimesAndRecent(
  store: Pick<Store, 'recentHistoryAndTotals'>,
  devices: readonly DeviceKey[],
  options: {
    readonly now: number;
    readonly windowsMs: readonly number[];
    readonly runs: readonly Period[];
    readonly recent: { readonly since?: number; readonly limit: number };
  },
): Promise<UptimesAndRecent> {
  const runs = normalisePeriods(options.runs);
  const { now } = options;
  // The same periods for every device (no `until`): one list of instants, shared.
  const periods = options.windowsMs.map((w) => observedPeriods(runs, null, now - w, now));
  const instants = edgesBefore(now, periods, []);
  const recent = await store.recentHistoryAndTotals(devices, { ...options.recent, totalsAt: now, instants });
  const where = positions()(instants);
  const uptimes: Uptimes[] = [];
  const changes: HistoryChange[][] = [];
  let sliceStart = performance.now();
  for (let i = 0; i < recent.length; i++) {
    const { changes: last, totals: atNow, atInstants } = recent[i]!;
    const at = lookup(where, atInstants, now, atNow);
    uptimes.push(
      periods.map((p) => {
        const { connectedMs, downMs } = sumOver(p, at);
        const observed = connectedMs + downMs;
        return observed > 0 ? connectedMs / observed : null;
      }),
    );
    changes.push(last);
    if (performance.now() - sliceStart >= SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
  }
  return { uptimes, recent: changes };
}

/** How many of a device's last changes are read at first for its current run; more only when they do not tell. */
const LAST_CHANGES = 4;

/**
 * The audit (compute.ts) over [since, now), each device's figures from the rollups: the same
 * report as computeAudit given every row of the history.
 */
export async function auditFromRollups(
  store: RollupReader,
  input: Omit<AuditInput, 'history'>,
): Promise<AuditReport> {
  const { now } = input;
  const start = Math.min(input.since, now);
  const runs = normalisePeriods(input.runningPeriods ?? []);
  // Every step over the fleet takes milliseconds at 10,000 devices: the loop is let go between
  // slices of each, and after each read (whose last slice would otherwise run on into the next step).
  const slice = new Slicer();

  // The observed periods of each device, and the totals at their edges (and at start and now,
  // whose difference says whether the device was down at all in the period).
  const shared = edgesBefore(now, [observedPeriods(runs, null, start, now)], [start]);
  const keys: DeviceKey[] = [];
  const periods: Period[][] = [];
  const instantsOf: number[][] = [];
  for (const d of input.devices) {
    const p = observedPeriods(runs, d.observedUntil ?? null, start, now);
    keys.push({ account: d.account, device: d.number });
    periods.push(p);
    // Checked lately (its grace reaches past now): the same instants as every such device.
    instantsOf.push(
      d.observedUntil == null || d.observedUntil >= now ? shared : edgesBefore(now, [p], [start]),
    );
    if (slice.due()) await slice.letGo();
  }
  // The shared instants come with the last changes (one read, on PostgreSQL one statement per
  // slice of devices where two would double the server's processes the daemon competes with for
  // the CPU); the few devices not checked lately read their own instants apart.
  const recent = await store.recentHistoryAndTotals(keys, {
    limit: LAST_CHANGES,
    totalsAt: now,
    instants: shared,
  });
  await slice.letGo();
  const apart = keys.flatMap((_, i) => (instantsOf[i] === shared ? [] : [i]));
  const totalsApart =
    apart.length === 0
      ? []
      : await store.historyTotals(apart.map((i) => ({ ...keys[i]!, instants: instantsOf[i]! })));
  await slice.letGo();
  const totals = recent.map((r) => r.atInstants);
  apart.forEach((i, j) => (totals[i] = totalsApart[j]!));
  const positionsOf = positions();
  const at = totals.map((list, i) => lookup(positionsOf(instantsOf[i]!), list, now, recent[i]!.totals));
  const lastChanges = recent.map((r) => r.changes);
  const runsOf = await currentRuns(store, keys, lastChanges, now);
  await slice.letGo();

  // Outages need the changes of the period, for the devices down at some time in it.
  const downAt = keys.flatMap((_, i) => (at[i]!(now).downMs - at[i]!(start).downMs > 0 ? [i] : []));
  const down = downAt.map((i) => keys[i]!);
  const between = await store.historyBetween(down, start, now);
  await slice.letGo();
  const before = await changesBefore(
    store,
    down,
    start,
    downAt.map((i) => at[i]!(start)),
  );
  await slice.letGo();
  const changesOf = new Map<number, readonly StatusChange[]>();
  downAt.forEach((i, j) => {
    const prior = before[j]!;
    changesOf.set(i, prior === null ? between[j]! : [prior, ...between[j]!]);
  });

  // Each device's figures, then its audit: the facts of input.devices[i] are facts[i].
  const facts: DeviceHistoryFacts[] = [];
  for (let i = 0; i < keys.length; i++) {
    const { connectedMs, downMs } = sumOver(periods[i]!, at[i]!);
    const changes = changesOf.get(i);
    const latest = lastChanges[i]![0];
    facts.push({
      connectedMs,
      downMs,
      outages: changes === undefined ? [] : outagesOver(changes, periods[i]!, start, now),
      last: latest === undefined ? null : { at: latest.at, to: latest.to },
      run: runsOf[i]!,
    });
    if (slice.due()) await slice.letGo();
  }
  // `device` reads its facts at once, from the device being audited: no lookup by key needed.
  let current: DeviceHistoryFacts | undefined;
  const report = auditInSteps(input, () => current!);
  const audited: DeviceAudit[] = [];
  for (let i = 0; i < input.devices.length; i++) {
    current = facts[i];
    audited.push(report.device(input.devices[i]!));
    if (slice.due()) await slice.letGo();
  }
  await slice.letGo();
  return report.finish(audited);
}

/** How long the audit computes before it lets the event loop go. */
const SLICE_MS = 10;

/** Whether a slice has taken SLICE_MS, and letting the event loop go when it has. */
class Slicer {
  private start = performance.now();

  due(): boolean {
    return performance.now() - this.start >= SLICE_MS;
  }

  async letGo(): Promise<void> {
    await yieldToLoop();
    this.start = performance.now();
  }
}

/**
 * Each device's current run (timeline.ts `currentRun`) from its last changes; a device whose last
 * few do not reach back to a connected status (or to its first) has its whole history read.
 */
async function currentRuns(
  store: Pick<Store, 'history'>,
  keys: readonly DeviceKey[],
  recent: readonly HistoryChange[][],
  now: number,
): Promise<CurrentRun[]> {
  const out: CurrentRun[] = [];
  let sliceStart = performance.now();
  for (let i = 0; i < keys.length; i++) {
    if (performance.now() - sliceStart >= SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
    const rows = [...recent[i]!].reverse();
    const run = currentRun(rows, now);
    const told =
      rows.length < LAST_CHANGES || rows.at(-1)?.to === 'connected' || run.lastConnectedAt !== null;
    out.push(told ? run : currentRun(await store.history(keys[i]!.account, keys[i]!.device), now));
  }
  return out;
}

/**
 * For each device, its last change strictly before `start` (the status the period begins with),
 * from the totals at `start` — which name the last change at or before it: one at `start` itself
 * is among the period's changes, so the one before that is looked up.
 */
async function changesBefore(
  store: Pick<Store, 'historyTotals'>,
  keys: readonly DeviceKey[],
  start: number,
  atStart: readonly HistoryTotals[],
): Promise<(StatusChange | null)[]> {
  const again = keys.flatMap((_, i) => (atStart[i]!.last?.at === start ? [i] : []));
  const earlier =
    again.length === 0
      ? []
      : // Times are whole milliseconds (the stores keep integers): at <= ceil(start) - 1 is at < start.
        await store.historyTotals(again.map((i) => ({ ...keys[i]!, instants: [Math.ceil(start) - 1] })));
  const retold = new Map(again.map((i, j) => [i, earlier[j]![0]!]));
  return keys.map((_, i) => {
    const last = (retold.get(i) ?? atStart[i]!).last;
    return last === null || last.at >= start ? null : last;
  });
}
