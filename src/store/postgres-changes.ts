// The history's per-device reads of changes on PostgreSQL (store.ts recentHistory,
// recentHistoryAndTotals, historyBetween): a part of the fleet per statement, each device's
// answer as text (rollup-text.ts).

import type { Sql } from './postgres-session.js';
import { changesFromText, totalsFromWords } from './rollup-text.js';
import type { DeviceKey, HistoryChange, RecentAndTotals } from './store.js';

/** The columns history_by_device holds: every read here is an index-only scan. */
const CHANGE_TEXT = "at || ' ' || coalesce(from_status, '-') || ' ' || to_status";

/**
 * Per device (in the order given) the changes `where` picks, oldest or newest first, at most
 * `limit`. Each device's come as one text: a row per change would cost the client more to parse
 * than the server to find them.
 */
async function perDevice(
  sql: Sql,
  devices: readonly DeviceKey[],
  query: { where: string; newestFirst: boolean; limit: string },
  values: readonly unknown[],
): Promise<HistoryChange[][]> {
  const dir = query.newestFirst ? 'DESC' : 'ASC';
  const { rows } = await sql<{ i: number; changes: string | null }>(
    `SELECT q.i, (SELECT string_agg(${CHANGE_TEXT}, ' ' ORDER BY at ${dir}, id ${dir})
                  FROM (SELECT at, id, from_status, to_status FROM history
                        WHERE account = q.a AND device = q.d AND ${query.where}
                        ORDER BY at ${dir}, id ${dir} ${query.limit}) AS h) AS changes
     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(a, d, i)`,
    [devices.map((d) => d.account), devices.map((d) => d.device), ...values],
  );
  const out: HistoryChange[][] = devices.map(() => []);
  for (const r of rows) if (r.changes !== null) out[Number(r.i) - 1] = changesFromText(r.changes);
  return out;
}

export function readRecent(
  sql: Sql,
  devices: readonly DeviceKey[],
  since: number,
  limit: number,
): Promise<HistoryChange[][]> {
  return perDevice(sql, devices, { where: 'at >= $3', newestFirst: true, limit: 'LIMIT $4' }, [since, limit]);
}

export function readBetween(
  sql: Sql,
  devices: readonly DeviceKey[],
  from: number,
  until: number,
): Promise<HistoryChange[][]> {
  return perDevice(sql, devices, { where: 'at >= $3 AND at < $4', newestFirst: false, limit: '' }, [
    from,
    until,
  ]);
}

/**
 * `readRecent` with the totals at $5 (rollup-text.ts's totals text): the first row of the recent
 * scan is the device's newest, so when it is at or before $5 its totals are the answer. Only a
 * device with no change since $3, or one later than $5, is looked up again (postgres-rollups.ts
 * `totalsStatement` for one instant); a subquery of a CASE runs only when its branch is taken.
 */
const RECENT_AND_TOTALS = `
  SELECT q.i, r.changes,
    CASE WHEN r.at <= $5::bigint THEN r.newest ELSE coalesce(
      (SELECT at || ' ' || to_status || ' ' || connected_ms || ' ' || down_ms FROM history
       WHERE account = q.a AND device = q.d AND at <= $5::bigint ORDER BY at DESC, id DESC LIMIT 1),
      'x x ' || (SELECT connected_ms || ' ' || down_ms FROM history
                 WHERE account = q.a AND device = q.d ORDER BY at, id LIMIT 1),
      'x x 0 0') END AS totals
  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(a, d, i)
  CROSS JOIN LATERAL (
    SELECT string_agg(${CHANGE_TEXT}, ' ' ORDER BY at DESC, id DESC) AS changes, max(at) AS at,
           (array_agg(at || ' ' || to_status || ' ' || connected_ms || ' ' || down_ms
                      ORDER BY at DESC, id DESC))[1] AS newest
    FROM (SELECT at, id, from_status, to_status, connected_ms, down_ms FROM history
          WHERE account = q.a AND device = q.d AND at >= $3 ORDER BY at DESC, id DESC LIMIT $4) AS h) AS r`;

export async function readRecentAndTotals(
  sql: Sql,
  devices: readonly DeviceKey[],
  query: { since: number; limit: number; totalsAt: number },
): Promise<RecentAndTotals[]> {
  const { rows } = await sql<{ i: number; changes: string | null; totals: string }>(RECENT_AND_TOTALS, [
    devices.map((d) => d.account),
    devices.map((d) => d.device),
    query.since,
    query.limit,
    query.totalsAt,
  ]);
  const out = new Array<RecentAndTotals>(devices.length);
  for (const r of rows) {
    out[Number(r.i) - 1] = {
      changes: r.changes === null ? [] : changesFromText(r.changes),
      totals: totalsFromWords(r.totals.split(' '), 0, query.totalsAt),
    };
  }
  return out;
}
