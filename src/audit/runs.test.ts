import { describe, expect, it } from 'vitest';
import { MAX_RUNS, readRuns, readRunsUpTo, recordRun, RUNS_META_KEY, type MetaStore } from './runs.js';

function memory(initial?: string): MetaStore & { value: () => string | null } {
  let v: string | null = initial ?? null;
  return {
    getMeta: (key) => Promise.resolve(key === RUNS_META_KEY ? v : null),
    setMeta: (key, value) => {
      if (key === RUNS_META_KEY) v = value;
      return Promise.resolve();
    },
    value: () => v,
  };
}

describe('daemon run periods in the meta table', () => {
  it('extends the current run on every call and keeps earlier runs', async () => {
    const meta = memory();
    await recordRun(meta, { start: 100, end: 100 }, { keepAfter: 0 });
    await recordRun(meta, { start: 100, end: 160 }, { keepAfter: 0 });
    await recordRun(meta, { start: 500, end: 500 }, { keepAfter: 0 });
    await recordRun(meta, { start: 500, end: 620 }, { keepAfter: 0 });
    expect(await readRuns(meta)).toEqual([
      { start: 100, end: 160 },
      { start: 500, end: 620 },
    ]);
  });

  it('drops runs that ended before the retention cut-off', async () => {
    const meta = memory(
      JSON.stringify([
        [0, 10],
        [20, 30],
      ]),
    );
    await recordRun(meta, { start: 40, end: 50 }, { keepAfter: 25 });
    expect(await readRuns(meta)).toEqual([
      { start: 20, end: 30 },
      { start: 40, end: 50 },
    ]);
  });

  it('bounds the list', async () => {
    const meta = memory(
      JSON.stringify(Array.from({ length: MAX_RUNS + 10 }, (_, i) => [i * 10, i * 10 + 5])),
    );
    await recordRun(meta, { start: 1e9, end: 1e9 + 1 }, { keepAfter: 0 });
    const runs = await readRuns(meta);
    expect(runs).toHaveLength(MAX_RUNS);
    expect(runs.at(-1)).toEqual({ start: 1e9, end: 1e9 + 1 });
  });

  it.each(['not json', '{}', '[[1]]', '[["a", 2]]'])('reads unusable content %j as no runs', async (text) => {
    expect(await readRuns(memory(text))).toEqual([]);
  });
});

describe('readRunsUpTo: the run still going counts up to now', () => {
  function metaMap(): MetaStore {
    const m = new Map<string, string>();
    return {
      getMeta: (k) => Promise.resolve(m.get(k) ?? null),
      setMeta: (k, v) => {
        m.set(k, v);
        return Promise.resolve();
      },
    };
  }
  const MIN = 60_000;

  it.each([
    ['running, last record 50 s ago: up to now', true, 50_000, 10 * MIN + 50_000],
    ['running, recorded just now', true, 0, 10 * MIN],
    ['stopped gracefully 50 s ago: up to its stop', false, 50_000, 10 * MIN],
    ['crashed (open, but not recorded for 10 min): up to its last record', true, 10 * MIN, 10 * MIN],
  ])('%s', async (_name, open, sinceRecord, end) => {
    const meta = metaMap();
    await recordRun(meta, { start: 0, end: 0 }, { keepAfter: 0 });
    await recordRun(meta, { start: 0, end: 10 * MIN }, { keepAfter: 0, open });
    expect(await readRunsUpTo(meta, 10 * MIN + sinceRecord)).toEqual([{ start: 0, end }]);
  });

  it('only the last run is extended, and a database from before the open marker reads as before', async () => {
    const meta = metaMap();
    await recordRun(meta, { start: 0, end: MIN }, { keepAfter: 0, open: false });
    await recordRun(meta, { start: 5 * MIN, end: 6 * MIN }, { keepAfter: 0 });
    expect(await readRunsUpTo(meta, 6 * MIN + 30_000)).toEqual([
      { start: 0, end: MIN },
      { start: 5 * MIN, end: 6 * MIN + 30_000 },
    ]);
    const old = memory(JSON.stringify([[0, MIN]]));
    expect(await readRunsUpTo(old, MIN + 30_000)).toEqual([{ start: 0, end: MIN }]);
  });
});
