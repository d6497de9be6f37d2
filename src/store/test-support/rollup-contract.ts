// The history's rollups and the reads built on them (store.ts: HistoryTotals, historyPage,
// recentHistoryAndTotals, historyBetween, the sliced prune), held by every store.
// describeStoreContract runs it. The property test at the end checks what matters to a reader:
// the audit and the status page's uptimes computed from the rollups (audit/rollup.ts) equal what
// computeAudit makes of the raw rows, on random histories.
//
// Over 350 lines: one suite whose cases are each a fixture and its expectations, read side by side.

import { describe, expect, it } from 'vitest';
import { deviceRow } from './rollup-fixtures.js';
import { describeRollupProperty } from './rollup-property.js';
import { DEVICE_STATUSES, type DeviceStatus } from '../../monitor/model.js';
import type { HistoryRow, HistoryStatus, HistoryTotals, Store } from '../store.js';

function row(device: string, at: number, to: HistoryStatus, from: DeviceStatus | null = null): HistoryRow {
  return { account: 'main', device, at, from, to, raw: null };
}

/**
 * Time connected and down in [from, to) by `rows` of one device in the order recorded, counted
 * the slow way: the definition (a stable sort keeps ties in the order recorded: the later holds).
 */
function totalsByDefinition(rows: readonly HistoryRow[], from: number, to: number) {
  const sorted = [...rows].sort((a, b) => a.at - b.at);
  let connectedMs = 0;
  let downMs = 0;
  sorted.forEach((r, i) => {
    const end = sorted[i + 1]?.at ?? Number.POSITIVE_INFINITY;
    const a = Math.max(r.at, from);
    const b = Math.min(end, to);
    if (b <= a) return;
    if (r.to === 'connected') connectedMs += b - a;
    else if (r.to !== 'deleted') downMs += b - a;
  });
  return { connectedMs, downMs };
}

/**
 * A history written before the rollups existed (migration tests): devices that change often and
 * seldom, ties, a deletion, a device whose records begin with a `from`; in the order recorded.
 */
export function historyBeforeRollups(): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const [i, device] of ['1', '2', '3'].entries()) {
    let prev: DeviceStatus | null = i === 2 ? 'unknown' : null;
    for (let k = 0; k < 12 * (i + 1); k++) {
      const to: HistoryStatus =
        k === 7 && i === 1 ? 'deleted' : DEVICE_STATUSES[(k * (i + 2)) % DEVICE_STATUSES.length]!;
      rows.push({
        account: 'main',
        device,
        at: 1_000 + Math.floor(k / (i + 1)) * 100,
        from: prev,
        to,
        raw: to,
      });
      prev = to === 'deleted' ? null : to;
    }
  }
  return rows;
}

/** The store's totals of `rows` (one account, written in this order) agree with the definition. */
export async function expectTotalsByDefinition(store: Store, rows: readonly HistoryRow[]): Promise<void> {
  const instants = [0, 999, 1_000, 1_050, 1_100, 1_250, 1_500, 1_999, 2_500, 10_000];
  for (const device of new Set(rows.map((r) => r.device))) {
    const own = rows.filter((r) => r.device === device);
    const [totals] = await store.historyTotals([{ account: 'main', device, instants }]);
    for (const [i, a] of instants.entries()) {
      for (const [j, b] of instants.entries()) {
        if (j <= i) continue;
        const got = {
          connectedMs: totals![j]!.connectedMs - totals![i]!.connectedMs,
          downMs: totals![j]!.downMs - totals![i]!.downMs,
        };
        expect(got, `device ${device}, [${a}, ${b})`).toEqual(totalsByDefinition(own, a, b));
      }
    }
  }
}

