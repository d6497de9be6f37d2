// When the daemon ran, kept in the store's meta table under one key, so the audit can show the
// daemon's down-time as unknown instead of as the last recorded status. The daemon calls
// `recordRun` at start, about once a minute while it runs, and at stop; a crash loses at most
// the time since the last call. Readers (the audit) call `readRunsUpTo`: while the daemon runs,
// its run counts up to now, not only up to its last record (up to a minute behind).

import { normalisePeriods, type Period } from './compute.js';

export const RUNS_META_KEY = 'daemon_runs';
/** The start of the run still going (the daemon has not recorded its stop); '' when none. */
export const OPEN_RUN_META_KEY = 'daemon_run_open';
/**
 * A running daemon records at least this often (housekeeping/run-record.ts records every minute;
 * twice that, for a slow tick): an open run recorded longer ago than this crashed.
 */
export const OPEN_RUN_FRESH_MS = 120_000;
/** A bound on the stored list, whatever the retention: restarts are rare, this is generous. */
export const MAX_RUNS = 2000;

/** The part of the Store (store/store.ts) the run record lives in. */
export interface MetaStore {
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
}

/** The recorded run periods, oldest first, merged; [] when none (or unreadable). */
export async function readRuns(meta: Pick<MetaStore, 'getMeta'>): Promise<Period[]> {
  const text = await meta.getMeta(RUNS_META_KEY);
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
export async function recordRun(
  meta: MetaStore,
  run: Period,
  options: { readonly keepAfter: number; readonly open?: boolean },
): Promise<void> {
  const runs = (await readRuns(meta)).filter((p) => p.start !== run.start && p.end >= options.keepAfter);
  runs.push({ start: run.start, end: Math.max(run.start, run.end) });
  const kept = normalisePeriods(runs).slice(-MAX_RUNS);
  await meta.setMeta(RUNS_META_KEY, JSON.stringify(kept.map((p) => [p.start, p.end])));
  await meta.setMeta(OPEN_RUN_META_KEY, options.open === false ? '' : String(run.start));
}

/**
 * The recorded periods, with the run still going (open, recorded within OPEN_RUN_FRESH_MS)
 * counted up to `now`: `audit` while the daemon runs must not lag behind by up to a minute.
 */
export async function readRunsUpTo(meta: Pick<MetaStore, 'getMeta'>, now: number): Promise<Period[]> {
  const periods = await readRuns(meta);
  const text = await meta.getMeta(OPEN_RUN_META_KEY);
  const open = text === null || text === '' ? Number.NaN : Number(text);
  const last = periods[periods.length - 1];
  if (last === undefined || !Number.isFinite(open)) return periods;
  // Merged periods keep the earliest start: the open run is the last one if it began inside it.
  if (open < last.start || open > last.end || now < last.end || now - last.end > OPEN_RUN_FRESH_MS) {
    return periods;
  }
  return [...periods.slice(0, -1), { start: last.start, end: now }];
}
