// The history's rollups on SQLite, and the reads that use them instead of the rows.
//
// Every history row carries running totals (`connected_ms`, `down_ms`): the time its device was
// recorded connected, and recorded in another status, from an arbitrary origin up to the row's
// `at` (store.ts, HistoryTotals). A change is appended with its totals in the same transaction, so
// the totals at any instant are the last row at or before it plus the time since: one lookup in
// `history_by_device`, which holds them (a covering index: the table itself is not read).
// Uptime over any period is a difference of two such lookups — exact at any boundary, where
// hourly or daily buckets would have to read the rows of the buckets cut in two.
//
// A change is usually the device's newest. One older than the newest (a clock stepped back) is put
// in its place: the rows after it shift by what it changes, so every difference stays right. A
// new first row takes totals that leave the rows after it as they are. The prune never changes
// totals: differences between the rows it keeps stay what they were.

import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { connectedWeight, downWeight } from './rollup-weights.js';
import { changesFromText, oneTotalsFromText, totalsFromText } from './rollup-text.js';
import { toHistoryRow, type HistoryRecord } from './sqlite-rows.js';
import type {
  HistoryChange,
  HistoryPage,
  HistoryPageQuery,
  HistoryPosition,
  HistoryRow,
  HistoryTotals,
  RecentAndTotals,
} from './store.js';

const HISTORY_COLUMNS = 'id, account, device, at, from_status AS "from", to_status AS "to", raw';

interface TotalsRecord {
  at: number;
  to: HistoryRow['to'];
  c: number;
  d: number;
}

export interface PruneSlice {
  readonly deleted: number;
  /** Where the next slice goes on from; null when the history before the cutoff is done. */
  readonly next: HistoryPosition | null;
}

type Run<P extends unknown[] | object> = Statement<P, never>;

/** Instants per statement of `totals` (one subquery each, so one statement text per count). */
const MAX_INSTANTS = 16;

/**
 * The devices of a bulk read, `d`, from a JSON list of [account, device]: their texts taken out
 * once (MATERIALIZED), not at each of a device's lookups — a tenth of the totals' time.
 */
const DEVICES = `WITH d AS MATERIALIZED (
  SELECT key, value->>0 AS account, value->>1 AS device FROM json_each(@devices))`;
/** A row of the device `d`. */
const DEVICE = 'account = d.account AND device = d.device';

/** One instant's totals as text (rollup-text.ts). */
function totalsSubquery(n: number): string {
  return `coalesce(
    (SELECT at || ' ' || to_status || ' ' || connected_ms || ' ' || down_ms FROM history
     WHERE ${DEVICE} AND at <= @t${n} ORDER BY at DESC, id DESC LIMIT 1),
    (SELECT 'x x ' || connected_ms || ' ' || down_ms FROM history WHERE ${DEVICE} ORDER BY at, id LIMIT 1),
    'x x 0 0')`;
}

export class SqliteRollups {
  private readonly stmts: {
    before: Statement<[string, string, number], TotalsRecord>;
    after: Statement<[string, string, number], TotalsRecord>;
    shift: Run<[number, number, string, string, number]>;
    insert: Run<[string, string, number, string | null, string, string | null, number, number]>;
    page: Statement<
      { account: string; device: string; since: number; afterAt: number; afterId: number; limit: number },
      HistoryRecord
    >;
    pruneScan: Statement<
      { before: number; afterAt: number; afterId: number; limit: number },
      { id: number; at: number; doomed: 0 | 1 }
    >;
    pruneDelete: Run<[string]>;
  };

  private readonly db: Database.Database;
  /** SqliteTables's: a database failure becomes a StoreError naming the file. */
  private readonly guard: <T>(doing: string, fn: () => T) => T;
  private readonly totalsByCount = new Map<number, Statement<unknown[], unknown>>();
  private readonly bulk: {
    recentAndTotals: Statement<
      { since: number; limit: number; t0: number; devices: string },
      { k: number; rows: string | null; totals: string }
    >;
    between: Statement<{ from: number; until: number; devices: string }, { k: number; rows: string | null }>;
  };

