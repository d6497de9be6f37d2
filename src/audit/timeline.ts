// The audit's time line of one device: its history cut into pieces of one recorded status and one
// phase (connected, down, unknown), the outages and totals they make, and the run of not-connected
// statuses it ends in. Pure; the rules of what counts as observed are stated at the top of
// compute.ts. This is the audit from the raw rows: the definition the rollups are held to.

import type { DeviceStatus } from '../monitor/model.js';
import type { HistoryRow } from '../store/store.js';
import type { DeviceHistoryFacts, Outage } from './compute.js';

/** A time range, `start` inclusive, `end` exclusive, epoch ms. */
export interface Period {
  readonly start: number;
  readonly end: number;
}

export type Phase = 'connected' | 'down' | 'unknown';

/** What the records say about one stretch of time. `unseen`: before the first status. */
export type Recorded = DeviceStatus | 'deleted' | 'unseen';

export interface Piece {
  readonly start: number;
  readonly end: number;
  readonly phase: Phase;
  readonly recorded: Recorded;
  /** When the recorded status of this piece began (for `startedBefore`). */
  readonly recordedSince: number;
}

/** Whether the daemon observed the device at `t`, as far as the daemon's own records tell. */
export type Mask = { readonly at: (t: number) => boolean; readonly edges: readonly number[] };

export function observedMask(until: number | null, runs: readonly Period[]): Mask {
  const firstRun = runs[0]?.start ?? Number.POSITIVE_INFINITY;
  const edges: number[] = [];
  for (const r of runs) edges.push(r.start, r.end);
  if (until !== null) edges.push(until);
  return {
    at: (t) => {
      if (until !== null && t >= until) return false;
      if (t < firstRun) return true;
      return runs.some((r) => t >= r.start && t < r.end);
    },
    edges,
  };
}

/** Cuts [start, now) at every status change and mask edge, and classifies each piece. */
export function timeline(rows: readonly HistoryRow[], mask: Mask, start: number, now: number): Piece[] {
  if (now <= start) return [];
  // The recorded status at any moment: what the last row at or before it says.
  const changes: { at: number; recorded: Recorded }[] = [];
  let first = true;
  for (const row of rows) {
    // A first row that is not the first status ever (its `from` is set): the records begin in
    // the middle of the device's life, so what held before that row is not known.
    if (first && row.from !== null) changes.push({ at: Number.NEGATIVE_INFINITY, recorded: 'unseen' });
    first = false;
    changes.push({ at: row.at, recorded: row.to });
  }
  const cuts = new Set<number>([start, now]);
  for (const c of changes) if (c.at > start && c.at < now) cuts.add(c.at);
  for (const e of mask.edges) if (e > start && e < now) cuts.add(e);
  const points = [...cuts].sort((a, b) => a - b);

  const pieces: Piece[] = [];
  let i = -1; // index of the last change at or before the piece's start
  for (let k = 0; k + 1 < points.length; k++) {
    const a = points[k] as number;
    const b = points[k + 1] as number;
    while (i + 1 < changes.length && (changes[i + 1] as { at: number }).at <= a) i++;
    const current = i >= 0 ? changes[i] : undefined;
    const recorded: Recorded = current?.recorded ?? 'unseen';
    const phase: Phase =
      recorded === 'unseen' || recorded === 'deleted' || !mask.at(a)
        ? 'unknown'
        : recorded === 'connected'
          ? 'connected'
          : 'down';
    const prev = pieces.at(-1);
    const recordedSince = current?.at ?? Number.NEGATIVE_INFINITY;
    // Merge neighbours that say the same, so outages and tests see whole stretches.
    if (prev !== undefined && prev.phase === phase && prev.recorded === recorded && prev.end === a) {
      pieces[pieces.length - 1] = { ...prev, end: b };
    } else {
      pieces.push({ start: a, end: b, phase, recorded, recordedSince });
    }
  }
  return pieces;
}

/** A device's facts from its rows (oldest first) — the rows of the whole period, and the one before. */
export function factsFromRows(
  rows: readonly HistoryRow[],
  mask: Mask,
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

export interface CurrentRun {
  readonly lastConnectedAt: number | null;
  readonly notConnectedSince: number | null;
  readonly neverConnected: boolean;
}

/** What currentRun reads of a row. */
export type RunRow = Pick<HistoryRow, 'at' | 'from' | 'to'>;

/** Walks back from the last row through the current run of not-connected statuses. */
export function currentRun(rows: readonly RunRow[], now: number): CurrentRun {
  const last = rows.at(-1);
  if (last === undefined) return { lastConnectedAt: null, notConnectedSince: null, neverConnected: false };
  if (last.to === 'connected')
    return { lastConnectedAt: now, notConnectedSince: null, neverConnected: false };
  const lastConnectedAt = lastConnected(rows);
  if (last.to === 'deleted') return { lastConnectedAt, notConnectedSince: null, neverConnected: false };
  let since = last.at;
  for (let k = rows.length - 1; k >= 0; k--) {
    const row = rows[k] as RunRow;
    if (row.to === 'connected') break;
    since = row.at;
    if (row.from === 'connected' || row.from === null) break;
  }
  const neverConnected = lastConnectedAt === null && rows[0]?.from === null;
  return { lastConnectedAt, notConnectedSince: since, neverConnected };
}

function lastConnected(rows: readonly RunRow[]): number | null {
  for (let k = rows.length - 1; k >= 0; k--) {
    const row = rows[k] as RunRow;
    if (row.from === 'connected') return row.at;
    if (row.to === 'connected') {
      const next = rows[k + 1];
      return next?.at ?? null;
    }
  }
  return null;
}

/** Sorted, merged, empty periods dropped. */
export function normalisePeriods(periods: readonly Period[]): Period[] {
  const sorted = periods.filter((p) => p.end > p.start).sort((a, b) => a.start - b.start);
  const out: Period[] = [];
  for (const p of sorted) {
    const prev = out.at(-1);
    if (prev !== undefined && p.start <= prev.end)
      out[out.length - 1] = { start: prev.start, end: Math.max(prev.end, p.end) };
    else out.push({ start: p.start, end: p.end });
  }
  return out;
}