/** `open` gives a fresh, empty store; the caller's beforeEach/afterEach are not used here. */
export function describeRollupContract(name: string, open: () => Promise<Store>): void {
  const withStore = (fn: (store: Store) => Promise<void>) => async () => {
    const store = await open();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
  /** The difference of the totals at two instants: what the rollups are for. */
  const between = async (store: Store, device: string, a: number, b: number) => {
    const [x, y] = (await store.historyTotals([{ account: 'main', device, instants: [a, b] }]))[0]!;
    return { connectedMs: y!.connectedMs - x!.connectedMs, downMs: y!.downMs - x!.downMs };
  };

  describe(`Rollup contract: ${name}`, () => {
    describe('running totals', () => {
      it(
        'a device without history: zero, no last change',
        withStore(async (store) => {
          expect(await store.historyTotals([{ account: 'main', device: '1', instants: [0, 100] }])).toEqual([
            [
              { connectedMs: 0, downMs: 0, last: null },
              { connectedMs: 0, downMs: 0, last: null },
            ],
          ]);
          expect(await store.historyTotals([])).toEqual([]);
        }),
      );

      it(
        'count connected and down time between any two instants; deleted and before the first change count as neither',
        withStore(async (store) => {
          const rows = [
            row('1', 100, 'connected'),
            row('1', 300, 'disconnected', 'connected'),
            row('1', 350, 'not_connected', 'disconnected'),
            row('1', 600, 'connected', 'not_connected'),
            row('1', 700, 'deleted', 'connected'),
            row('1', 800, 'not_found', 'connected'),
          ];
          for (const r of rows) await store.appendHistory(r);
          for (const [a, b] of [
            [0, 1000],
            [100, 300],
            [150, 320],
            [349, 351],
            [650, 750],
            [750, 900],
            [-50, 50],
          ] as const) {
            expect(await between(store, '1', a, b), `[${a}, ${b})`).toEqual(totalsByDefinition(rows, a, b));
          }
          const [before, at, after] = (
            await store.historyTotals([{ account: 'main', device: '1', instants: [99, 350, 10_000] }])
          )[0]!;
          expect(before!.last).toBeNull();
          expect(at!.last).toEqual({ at: 350, to: 'not_connected' });
          expect(after!.last).toEqual({ at: 800, to: 'not_found' });
        }),
      );

      it(
        'stay right when a change is written out of order, before the first, or at the time of another',
        withStore(async (store) => {
          const rows: HistoryRow[] = [];
          const add = async (r: HistoryRow) => {
            rows.push(r);
            await store.appendHistory(r);
          };
          await add(row('1', 500, 'connected'));
          await add(row('1', 900, 'disconnected'));
          await add(row('1', 700, 'not_connected')); // between two rows: the later ones shift
          await add(row('1', 200, 'connected')); // a new first row
          await add(row('1', 700, 'connected')); // a tie: recorded after the other at 700
          await store.saveDevices([
            { row: deviceRow('1'), change: row('1', 1_000, 'connected') },
            { row: deviceRow('1'), change: row('1', 600, 'disconnected') },
          ]);
          rows.push(row('1', 1_000, 'connected'), row('1', 600, 'disconnected'));
          for (const [a, b] of [
            [0, 2_000],
            [250, 650],
            [650, 950],
            [700, 701],
            [950, 1_500],
          ] as const) {
            // `rows` is in the order recorded, and the definition's sort keeps ties in it.
            expect(await between(store, '1', a, b), `[${a}, ${b})`).toEqual(totalsByDefinition(rows, a, b));
          }
        }),
      );

      it(
        'at many instants in any order, repeated, on a gap’s two edges: the same as each asked alone',
        withStore(async (store) => {
          // '1' quiet since before most instants, '2' busy, its first row between two instants; '3' no rows.
          const rows = [
            row('1', 100, 'connected'),
            row('1', 200, 'disconnected', 'connected'),
            row('2', 500, 'not_connected'),
            row('2', 560, 'connected', 'not_connected'),
            row('2', 560, 'unknown', 'connected'),
            row('2', 900, 'connected', 'unknown'),
          ];
          for (const r of rows) await store.appendHistory(r);
          const instants = [1_000, 50, 550, 549, 560, 1_000, 150, 901, 899, 0, 200, 10_000, 499, 500];
          const devices = ['1', '2', '3'].map((device) => ({ account: 'main', device, instants }));
          const together = await store.historyTotals(devices);
          for (const [k, { device }] of devices.entries()) {
            for (const [j, t] of instants.entries()) {
              const [[alone]] = (await store.historyTotals([{ account: 'main', device, instants: [t] }])) as [
                [HistoryTotals],
              ];
              expect(together[k]![j], `device ${device} at ${t}`).toEqual(alone);
              const last = rows.filter((r) => r.device === device && r.at <= t).at(-1);
              expect(alone.last, `device ${device} at ${t}`).toEqual(
                last === undefined ? null : { at: last.at, to: last.to },
              );
            }
          }
        }),
      );

      it(
        'differences survive the prune of the rows before them',
        withStore(async (store) => {
          for (let i = 0; i < 20; i++)
            await store.appendHistory(row('1', i * 100, i % 2 ? 'connected' : 'unknown'));
          const before = await between(store, '1', 1_250, 5_000);
          await store.prune(1_000);
          expect(await between(store, '1', 1_250, 5_000)).toEqual(before);
          // The oldest row left (900) is the status at the cutoff; before it nothing counts.
          expect(await between(store, '1', 0, 950)).toEqual({ connectedMs: 50, downMs: 0 });
          expect(await between(store, '1', 0, 850)).toEqual({ connectedMs: 0, downMs: 0 });
        }),
      );
    });

    describe('reads per device', () => {
      it(
        'recentHistoryAndTotals: changes newest first, at or after since, at most limit, per device in the order asked',
        withStore(async (store) => {
          for (const [d, at, to] of [
            ['1', 100, 'connected'],
            ['1', 200, 'disconnected'],
            ['1', 200, 'not_connected'],
            ['1', 300, 'connected'],
            ['2', 50, 'unknown'],
          ] as const) {
            await store.appendHistory(row(d, at, to));
          }
          const keys = [
            { account: 'main', device: '2' },
            { account: 'main', device: '3' },
            { account: 'main', device: '1' },
          ];
          const recent = async (query: { since?: number; limit: number }) =>
            (await store.recentHistoryAndTotals(keys, { ...query, totalsAt: 1_000 })).map((r) => r.changes);
          const got = await recent({ since: 150, limit: 3 });
          expect(got.map((rows) => rows.map((r) => [r.at, r.to]))).toEqual([
            [],
            [],
            [
              [300, 'connected'],
              [200, 'not_connected'],
              [200, 'disconnected'],
            ],
          ]);
          expect((await recent({ limit: 1 })).map((r) => r.map((x) => x.at))).toEqual([[50], [], [300]]);
        }),
      );

      it(
        'recentHistoryAndTotals: the totals at totalsAt as historyTotals gives them, whether or not the last changes reach it',
        withStore(async (store) => {
          // '1' changed last before totalsAt, in a tie; '2' quiet since before `since`; '3' has a
          // change after totalsAt; '4' only changes after it; '5' none at all.
          const rows = (
            [
              ['1', 100, 'connected'],
              ['1', 400, 'disconnected'],
              ['1', 400, 'not_connected'],
              ['2', 50, 'unknown'],
              ['3', 200, 'connected'],
              ['3', 300, 'deleted'],
              ['3', 900, 'not_connected'],
              ['4', 700, 'connected'],
              ['4', 800, 'not_found'],
            ] as const
          ).map(([d, at, to]) => row(d, at, to));
          for (const r of rows) await store.appendHistory(r);
          const keys = ['5', '1', '2', '3', '4'].map((device) => ({ account: 'main', device }));
          for (const query of [
            { since: 150, limit: 3 },
            { limit: 1 },
            { since: 0, limit: 0 },
            { since: 2_000, limit: 2 },
          ]) {
            for (const totalsAt of [0, 50, 399, 400, 500, 750, 1_000]) {
              const got = await store.recentHistoryAndTotals(keys, { ...query, totalsAt });
              const context = JSON.stringify({ query, totalsAt });
              expect(
                got.map((r) => r.changes),
                context,
              ).toEqual(
                keys.map((k) =>
                  rows
                    .filter((r) => r.device === k.device && r.at >= (query.since ?? Number.MIN_SAFE_INTEGER))
                    .sort((a, b) => a.at - b.at) // stable: ties stay in the order recorded
                    .reverse()
                    .slice(0, query.limit)
                    .map(({ at, from, to }) => ({ at, from, to })),
                ),
              );
              expect(
                got.map((r) => r.totals),
                context,
              ).toEqual(
                (await store.historyTotals(keys.map((k) => ({ ...k, instants: [totalsAt] })))).map(
                  (t) => t[0],
                ),
              );
            }
          }
          expect(await store.recentHistoryAndTotals([], { limit: 3, totalsAt: 0 })).toEqual([]);
        }),
      );

      it(
        'recentHistoryAndTotals: with instants, the totals at each as historyTotals gives them, in the order asked',
        withStore(async (store) => {
          // Before, at and after changes, ties, a deletion, a device with none; instants repeated
          // and out of order; more than one PostgreSQL statement takes (8).
          const rows = (
            [
              ['1', 100, 'connected'],
              ['1', 400, 'disconnected'],
              ['1', 400, 'not_connected'],
              ['1', 600, 'connected'],
              ['2', 50, 'unknown'],
              ['3', 200, 'connected'],
              ['3', 300, 'deleted'],
              ['3', 900, 'not_connected'],
            ] as const
          ).map(([d, at, to]) => row(d, at, to));
          for (const r of rows) await store.appendHistory(r);
          const keys = ['4', '1', '2', '3'].map((device) => ({ account: 'main', device }));
          for (const instants of [
            [],
            [500],
            [400, 0, 1_000, 400, 99],
            [0, 50, 100, 150, 200, 300, 399, 400, 401, 600, 899, 900, 1_000],
          ]) {
            const got = await store.recentHistoryAndTotals(keys, {
              since: 150,
              limit: 2,
              totalsAt: 700,
              instants,
            });
            const alone = await store.recentHistoryAndTotals(keys, { since: 150, limit: 2, totalsAt: 700 });
            const totals =
              instants.length === 0
                ? keys.map(() => [])
                : await store.historyTotals(keys.map((k) => ({ ...k, instants })));
            expect(got, JSON.stringify(instants)).toEqual(
              alone.map((r, i) => ({ ...r, atInstants: totals[i] })),
            );
          }
          expect(
            (await store.recentHistoryAndTotals(keys, { limit: 1, totalsAt: 700 })).map((r) => r.atInstants),
          ).toEqual([[], [], [], []]);
        }),
      );

      it(
        'historyBetween: from inclusive, until exclusive, oldest first',
        withStore(async (store) => {
          for (const at of [100, 200, 200, 300, 400]) await store.appendHistory(row('1', at, 'connected'));
          const got = await store.historyBetween(
            [
              { account: 'main', device: '1' },
              { account: 'main', device: '9' },
            ],
            200,
            400,
          );
          expect(got.map((rows) => rows.map((r) => r.at))).toEqual([[200, 200, 300], []]);
        }),
      );

      it(
        'historyPage: pages in order that together are the history, ties included; since still applies',
        withStore(async (store) => {
          const times = [100, 200, 200, 200, 300, 400, 500];
          for (const [i, at] of times.entries()) {
            await store.appendHistory(row('1', at, DEVICE_STATUSES[i % DEVICE_STATUSES.length]!));
          }
          const all = await store.history('main', '1');
          for (const limit of [1, 2, 3, 7, 50]) {
            const seen: HistoryRow[] = [];
            let page = await store.historyPage('main', '1', { limit });
            seen.push(...page.rows);
            while (page.next !== null) {
              expect(page.rows).toHaveLength(limit);
              page = await store.historyPage('main', '1', { limit, after: page.next });
              seen.push(...page.rows);
            }
            expect(seen, `limit ${limit}`).toEqual(all);
          }
          const since = await store.historyPage('main', '1', { limit: 2, since: 200 });
          expect(since.rows.map((r) => r.at)).toEqual([200, 200]);
          const rest = await store.historyPage('main', '1', { limit: 10, since: 200, after: since.next! });
          expect(rest).toEqual({ rows: all.slice(3), next: null });
          expect(await store.historyPage('main', '2', { limit: 5 })).toEqual({ rows: [], next: null });
        }),
      );
    });

    describe('sliced prune', () => {
      it(
        'deletes what one statement did, slice by slice, each device keeping its last change before the cutoff',
        withStore(async (store) => {
          // More rows than one slice looks at, over devices that change at different rates.
          const batch = [];
          for (let i = 0; i < 12_000; i++) {
            const device = String(i % 7 === 0 ? 99 : i % 5);
            batch.push({ row: deviceRow(device), change: row(device, i, i % 3 ? 'connected' : 'unknown') });
          }
          await store.saveDevices(batch);
          await store.appendHistory(row('old', -5, 'connected')); // one row, long ago: kept
          const slices: { rows: number; ms: number }[] = [];
          const result = await store.prune(10_000, { onSlice: (s) => slices.push(s) });
          expect(slices.length).toBeGreaterThan(1);
          expect(slices.reduce((n, s) => n + s.rows, 0)).toBe(result.history);
          const left = await store.historyAll(Number.MIN_SAFE_INTEGER);
          const before = left.filter((r) => r.at < 10_000);
          expect(before.map((r) => `${r.device}@${r.at}`).sort()).toEqual(
            ['old@-5', '0@9995', '1@9991', '2@9997', '3@9998', '4@9999', '99@9996'].sort(),
          );
          expect(result.history).toBe(10_000 - 6);
          expect(left.filter((r) => r.at >= 10_000)).toHaveLength(2_000);
        }),
      );

      it(
        'inside a transaction it is part of it: a rollback keeps every row',
        withStore(async (store) => {
          for (let i = 0; i < 30; i++) await store.appendHistory(row('1', i, 'connected'));
          await expect(
            store.transaction(async (tx) => {
              expect((await tx.prune(20)).history).toBe(19);
              throw new Error('undo');
            }),
          ).rejects.toThrow('undo');
          expect(await store.history('main', '1')).toHaveLength(30);
        }),
      );
    });

    describeRollupProperty(open);
  });
}
