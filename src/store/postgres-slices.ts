// Long work on PostgreSQL in parts: reads over every device split into statements of a few hundred
// devices, several in flight (the server looks them up on several cores, and no answer holds a
// whole fleet); the prune in slices of one short statement each, so no lock on history rows is
// held for long. PostgresStore's counterpart of sqlite-slices.ts.

import { pruneSlice } from './postgres-rollups.js';
import type { Session, Sql } from './postgres-session.js';
import type { HistoryPosition, PruneOptions } from './store.js';

/**
 * Devices per statement of a bulk read: bounds what one answer holds, and how long the client
 * parses it — answers of the lanes in flight arrive together and are parsed in one turn.
 */
const DEVICES_PER_READ = 250;
/** Statements of one bulk read in flight at once. */
const READS_IN_FLIGHT = 3;
/** What a prune slice aims at: one statement of about this long, its row locks held that long. */
const PRUNE_SLICE_MS = 10;

/**
 * `read` over `items` in parts, READS_IN_FLIGHT at a time — one after the other in a transaction,
 * whose one connection takes one statement at a time; the answers in the order of `items`.
 */
export async function inParts<I, R>(
  session: Session,
  items: readonly I[],
  read: (sql: Sql, part: readonly I[]) => Promise<R[]>,
): Promise<R[]> {
  const parts: (readonly I[])[] = [];
  for (let i = 0; i < items.length; i += DEVICES_PER_READ) parts.push(items.slice(i, i + DEVICES_PER_READ));
  const answers: R[][] = new Array<R[]>(parts.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < parts.length) {
      const k = next++;
      answers[k] = await session.read('cannot read history from', (sql) => read(sql, parts[k]!));
    }
  };
  const lanes = session.inTransaction ? 1 : Math.min(READS_IN_FLIGHT, parts.length);
  await Promise.all(Array.from({ length: lanes }, lane));
  return answers.flat();
}

/** The history's part of the prune (store.ts `prune`); returns how many rows went. */
export async function pruneInSlices(
  session: Session,
  before: number,
  options: PruneOptions,
): Promise<number> {
  let deleted = 0;
  let after: HistoryPosition | null = null;
  // The slice size follows the time the last one took (a round trip included), as on SQLite.
  let size = 500;
  do {
    const start = performance.now();
    const slice: { deleted: number; next: HistoryPosition | null } = await session.write(
      'cannot prune',
      (sql) => pruneSlice(sql, before, after, size),
    );
    const ms = performance.now() - start;
    options.onSlice?.({ rows: slice.deleted, ms });
    deleted += slice.deleted;
    after = slice.next;
    size = Math.max(100, Math.min(2 * size, Math.floor((size * PRUNE_SLICE_MS) / Math.max(ms, 0.5))));
  } while (after !== null);
  return deleted;
}
