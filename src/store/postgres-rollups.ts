// The history's rollups on PostgreSQL: what sqlite-rollups.ts does (its header says what the
// running totals are and why), a batch of devices in one statement where SQLite loops.

import type { Sql } from './postgres-session.js';
import { storable } from './postgres-text.js';
import { totalsFromText } from './rollup-text.js';
import { connectedWeight, downWeight } from './rollup-weights.js';
import type {
  DeviceKey,
  HistoryPage,
  HistoryPageQuery,
  HistoryPosition,
  HistoryRow,
  HistoryStatus,
  HistoryTotals,
} from './store.js';

/**
 * Taken (to COMMIT) by every transaction that appends history: a row's totals are computed from
 * the device's rows before it, so two writers (the daemon's cycle, a CLI `delete`) must not both
 * compute from the same last row. One key for all devices — a per-device lock for a batch of
 * 10,000 changes would fill the server's lock table; a cycle's append takes milliseconds.
 */
const HISTORY_LOCK = 0x57476869; // 'WGhi'

const HISTORY_COLUMNS = 'id, account, device, at, from_status AS "from", to_status AS "to", raw';

interface Totals {
  at: number;
  to: HistoryStatus;
  c: number;
  d: number;
}

type HistoryRecord = HistoryRow & { id: number };

const toHistoryRow = ({ account, device, at, from, to, raw }: HistoryRecord): HistoryRow => ({
  account,
  device,
  at,
  from,
  to,
  raw,
});

const keyOf = (account: string, device: string): string => JSON.stringify([account, device]);

/** In the order given (ids break ties between changes at the same time), each with its totals. */
export async function insertHistory(sql: Sql, rows: readonly HistoryRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql('SELECT pg_advisory_xact_lock($1)', [HISTORY_LOCK]);
  const heads = await lastRows(sql, rows);
  const totals: { c: number; d: number }[] = [];
  for (const row of rows) {
    const key = keyOf(row.account, row.device);
    const head = heads.get(key);
    // Older than the device's newest row: rare (a clock stepped back), so one row at a time.
    if (head !== undefined && row.at < head.at) return insertOneByOne(sql, rows);
    const c = head === undefined ? 0 : head.c + (row.at - head.at) * connectedWeight(head.to);
    const d = head === undefined ? 0 : head.d + (row.at - head.at) * downWeight(head.to);
    totals.push({ c, d });
    heads.set(key, { at: row.at, to: row.to, c, d });
  }
  await sql(
    `INSERT INTO history (account, device, at, from_status, to_status, raw, connected_ms, down_ms)
     SELECT a, d, t, f, s, r, c, n
     FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[])
       WITH ORDINALITY AS u(a, d, t, f, s, r, c, n, i)
     ORDER BY i`,
    [
      rows.map((r) => r.account),
      rows.map((r) => r.device),
      rows.map((r) => r.at),
      rows.map((r) => r.from),
      rows.map((r) => r.to),
      rows.map((r) => storable(r.raw)),
      totals.map((t) => t.c),
      totals.map((t) => t.d),
    ],
  );
}

/** Each device's newest row, for the devices of `rows`. */
async function lastRows(sql: Sql, rows: readonly DeviceKey[]): Promise<Map<string, Totals>> {
  const devices = [...new Map(rows.map((r) => [keyOf(r.account, r.device), r])).values()];
  const { rows: found } = await sql<Totals & DeviceKey>(
    `SELECT q.a AS account, q.d AS device, h.at, h.to_status AS "to", h.connected_ms AS c, h.down_ms AS d
     FROM unnest($1::text[], $2::text[]) AS q(a, d)
     CROSS JOIN LATERAL (SELECT at, to_status, connected_ms, down_ms FROM history
                         WHERE account = q.a AND device = q.d ORDER BY at DESC, id DESC LIMIT 1) AS h`,
    [devices.map((d) => d.account), devices.map((d) => d.device)],
  );
  return new Map(found.map((r) => [keyOf(r.account, r.device), r]));
}

