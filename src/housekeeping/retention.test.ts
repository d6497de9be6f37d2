// Retention against a real SQLite store: a prune at start (a daemon restarted daily might never
// reach 03:17), history kept as the store's prune rule says, a failure logged and not thrown.

import { describe, expect, it } from 'vitest';
import type { Config } from '../config/types.js';
import { createLogger } from '../log.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { Retention } from './retention.js';

const DAY_MS = 86_400_000;
const NOW = 100 * DAY_MS;

function capture(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(line) });
  return { log, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const config = { timezone: 'UTC', retentionMs: 30 * DAY_MS } as Config;

describe('Retention', () => {
  it('prunes once at start, then daily; the notifications with the history', async () => {
    const store = openSqliteStore(':memory:');
    const change = (at: number, to: 'connected' | 'disconnected') =>
      store.appendHistory({ account: 'main', device: '1', at, from: null, to, raw: to });
    await change(NOW - 60 * DAY_MS, 'connected');
    await change(NOW - 50 * DAY_MS, 'disconnected');
    await change(NOW - DAY_MS, 'connected');
    const out = capture();
    const cutoffs: number[] = [];
    const retention = new Retention({
      store,
      pruneNotifications: (before) => {
        cutoffs.push(before);
        return Promise.resolve(3);
      },
      clock: new FakeClock(NOW),
      log: out.log,
      config: () => config,
    });
    await retention.start();
    await retention.stop();
    // The last change before the cutoff stays: the status the device had then.
    expect((await store.history('main', '1')).map((h) => h.at)).toEqual([NOW - 50 * DAY_MS, NOW - DAY_MS]);
    expect(cutoffs).toEqual([NOW - 30 * DAY_MS]);
    expect(out.lines().at(-1)).toMatchObject({ msg: 'retention pruning done', history: 1, notifications: 3 });
    await store.close();
  });

  it('prunes a long history in slices, and says how many and the longest', async () => {
    const store = openSqliteStore(':memory:');
    await store.saveDevices(
      Array.from({ length: 3_000 }, (_, i) => ({
        row: {
          account: 'main',
          device: String(i % 50),
          status: 'connected' as const,
          statusRaw: 'connected',
          health: 'UP' as const,
          statusSince: 0,
          lastCheckAt: 0,
          probeError: null,
          transitions: 0,
          state: {},
        },
        change: {
          account: 'main',
          device: String(i % 50),
          at: NOW - 40 * DAY_MS + i,
          from: null,
          to: i % 3 ? ('connected' as const) : ('disconnected' as const),
          raw: null,
        },
      })),
    );
    const out = capture();
    await new Retention({
      store,
      pruneNotifications: () => Promise.resolve(0),
      clock: new FakeClock(NOW),
      log: out.log,
      config: () => config,
    }).prune();
    // 60 changes a device, all before the cutoff: the last of each stays.
    expect(out.lines().at(-1)).toMatchObject({ msg: 'retention pruning done', history: 3_000 - 50 });
    expect(out.lines().at(-1)?.['slices']).toBeGreaterThan(1);
    expect(out.lines().at(-1)?.['longestSliceMs']).toEqual(expect.any(Number));
    expect(await store.historyAll(Number.MIN_SAFE_INTEGER)).toHaveLength(50);
    await store.close();
  });

  it('logs a store that fails, and never rejects', async () => {
    const store = openSqliteStore(':memory:');
    await store.close();
    const out = capture();
    const retention = new Retention({
      store,
      pruneNotifications: () => Promise.resolve(0),
      clock: new FakeClock(NOW),
      log: out.log,
      config: () => config,
    });
    await retention.prune();
    expect(out.lines().map((l) => [l['level'], l['msg']])).toEqual([['error', 'retention pruning failed']]);
  });
});
