// Long work on SQLite in slices of a few milliseconds, yielding to the event loop between them:
// better-sqlite3 holds the loop while a statement runs, and the daemon polls on that loop. Used by
// SqliteStore for the reads over every device (the rollups behind the status page and the audit)
// and for the prune.

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { SqliteRollups } from './sqlite-rollups.js';
import type { HistoryPosition, PruneOptions } from './store.js';

/** How long one slice holds the event loop, about. */
export const SLICE_BUDGET_MS = 8;

/** Runs synchronous work on the store's connection (the gate, or the transaction's scope). */
export type RunOn = <R>(work: () => R) => Promise<R>;

/**
 * `read` over `items` a slice at a time; the answers in the order of `items`. Each slice is
 * consistent in itself; a write that lands between two slices is seen by the later one only (a
 * page or an audit can live with it). `mayYield` false inside a transaction: its lock is held
 * anyway, there is no one to let in.
 */
export async function inSlices<I, R>(
  run: RunOn,
  items: readonly I[],
  read: (part: readonly I[]) => R[],
  mayYield: boolean,
): Promise<R[]> {
  const out: R[] = [];
  // Slices grow or shrink to the budget, measured on the last one; the first is a probe.
  let size = 64;
  for (let i = 0; i < items.length;) {
    const part = items.slice(i, i + size);
    const start = performance.now();
    const answers = await run(() => read(part));
    const ms = performance.now() - start;
    for (const a of answers) out.push(a);
    i += part.length;
    size = nextSize(part.length, ms, 16);
    if (i < items.length && mayYield) await yieldToLoop();
  }
  return out;
}

/**
 * Every row `readPage` gives, a page at a time: each page starts after the last row of the one
 * before (`keyOf`), so rows written between two pages are neither lost nor repeated — the pages
 * are not one snapshot, which the readers of device rows can live with.
 */
export async function inPages<R, K>(
  run: RunOn,
  readPage: (after: K | null, limit: number) => R[],
  keyOf: (row: R) => K,
  mayYield: boolean,
): Promise<R[]> {
  const out: R[] = [];
  let after: K | null = null;
  let size = 256;
  for (;;) {
    const start = performance.now();
    const page = await run(() => readPage(after, size));
    const ms = performance.now() - start;
    for (const r of page) out.push(r);
    const last = page.at(-1);
    if (page.length < size || last === undefined) return out;
    after = keyOf(last);
    size = nextSize(size, ms, 64);
    if (mayYield) await yieldToLoop();
  }
}

/**
 * The history's part of the prune (store.ts `prune`); returns how many rows went. A deleted row
 * costs tens of microseconds (its entry in the device index sits on a page of its own), so the
 * slice size follows the time the last one took. Each slice is followed by a checkpoint of the
 * pages it wrote, a step of its own: SQLite would otherwise copy a thousand such pages in one go,
 * at the commit that passes its threshold.
 */
export async function pruneInSlices(
  run: RunOn,
  history: SqliteRollups,
  before: number,
  options: PruneOptions,
  mayYield: boolean,
): Promise<number> {
  let deleted = 0;
  let after: HistoryPosition | null = null;
  let size = 100;
  do {
    let start = performance.now();
    const slice = await run(() => history.pruneSlice(before, after, size));
    const sliceMs = performance.now() - start;
    deleted += slice.deleted;
    after = slice.next;
    let checkpointMs = 0;
    if (mayYield) {
      await yieldToLoop();
      start = performance.now();
      await run(() => history.checkpoint());
      checkpointMs = performance.now() - start;
      await yieldToLoop();
    }
    const ms = Math.max(sliceMs, checkpointMs);
    options.onSlice?.({ rows: slice.deleted, ms });
    size = nextSize(size, ms, 20);
  } while (after !== null);
  return deleted;
}

/** The size that fits the budget, by the last slice's time; at most doubling, so that one quick
 * slice (its pages in the cache) does not make the next one huge. */
function nextSize(size: number, ms: number, least: number): number {
  const fit = Math.floor((size * SLICE_BUDGET_MS) / Math.max(ms, 0.5));
  return Math.max(least, Math.min(2 * size, fit));
}