/** sqlite-rollups.ts `insert`, a statement at a time. */
async function insertOneByOne(sql: Sql, rows: readonly HistoryRow[]): Promise<void> {
  for (const row of rows) {
    const { account, device, at, to } = row;
    const [prev, next] = await Promise.all([
      one(sql, 'at <= $3 ORDER BY at DESC, id DESC', [account, device, at]),
      one(sql, 'at > $3 ORDER BY at, id', [account, device, at]),
    ]);
    let c = 0;
    let d = 0;
    if (prev !== undefined) {
      c = prev.c + (at - prev.at) * connectedWeight(prev.to);
      d = prev.d + (at - prev.at) * downWeight(prev.to);
    } else if (next !== undefined) {
      c = next.c - (next.at - at) * connectedWeight(to);
      d = next.d - (next.at - at) * downWeight(to);
    }
    if (prev !== undefined && next !== undefined) {
      const dc = (next.at - at) * (connectedWeight(to) - connectedWeight(prev.to));
      const dd = (next.at - at) * (downWeight(to) - downWeight(prev.to));
      if (dc !== 0 || dd !== 0) {
        await sql(
          `UPDATE history SET connected_ms = connected_ms + $1, down_ms = down_ms + $2
           WHERE account = $3 AND device = $4 AND at > $5`,
          [dc, dd, account, device, at],
        );
      }
    }
    await sql(
      `INSERT INTO history (account, device, at, from_status, to_status, raw, connected_ms, down_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [account, device, at, row.from, to, storable(row.raw), c, d],
    );
  }
}

async function one(sql: Sql, where: string, values: unknown[]): Promise<Totals | undefined> {
  const { rows } = await sql<Totals>(
    `SELECT at, to_status AS "to", connected_ms AS c, down_ms AS d FROM history
     WHERE account = $1 AND device = $2 AND ${where} LIMIT 1`,
    values,
  );
  return rows[0];
}

/** Instants per statement of `readTotals`: a join per instant, so the plan grows with them. */
export const MAX_INSTANTS = 8;

/**
 * HistoryTotals of each (device, instant): devices asked at the same instants (most are: the same
 * periods for all) in one statement, each device's totals in one text (rollup-text.ts).
 */
export async function readTotals(
  sql: Sql,
  queries: readonly (DeviceKey & { readonly instants: readonly number[] })[],
): Promise<HistoryTotals[][]> {
  const out: HistoryTotals[][] = new Array<HistoryTotals[]>(queries.length);
  const groups = new Map<string, { instants: readonly number[]; members: number[] }>();
  // Callers mostly pass one list for every device: its key is made once, not 10,000 times.
  let lastList: readonly number[] | undefined;
  let lastKey = '';
  queries.forEach((q, i) => {
    if (q.instants !== lastList) {
      lastList = q.instants;
      lastKey = q.instants.join(' ');
    }
    const group = groups.get(lastKey);
    if (group === undefined) groups.set(lastKey, { instants: q.instants, members: [i] });
    else group.members.push(i);
  });
  for (const { instants, members } of groups.values()) {
    const { distinct, where } = latestFirst(instants);
    const lists = members.map(() => new Array<HistoryTotals>(distinct.length));
    for (let from = 0; from < distinct.length; from += MAX_INSTANTS) {
      const part = distinct.slice(from, from + MAX_INSTANTS);
      const { rows } = await sql<{ i: number; totals: string }>(totalsStatement(part.length), [
        members.map((i) => queries[i]!.account),
        members.map((i) => queries[i]!.device),
        ...part,
      ]);
      for (const r of rows) {
        const found = totalsFromText(r.totals, part);
        const list = lists[Number(r.i) - 1]!;
        for (let j = 0; j < found.length; j++) list[from + j] = found[j]!;
      }
    }
    members.forEach((i, k) => (out[i] = where.map((j) => lists[k]![j]!)));
  }
  return out;
}

/**
 * The instants each once, latest first (a later instant's row at or before an earlier one is its
 * row too), and where each instant of the list is among them.
 */
export function latestFirst(instants: readonly number[]): { distinct: number[]; where: number[] } {
  const distinct = [...new Set(instants)].sort((a, b) => b - a);
  return { distinct, where: instants.map((t) => distinct.indexOf(t)) };
}

const totalsStatements = new Map<number, string>();

function totalsStatement(count: number): string {
  let text = totalsStatements.get(count);
  if (text === undefined) {
    const { totals, joins } = totalsLookups(count, 3);
    text = `SELECT q.i, ${totals} AS totals
    FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(a, d, i)
    ${joins}`;
    totalsStatements.set(count, text);
  }
  return text;
}

/**
 * Each device's totals at `count` instants, latest first (parameter `$first` the latest), as the
 * joins of a statement over `q(a, d)` and the expression of their text (rollup-text.ts): the last
 * row at or before each instant is looked up only when the row found for a later one is after it
 * — a device quiet since before an instant, or both edges of a short gap, take one lookup, not
 * two. `h<k>` is the row looked up for instant k (none when not looked up or not found); the row
 * at or before it is the latest of h1…hk when that is at or before the instant. The first row's
 * totals only where no row is at or before the earliest instant (a one-time filter).
 */
export function totalsLookups(count: number, first: number): { totals: string; joins: string } {
  const ks = Array.from({ length: count }, (_, k) => k + 1);
  const t = (k: number) => `$${k + first - 1}::bigint`;
  /** The latest row found for instants 1…k, as `col` of it. */
  const found = (k: number, col: string) =>
    k === 1
      ? `h1.${col}`
      : `coalesce(${ks
          .slice(0, k)
          .reverse()
          .map((j) => `h${j}.${col}`)
          .join(', ')})`;
  const lookups = ks.map(
    (k) => `LEFT JOIN LATERAL (
      SELECT at, at || ' ' || to_status || ' ' || connected_ms || ' ' || down_ms AS text FROM history
      WHERE ${k === 1 ? '' : `${found(k - 1, 'at')} > ${t(k)} AND `}account = q.a AND device = q.d AND at <= ${t(k)}
      ORDER BY at DESC, id DESC LIMIT 1) AS h${k} ON true`,
  );
  const firstRow = `LEFT JOIN LATERAL (
      SELECT connected_ms || ' ' || down_ms AS text FROM history
      WHERE (${found(count, 'at')} <= ${t(count)}) IS NOT TRUE AND account = q.a AND device = q.d
      ORDER BY at, id LIMIT 1) AS f ON true`;
  const none = `'x x ' || coalesce(f.text, '0 0')`;
  const answers = ks.map(
    (k) => `CASE WHEN ${found(k, 'at')} <= ${t(k)} THEN ${found(k, 'text')} ELSE ${none} END`,
  );
  return { totals: answers.join(" || ' ' || "), joins: [...lookups, firstRow].join('\n    ') };
}

export async function readPage(
  sql: Sql,
  account: string,
  device: string,
  query: HistoryPageQuery,
): Promise<HistoryPage> {
  const { rows } = await sql<HistoryRecord>(
    `SELECT ${HISTORY_COLUMNS} FROM history
     WHERE account = $1 AND device = $2 AND at >= $3 AND (at, id) > ($4, $5)
     ORDER BY at, id LIMIT $6`,
    [
      account,
      device,
      query.since ?? Number.MIN_SAFE_INTEGER,
      query.after?.at ?? Number.MIN_SAFE_INTEGER,
      query.after?.id ?? Number.MIN_SAFE_INTEGER,
      query.limit + 1,
    ],
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    rows: page.map(toHistoryRow),
    next: rows.length > query.limit && last !== undefined ? { at: last.at, id: last.id } : null,
  };
}

/** One slice of the history's prune (sqlite-rollups.ts `pruneSlice`), one statement. */
export async function pruneSlice(
  sql: Sql,
  before: number,
  after: HistoryPosition | null,
  limit: number,
): Promise<{ deleted: number; next: HistoryPosition | null }> {
  const { rows } = await sql<{ deleted: number; scanned: number; at: number | null; id: number | null }>(
    `WITH scanned AS (
       SELECT h.id, h.at, EXISTS (
         SELECT 1 FROM history AS newer
         WHERE newer.account = h.account AND newer.device = h.device AND newer.at < $1
           AND (newer.at, newer.id) > (h.at, h.id)) AS doomed
       FROM history AS h
       WHERE h.at < $1 AND (h.at, h.id) > ($2, $3)
       ORDER BY h.at, h.id LIMIT $4
     ), gone AS (
       DELETE FROM history WHERE id IN (SELECT id FROM scanned WHERE doomed) RETURNING 1
     ), last AS (SELECT at, id FROM scanned ORDER BY at DESC, id DESC LIMIT 1)
     SELECT (SELECT count(*) FROM gone)::integer AS deleted, (SELECT count(*) FROM scanned)::integer AS scanned,
            (SELECT at FROM last) AS at, (SELECT id FROM last) AS id`,
    [before, after?.at ?? Number.MIN_SAFE_INTEGER, after?.id ?? Number.MIN_SAFE_INTEGER, limit],
  );
  const r = rows[0]!;
  return {
    deleted: r.deleted,
    next: r.scanned < limit || r.at === null || r.id === null ? null : { at: r.at, id: r.id },
  };
}
