// When the daemon ran, kept in the store's meta table under one key, so the audit can show the
// daemon's down-time as unknown instead of as the last recorded status. The daemon calls
// `recordRun` at start, about once a minute while it runs, and at stop; a crash loses at most
// the time since the last call. Readers (the audit) call `readRuns`.

import { normalisePeriods, type Period } from './compute.js';

export const RUNS_META_KEY = 'daemon_runs';
/** A bound on the stored list, whatever the retention: restarts are rare, this is generous. */
export const MAX_RUNS = 2000;

export interface MetaStore {
  getMeta(key: string): string | null;
  setMeta(key: string, value: string): void;
}

/** The recorded run periods, oldest first, merged; [] when none (or unreadable). */
export function readRuns(meta: Pick<MetaStore, 'getMeta'>): Period[] {
  const text = meta.getMeta(RUNS_META_KEY);
  if (text === null) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const periods: Period[] = [];
  for (const item of value as unknown[]) {
    if (!Array.isArray(item) || item.length !== 2) continue;
    const [start, end] = item as unknown[];
    if (
      typeof start === 'number' &&
      typeof end === 'number' &&
      Number.isFinite(start) &&
      Number.isFinite(end)
    ) {
      periods.push({ start, end });
    }
  }
  return normalisePeriods(periods);
}

/**
 * Records that the run which began at `run.start` lasted at least until `run.end` (the same
 * `start` on every call of one run). Drops periods that ended before `keepAfter` (retention).
 */
export function recordRun(meta: MetaStore, run: Period, options: { readonly keepAfter: number }): void {
  const runs = readRuns(meta).filter((p) => p.start !== run.start && p.end >= options.keepAfter);
  runs.push({ start: run.start, end: Math.max(run.start, run.end) });
  const kept = normalisePeriods(runs).slice(-MAX_RUNS);
  meta.setMeta(RUNS_META_KEY, JSON.stringify(kept.map((p) => [p.start, p.end])));
}
