// The property test of the rollups (run by rollup-contract.ts, so on every store): on random
// histories — random changes written in and out of order, random periods (starting before the
// first change, or ending before it), run records, check times, devices without any history,
// a prune now and then — the audit and the status page's uptimes computed from the rollups
// (audit/rollup.ts) equal what computeAudit makes of the raw rows, and the page's last changes
// are the rows' newest.

import { describe, expect, it } from 'vitest';
import { computeAudit, type AuditDevice } from '../../audit/compute.js';
import { auditFromRollups, uptimesAndRecent } from '../../audit/rollup.js';
import type { Period } from '../../audit/timeline.js';
import { DEVICE_STATUSES, type DeviceStatus } from '../../monitor/model.js';
import type { HistoryRow, HistoryStatus, Store } from '../store.js';
import { deviceRow, random } from './rollup-fixtures.js';

/** Histories per run: enough to meet the corner cases (raise it locally to hunt for one). */
const SEEDS = 60;

export function describeRollupProperty(open: () => Promise<Store>): void {
  describe('property: figures from the rollups equal the raw-history computation', () => {
    it('on random histories, periods, run records and check times', async () => {
      const store = await open();
      try {
        for (let seed = 1; seed <= SEEDS; seed++) {
          const account = `p${seed}`;
          const r = random(seed);
          const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
          const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
          // Some devices without any history; times on a coarse grid so ties and hits on a
          // period's edge happen.
          const numbers = Array.from({ length: int(1, 5) }, (_, i) => String(i));
          const rows: HistoryRow[] = [];
          for (const device of numbers) {
            let prev: DeviceStatus | null = r() < 0.3 ? pick(DEVICE_STATUSES) : null;
            for (let k = int(0, 14); k > 0; k--) {
              const to: HistoryStatus = r() < 0.08 ? 'deleted' : pick(DEVICE_STATUSES);
              const from = r() < 0.85 ? prev : pick([null, ...DEVICE_STATUSES]);
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
          const all = (await store.historyAll(Number.MIN_SAFE_INTEGER)).filter((h) => h.account === account);
          const context = `seed ${seed}: ${JSON.stringify({ input, rows: all })}`;

          expect(await auditFromRollups(store, input), context).toEqual(
            computeAudit({ ...input, history: all }),
          );

          const windows = [int(1, 40) * 10, int(1, 70) * 10];
          const recentQuery: { since?: number; limit: number } = {
            limit: int(0, 4),
            ...(r() < 0.3 ? {} : { since: int(0, 70) * 10 }),
          };
          const { uptimes, recent } = await uptimesAndRecent(
            store,
            devices.map((d) => ({ account, device: d.number })),
            { now, windowsMs: windows, runs, recent: recentQuery },
          );
          // historyAll is in the order recorded within a time: newest first is its reverse.
          expect(recent, context).toEqual(
            devices.map((d) =>
              all
                .filter(
                  (h) => h.device === d.number && h.at >= (recentQuery.since ?? Number.MIN_SAFE_INTEGER),
                )
                .reverse()
                .slice(0, recentQuery.limit)
                .map(({ at, from, to }) => ({ at, from, to })),
            ),
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
      } finally {
        await store.close();
      }
    }, 60_000);
  });
}
