// The run record against a real SQLite store: read at load, not at construction; each record
// keeps what other processes recorded meanwhile; a store that fails is logged, never thrown.

import { describe, expect, it } from 'vitest';
import { OPEN_RUN_META_KEY, RUNS_META_KEY } from '../audit/runs.js';
import { createLogger } from '../log.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { RunRecord } from './run-record.js';

const DAY_MS = 86_400_000;
const RETENTION_MS = 30 * DAY_MS;

function capture(): { log: ReturnType<typeof createLogger>; errors: () => string[] } {
  const lines: string[] = [];
  const log = createLogger('error', { write: (line: string) => void lines.push(line) });
  return { log, errors: () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

describe('RunRecord', () => {
  it('reads the recorded runs at load, and records this one with them', async () => {
    const store = openSqliteStore(':memory:');
    await store.setMeta(RUNS_META_KEY, JSON.stringify([[1_000, 5_000]]));
    const runs = new RunRecord(store, capture().log, 10_000);
    // Nothing read yet: only this run.
    expect(runs.periods(12_000)).toEqual([{ start: 10_000, end: 12_000 }]);
    await runs.load();
    expect(runs.periods(12_000)).toEqual([
      { start: 1_000, end: 5_000 },
      { start: 10_000, end: 12_000 },
    ]);

    await runs.record(70_000, RETENTION_MS);
    expect(JSON.parse((await store.getMeta(RUNS_META_KEY))!)).toEqual([
      [1_000, 5_000],
      [10_000, 70_000],
    ]);
    expect(await store.getMeta(OPEN_RUN_META_KEY)).toBe('10000');
    // At most once a minute, unless forced.
    await runs.record(100_000, RETENTION_MS);
    expect(JSON.parse((await store.getMeta(RUNS_META_KEY))!)).toContainEqual([10_000, 70_000]);

    // Another process (a replica that led before this one) recorded its run meanwhile: it is kept.
    const stored = JSON.parse((await store.getMeta(RUNS_META_KEY))!) as number[][];
    await store.setMeta(RUNS_META_KEY, JSON.stringify([...stored, [6_000, 8_000]]));
    await runs.record(240_000, RETENTION_MS);
    await runs.close(250_000, RETENTION_MS);
    expect(JSON.parse((await store.getMeta(RUNS_META_KEY))!)).toEqual([
      [1_000, 5_000],
      [6_000, 8_000],
      [10_000, 250_000],
    ]);
    expect(await store.getMeta(OPEN_RUN_META_KEY)).toBe('');
    expect(runs.periods(250_000)).toContainEqual({ start: 10_000, end: 250_000 });
    await store.close();
  });

  it('logs a store that fails, and never rejects', async () => {
    const store = openSqliteStore(':memory:');
    await store.close();
    const out = capture();
    const runs = new RunRecord(store, out.log, 10_000);
    await runs.load();
    await runs.record(70_000, RETENTION_MS);
    await runs.close(80_000, RETENTION_MS);
    expect(out.errors()).toEqual([
      'could not read the run periods',
      'could not record the run period',
      'could not record the run period',
    ]);
    expect(runs.periods(80_000)).toEqual([{ start: 10_000, end: 80_000 }]);
  });
});
