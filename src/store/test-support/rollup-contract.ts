// The history's rollups and the reads built on them (store.ts: HistoryTotals, historyPage,
// recentHistory, historyBetween, the sliced prune), held by every store. describeStoreContract
// runs it. The property test at the end checks what matters to a reader: the audit and the
// status page's uptimes computed from the rollups (audit/rollup.ts) equal what computeAudit
// makes of the raw rows, on random histories.

import { describe, expect, it } from 'vitest';
import { computeAudit, type AuditDevice } from '../../audit/compute.js';
import { auditFromRollups, uptimesOver } from '../../audit/rollup.js';
import type { Period } from '../../audit/timeline.js';
import type { DeviceStatus } from '../../monitor/model.js';
import type { HistoryRow, HistoryStatus, Store } from '../store.js';

const STATUSES: readonly DeviceStatus[] = [
  'connected',
  'disconnected',
  'not_connected',
  'not_initialized',
  'not_found',
  'unknown',
];

function row(device: string, at: number, to: HistoryStatus, from: DeviceStatus | null = null): HistoryRow {
  return { account: 'main', device, at, from, to, raw: null };
}

/** Small, seeded, so a failure names the history that caused it. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
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
        'recentHistory: the newest first, at or after since, at most limit, per device in the order asked',
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
          const got = await store.recentHistory(keys, { since: 150, limit: 3 });
          expect(got.map((rows) => rows.map((r) => [r.at, r.to]))).toEqual([
            [],
            [],
            [
              [300, 'connected'],
              [200, 'not_connected'],
              [200, 'disconnected'],
            ],
          ]);
          expect((await store.recentHistory(keys, { limit: 1 })).map((r) => r.map((x) => x.at))).toEqual([
            [50],
            [],
            [300],
          ]);
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
            await store.appendHistory(row('1', at, STATUSES[i % STATUSES.length]!));
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

    describe('property: figures from the rollups equal the raw-history computation', () => {
      it(
        'on random histories, periods, run records and check times',
        withStore(async (store) => {
          for (let seed = 1; seed <= 60; seed++) {
            const account = `p${seed}`;
            const r = random(seed);
            const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
            const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
            // Some devices without any history; times on a coarse grid so ties and hits on a
            // period's edge happen.
            const numbers = Array.from({ length: int(1, 5) }, (_, i) => String(i));
            const rows: HistoryRow[] = [];
            for (const device of numbers) {
              let prev: DeviceStatus | null = r() < 0.3 ? pick(STATUSES) : null;
              for (let k = int(0, 14); k > 0; k--) {
                const to: HistoryStatus = r() < 0.08 ? 'deleted' : pick(STATUSES);
                const from = r() < 0.85 ? prev : pick([null, ...STATUSES]);
                rows.push({ account, device, at: int(0, 60) * 10, from, to, raw: null });
                prev = to === 'deleted' ? null : to;
              }
            }
            // Written as the daemon would (in time order, batches) and as a stepped clock would not.
            const order = r() < 0.5 ? [...rows].sort((a, b) => a.at - b.at) : rows;
            for (let i = 0; i < order.length;) {
              const n = int(1, 4);
              const part = order.slice(i, i + n);
              if (r() < 0.5) {
                await store.saveDevices(
                  part.map((change) => ({ row: deviceRow(change.device, account), change })),
                );
              } else for (const c of part) await store.appendHistory(c);
              i += n;
            }
            if (r() < 0.25) await store.prune(int(0, 60) * 10);

            const runs: Period[] = Array.from({ length: int(0, 3) }, () => {
              const start = int(-5, 65) * 10;
              return { start, end: start + int(0, 30) * 10 };
            });
            const now = int(0, 70) * 10 + (r() < 0.5 ? 5 : 0);
            const since = r() < 0.2 ? now + 10 : now - int(0, 70) * 10;
            const devices: AuditDevice[] = numbers.map((number) => ({
              account,
              number,
              name: number,
              observedUntil: r() < 0.6 ? null : int(0, 70) * 10,
            }));
            const input = { devices, runningPeriods: runs, now, since, staleAfterMs: int(0, 40) * 10 };
            const all = (await store.historyAll(Number.MIN_SAFE_INTEGER)).filter(
              (h) => h.account === account,
            );
            const context = `seed ${seed}: ${JSON.stringify({ input, rows: all })}`;

            expect(await auditFromRollups(store, input), context).toEqual(
              computeAudit({ ...input, history: all }),
            );

            const windows = [int(1, 40) * 10, int(1, 70) * 10];
            const uptimes = await uptimesOver(
              store,
              devices.map((d) => ({ account, device: d.number })),
              { now, windowsMs: windows, runs },
            );
            const raw = windows.map((w) =>
              computeAudit({
                devices: devices.map((d) => ({ ...d, observedUntil: null })),
                history: all,
                runningPeriods: runs,
                now,
                since: now - w,
                staleAfterMs: 0,
              }).devices.map((d) => d.uptime),
            );
            expect(uptimes, context).toEqual(devices.map((_, i) => raw.map((w) => w[i])));
          }
        }),
        60_000,
      );
    });
  });
}

function deviceRow(device: string, account = 'main') {
  return {
    account,
    device,
    status: 'connected' as const,
    statusRaw: 'connected',
    health: 'UP' as const,
    statusSince: 0,
    lastCheckAt: 0,
    probeError: null,
    transitions: 0,
    state: {},
  };
}
