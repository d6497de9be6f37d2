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
import { toHistoryRow, type HistoryRecord } from './sqlite-rows.js';
import type { HistoryPage, HistoryPageQuery, HistoryPosition, HistoryRow, HistoryTotals } from './store.js';

const HISTORY_COLUMNS = 'id, account, device, at, from_status AS "from", to_status AS "to", raw';

interface TotalsRecord {
  at: number;
  to: HistoryRow['to'];
  c: number;
  d: number;
}

/** How many rows a prune slice looks at: a few milliseconds of work (measured by bench:history). */
export const PRUNE_SLICE_ROWS = 2_000;

export interface PruneSlice {
  readonly deleted: number;
  /** Where the next slice goes on from; null when the history before the cutoff is done. */
  readonly next: HistoryPosition | null;
}

type Run<P extends unknown[] | object> = Statement<P, never>;

export class SqliteRollups {
  private readonly stmts: {
    before: Statement<[string, string, number], TotalsRecord>;
    after: Statement<[string, string, number], TotalsRecord>;
    first: Statement<[string, string], TotalsRecord>;
    shift: Run<[number, number, string, string, number]>;
    insert: Run<[string, string, number, string | null, string, string | null, number, number]>;
    recent: Statement<[string, string, number, number], HistoryRecord>;
    between: Statement<[string, string, number, number], HistoryRecord>;
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

  constructor(db: Database.Database) {
    const totals = 'at, to_status AS "to", connected_ms AS c, down_ms AS d';
    this.stmts = {
      // ORDER BY at, id matches history_by_device (account, device, at, id, …): a seek, no sort.
      before: db.prepare(`SELECT ${totals} FROM history WHERE account = ? AND device = ? AND at <= ?
                          ORDER BY at DESC, id DESC LIMIT 1`),
      after: db.prepare(`SELECT ${totals} FROM history WHERE account = ? AND device = ? AND at > ?
                         ORDER BY at, id LIMIT 1`),
      first: db.prepare(`SELECT ${totals} FROM history WHERE account = ? AND device = ?
                         ORDER BY at, id LIMIT 1`),
      shift: db.prepare(`UPDATE history SET connected_ms = connected_ms + ?, down_ms = down_ms + ?
                         WHERE account = ? AND device = ? AND at > ?`),
      insert:
        db.prepare(`INSERT INTO history (account, device, at, from_status, to_status, raw, connected_ms, down_ms)
                          VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      recent: db.prepare(`SELECT ${HISTORY_COLUMNS} FROM history WHERE account = ? AND device = ? AND at >= ?
                          ORDER BY at DESC, id DESC LIMIT ?`),
      between: db.prepare(`SELECT ${HISTORY_COLUMNS} FROM history
                           WHERE account = ? AND device = ? AND at >= ? AND at < ? ORDER BY at, id`),
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

  /** Appends one change with its totals; the caller holds the transaction. */
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

  totalsAt(account: string, device: string, instant: number): HistoryTotals {
    const last = this.stmts.before.get(account, device, instant);
    if (last !== undefined) {
      return {
        connectedMs: last.c + (instant - last.at) * connectedWeight(last.to),
        downMs: last.d + (instant - last.at) * downWeight(last.to),
        last: { at: last.at, to: last.to },
      };
    }
    // Before the first change nothing counts: the totals are the first row's.
    const first = this.stmts.first.get(account, device);
    return { connectedMs: first?.c ?? 0, downMs: first?.d ?? 0, last: null };
  }

  recent(account: string, device: string, since: number, limit: number): HistoryRow[] {
    return this.stmts.recent.all(account, device, since, limit).map(toHistoryRow);
  }

  between(account: string, device: string, from: number, until: number): HistoryRow[] {
    return this.stmts.between.all(account, device, from, until).map(toHistoryRow);
  }

  page(account: string, device: string, query: HistoryPageQuery): HistoryPage {
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

  /** One slice of the prune (store.ts `prune`): looks at up to `limit` rows after `after`. */
  pruneSlice(before: number, after: HistoryPosition | null, limit = PRUNE_SLICE_ROWS): PruneSlice {
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
