// The history's per-device reads of changes on PostgreSQL (store.ts recentHistoryAndTotals,
// historyBetween): a part of the fleet per statement, each device's answer as text
// (rollup-text.ts): a row per change would cost the client more to parse than the server to find
// them. Only columns that history_by_device holds: index-only scans.

import type { Sql } from './postgres-session.js';
import { latestFirst, MAX_INSTANTS, readTotals, totalsLookups } from './postgres-rollups.js';
import { changesFromText, oneTotalsFromText, totalsFromText } from './rollup-text.js';
import type { DeviceKey, HistoryChange, RecentAndTotals } from './store.js';

/** A change as text. */
const CHANGE_TEXT = "at || ' ' || coalesce(from_status, '-') || ' ' || to_status";

/** Per device (in the order given) its changes with `from <= at < until`, oldest first. */
export async function readBetween(
  sql: Sql,
  devices: readonly DeviceKey[],
  from: number,
  until: number,
): Promise<HistoryChange[][]> {
  const { rows } = await sql<{ i: number; changes: string | null }>(
    `SELECT q.i, (SELECT string_agg(${CHANGE_TEXT}, ' ' ORDER BY at, id)
                  FROM (SELECT at, id, from_status, to_status FROM history
                        WHERE account = q.a AND device = q.d AND at >= $3 AND at < $4
                        ORDER BY at, id) AS h) AS changes
     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(a, d, i)`,
    [devices.map((d) => d.account), devices.map((d) => d.device), from, until],
  );
  const out: HistoryChange[][] = devices.map(() => []);
  for (const r of rows) if (r.changes !== null) out[Number(r.i) - 1] = changesFromText(r.changes);
  return out;
}

/**
 * Per device its last $4 changes at or after $3, newest first, and its totals at $5
 * (rollup-text.ts's totals text): the first row of that scan is the device's newest, so when it
 * is at or before $5 its totals are the answer. Only a device with no change since $3, or one
 * later than $5, is looked up again (postgres-rollups.ts `totalsStatement` for one instant); a
 * subquery of a CASE runs only when its branch is taken. `count` instants from $6 on, latest
 * first, add the totals at those (postgres-rollups.ts `totalsLookups`) in the same statement:
 * one unnest, one answer per device, half the statements of a second read.
 */
function recentStatement(count: number): string {
  let text = recentStatements.get(count);
  if (text !== undefined) return text;
  const at = count === 0 ? { totals: "''", joins: '' } : totalsLookups(count, 6);
  text = `
  SELECT q.i, r.changes,
    CASE WHEN r.at <= $5::bigint THEN r.newest ELSE coalesce(
      (SELECT at || ' ' || to_status || ' ' || connected_ms || ' ' || down_ms FROM history
       WHERE account = q.a AND device = q.d AND at <= $5::bigint ORDER BY at DESC, id DESC LIMIT 1),
      'x x ' || (SELECT connected_ms || ' ' || down_ms FROM history
                 WHERE account = q.a AND device = q.d ORDER BY at, id LIMIT 1),
      'x x 0 0') END AS totals,
    ${at.totals} AS at_instants
  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(a, d, i)
  CROSS JOIN LATERAL (
    SELECT string_agg(${CHANGE_TEXT}, ' ' ORDER BY at DESC, id DESC) AS changes, max(at) AS at,
           (array_agg(at || ' ' || to_status || ' ' || connected_ms || ' ' || down_ms
                      ORDER BY at DESC, id DESC))[1] AS newest
    FROM (SELECT at, id, from_status, to_status, connected_ms, down_ms FROM history
          WHERE account = q.a AND device = q.d AND at >= $3 ORDER BY at DESC, id DESC LIMIT $4) AS h) AS r
  ${at.joins}`;
  recentStatements.set(count, text);
  return text;
}

const recentStatements = new Map<number, string>();

export async function readRecentAndTotals(
  sql: Sql,
  devices: readonly DeviceKey[],
  query: { since: number; limit: number; totalsAt: number; instants: readonly number[] },
): Promise<RecentAndTotals[]> {
  const { distinct, where } = latestFirst(query.instants);
  // More instants than one statement takes (a daemon restarted often in the period): read apart.
  const apart = distinct.length > MAX_INSTANTS;
  const { rows } = await sql<{ i: number; changes: string | null; totals: string; at_instants: string }>(
    recentStatement(apart ? 0 : distinct.length),
    [
      devices.map((d) => d.account),
      devices.map((d) => d.device),
      query.since,
      query.limit,
      query.totalsAt,
      ...(apart ? [] : distinct),
    ],
  );
  const totals = apart
    ? await readTotals(
        sql,
        devices.map((d) => ({ ...d, instants: distinct })),
      )
    : null;
  const out = new Array<RecentAndTotals>(devices.length);
  for (const r of rows) {
    const k = Number(r.i) - 1;
    const found = totals?.[k] ?? (distinct.length === 0 ? [] : totalsFromText(r.at_instants, distinct));
    out[k] = {
      changes: r.changes === null ? [] : changesFromText(r.changes),
      totals: oneTotalsFromText(r.totals, query.totalsAt),
      atInstants: where.map((j) => found[j]!),
    };
  }
  return out;
}