  constructor(db: Database.Database, guard: <T>(doing: string, fn: () => T) => T) {
    this.db = db;
    this.guard = guard;
    // Bulk reads: every device in one statement, so the loop over devices runs in SQLite, and a
    // device's lookups follow one another while its index pages are in the cache. Each device's
    // rows come back as one text (rollup-text.ts; ORDER BY inside the aggregate fixes their order).
    // Only columns of history_by_device: the table itself is not read.
    const rowsOf = (where: string, order: string, limit: string, also = '') => `${DEVICES}
      SELECT d.key AS k,
             (SELECT group_concat(at || ' ' || coalesce(from_status, '-') || ' ' || to_status, ' ' ORDER BY ${order})
              FROM (SELECT id, at, from_status, to_status FROM history
                    WHERE ${DEVICE} AND ${where} ORDER BY ${order} ${limit})) AS rows${also}
      FROM d`;
    this.bulk = {
      recentAndTotals: db.prepare(
        rowsOf('at >= @since', 'at DESC, id DESC', 'LIMIT @limit', `, ${totalsSubquery(0)} AS totals`),
      ),
      between: db.prepare(rowsOf('at >= @from AND at < @until', 'at, id', '')),
    };
    const totals = 'at, to_status AS "to", connected_ms AS c, down_ms AS d';
    this.stmts = {
      // ORDER BY at, id matches history_by_device (account, device, at, id, …): a seek, no sort.
      before: db.prepare(`SELECT ${totals} FROM history WHERE account = ? AND device = ? AND at <= ?
                          ORDER BY at DESC, id DESC LIMIT 1`),
      after: db.prepare(`SELECT ${totals} FROM history WHERE account = ? AND device = ? AND at > ?
                         ORDER BY at, id LIMIT 1`),
      shift: db.prepare(`UPDATE history SET connected_ms = connected_ms + ?, down_ms = down_ms + ?
                         WHERE account = ? AND device = ? AND at > ?`),
      insert:
        db.prepare(`INSERT INTO history (account, device, at, from_status, to_status, raw, connected_ms, down_ms)
                          VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      page: db.prepare(`SELECT ${HISTORY_COLUMNS} FROM history
                        WHERE account = @account AND device = @device AND at >= @since
                          AND (at > @afterAt OR (at = @afterAt AND id > @afterId))
                        ORDER BY at, id LIMIT @limit`),
      // The rows before the cutoff in time order from where the last slice stopped (history_by_time
      // holds (at, id)), each with whether a newer row of its device before the cutoff exists:
      // the newest stays, it is the status the device had at the cutoff.
      pruneScan: db.prepare(`
        SELECT h.id AS id, h.at AS at, EXISTS (
          SELECT 1 FROM history AS newer
          WHERE newer.account = h.account AND newer.device = h.device AND newer.at < @before
            AND (newer.at > h.at OR (newer.at = h.at AND newer.id > h.id))) AS doomed
        FROM history AS h
        WHERE h.at < @before AND (h.at > @afterAt OR (h.at = @afterAt AND h.id > @afterId))
        ORDER BY h.at, h.id LIMIT @limit`),
      pruneDelete: db.prepare('DELETE FROM history WHERE id IN (SELECT value FROM json_each(?))'),
    };
  }

  /** Appends one change with its totals; the caller holds the transaction and the guard. */
  insert(row: HistoryRow): void {
    const { account, device, at, to } = row;
    const prev = this.stmts.before.get(account, device, at);
    const next = this.stmts.after.get(account, device, at);
    let c = 0;
    let d = 0;
    if (prev !== undefined) {
      c = prev.c + (at - prev.at) * connectedWeight(prev.to);
      d = prev.d + (at - prev.at) * downWeight(prev.to);
    } else if (next !== undefined) {
      // A new first row: the totals of the rows after it stay as they are.
      c = next.c - (next.at - at) * connectedWeight(to);
      d = next.d - (next.at - at) * downWeight(to);
    }
    if (prev !== undefined && next !== undefined) {
      // Between two rows: from `at` to the next row the device now had `to`, not prev's status.
      const dc = (next.at - at) * (connectedWeight(to) - connectedWeight(prev.to));
      const dd = (next.at - at) * (downWeight(to) - downWeight(prev.to));
      if (dc !== 0 || dd !== 0) this.stmts.shift.run(dc, dd, account, device, at);
    }
    this.stmts.insert.run(account, device, at, row.from, to, row.raw, c, d);
  }

  /** HistoryTotals of each device at each instant; devices sharing one list of instants are read together. */
  totals(
    queries: readonly { account: string; device: string; instants: readonly number[] }[],
  ): HistoryTotals[][] {
    const out: HistoryTotals[][] = new Array<HistoryTotals[]>(queries.length);
    // Devices asked at the same instants share a statement (most do: the same period for all).
    const groups = new Map<string, { instants: readonly number[]; members: number[] }>();
    queries.forEach((q, i) => {
      const key = q.instants.join(' ');
      const group = groups.get(key);
      if (group === undefined) groups.set(key, { instants: q.instants, members: [i] });
      else group.members.push(i);
    });
    for (const { instants, members } of groups.values()) {
      const lists = members.map(() => [] as HistoryTotals[]);
      for (let from = 0; from < instants.length; from += MAX_INSTANTS) {
        const part = instants.slice(from, from + MAX_INSTANTS);
        const devices = JSON.stringify(members.map((i) => [queries[i]!.account, queries[i]!.device]));
        const params: Record<string, unknown> = { devices };
        part.forEach((t, j) => (params[`t${j}`] = t));
        // Pluck mode: a row is its one column, the device's texts of every instant in one.
        const rows = this.totalsStatement(part.length).all(params) as string[];
        rows.forEach((text, k) => lists[k]!.push(...totalsFromText(text, part)));
      }
      members.forEach((i, k) => (out[i] = lists[k]!));
    }
    return out;
  }

  /**
   * The last changes at or after `since`, newest first, with the totals at `totalsAt` and at
   * `instants` beside them: SQLite has no round trip to save, so the instants are `totals`.
   */
  recentAndTotals(
    devices: readonly { account: string; device: string }[],
    query: { since: number; limit: number; totalsAt: number; instants: readonly number[] },
  ): RecentAndTotals[] {
    return this.guard('cannot read history from', () => {
      const { since, limit, totalsAt, instants } = query;
      const atInstants = instants.length === 0 ? null : this.totals(devices.map((d) => ({ ...d, instants })));
      const answers = this.bulk.recentAndTotals.all({
        since,
        limit,
        t0: totalsAt,
        devices: this.devicesJson(devices),
      });
      const out = new Array<RecentAndTotals>(devices.length);
      for (const { k, rows, totals } of answers) {
        out[k] = {
          changes: rows === null ? [] : changesFromText(rows),
          totals: oneTotalsFromText(totals, totalsAt),
          atInstants: atInstants?.[k] ?? [],
        };
      }
      return out;
    });
  }

  between(
    devices: readonly { account: string; device: string }[],
    from: number,
    until: number,
  ): HistoryChange[][] {
    return this.guard('cannot read history from', () =>
      this.rowsOf(devices, this.bulk.between.all({ from, until, devices: this.devicesJson(devices) })),
    );
  }

  private devicesJson(devices: readonly { account: string; device: string }[]): string {
    return JSON.stringify(devices.map((d) => [d.account, d.device]));
  }

  private rowsOf(
    devices: readonly { account: string; device: string }[],
    answers: { k: number; rows: string | null }[],
  ): HistoryChange[][] {
    const out = devices.map((): HistoryChange[] => []);
    // By json_each's key, the device's index in the list: no ORDER BY (a sort of the whole answer).
    for (const { k, rows } of answers) if (rows !== null) out[k] = changesFromText(rows);
    return out;
  }

  private totalsStatement(count: number): Statement<unknown[], unknown> {
    let stmt = this.totalsByCount.get(count);
    if (stmt === undefined) {
      const texts = Array.from({ length: count }, (_, k) => totalsSubquery(k)).join(" || ' ' ||\n");
      stmt = this.db.prepare<unknown[], unknown>(`${DEVICES} SELECT ${texts} FROM d ORDER BY d.key`).pluck();
      this.totalsByCount.set(count, stmt);
    }
    return stmt;
  }

  page(account: string, device: string, query: HistoryPageQuery): HistoryPage {
    return this.guard('cannot read history from', () => this.pageUnguarded(account, device, query));
  }

  private pageUnguarded(account: string, device: string, query: HistoryPageQuery): HistoryPage {
    const records = this.stmts.page.all({
      account,
      device,
      since: query.since ?? Number.MIN_SAFE_INTEGER,
      afterAt: query.after?.at ?? Number.MIN_SAFE_INTEGER,
      afterId: query.after?.id ?? Number.MIN_SAFE_INTEGER,
      // One more than asked: whether a next page exists, without a count.
      limit: query.limit + 1,
    });
    const rows = records.slice(0, query.limit);
    const last = rows.at(-1);
    return {
      rows: rows.map(toHistoryRow),
      next: records.length > query.limit && last !== undefined ? { at: last.at, id: last.id } : null,
    };
  }

  /**
   * One slice of the prune (store.ts `prune`): looks at up to `limit` rows after `after`, in a
   * transaction of its own (or a savepoint of the caller's).
   */
  pruneSlice(before: number, after: HistoryPosition | null, limit: number): PruneSlice {
    return this.guard('cannot prune', () =>
      this.db.transaction(() => this.pruneSliceUnguarded(before, after, limit)).immediate(),
    );
  }

  /**
   * Copies what the WAL holds into the database file now, as far as no reader prevents it. The
   * prune's slices call it between them: left to SQLite, a commit that passes its threshold
   * (1,000 pages) copies them all at once — tens of milliseconds with the event loop held.
   */
  checkpoint(): void {
    this.guard('cannot write to', () => {
      if (!this.db.inTransaction) this.db.pragma('wal_checkpoint(PASSIVE)');
    });
  }

  private pruneSliceUnguarded(before: number, after: HistoryPosition | null, limit: number): PruneSlice {
    const scanned = this.stmts.pruneScan.all({
      before,
      afterAt: after?.at ?? Number.MIN_SAFE_INTEGER,
      afterId: after?.id ?? Number.MIN_SAFE_INTEGER,
      limit,
    });
    const doomed = scanned.filter((r) => r.doomed === 1).map((r) => r.id);
    if (doomed.length > 0) this.stmts.pruneDelete.run(JSON.stringify(doomed));
    const last = scanned.at(-1);
    return {
      deleted: doomed.length,
      next: scanned.length < limit || last === undefined ? null : { at: last.at, id: last.id },
    };
  }
}
