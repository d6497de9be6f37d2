import { describe, expect, it, vi } from 'vitest';

import type { Tick } from './ticker.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { ClockStepWatch, MissedRuns, Ticker } from './ticker.js';

describe('Ticker', () => {
  it('calls back on a real node-cron match with the next match, and stops', async () => {
    let ticker: Ticker | undefined;
    const first = new Promise<Tick>((resolve) => {
      ticker = new Ticker('* * * * * *', resolve);
    });
    ticker!.start();
    expect(ticker!.running).toBe(true);
    const tick = await first;
    await ticker!.stop();
    expect(ticker!.running).toBe(false);
    expect(tick.at % 1_000).toBe(0);
    // the next second, unless this one fired late under load
    expect(tick.nextAt).toBeGreaterThan(tick.at);
    expect(tick.nextAt! % 1_000).toBe(0);
  });

  it('rejects an invalid expression', () => {
    expect(() => new Ticker('every ten seconds', () => undefined)).toThrow(/invalid cron expression/);
  });

  it('reports a run of 43,202 missed executions (a +1-day jump at 2 s) in one line', () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      const missed = new MissedRuns((m) => lines.push(m));
      const start = Date.UTC(2025, 0, 1);
      for (let i = 0; i < 43_202; i++) missed.missed(new Date(start + i * 2_000));
      expect(lines).toEqual([]);
      vi.advanceTimersByTime(1_000);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^missed 43202 scheduled ticks from 2025-01-01T00:00:00.000Z to 2025-01-02T00:00:02.000Z/,
      );
      // a later run is its own line
      missed.missed(new Date(start));
      missed.flush();
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/^missed 1 scheduled tick at /);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('ClockStepWatch', () => {
  it.each([
    ['time passing', 0, 0],
    ['NTP slewing by a second', 1_000, 0],
    ['a step back of an hour', -3_600_000, -3_600_000],
    ['a step forward of a day', 86_400_000, 86_400_000],
    ['a step just at the threshold', 2_000, 2_000],
  ])('%s', async (_what, stepMs, seen) => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const watch = new ClockStepWatch(clock);
    await clock.advance(60_000);
    expect(watch.check()).toBe(0);
    clock.stepWall(stepMs);
    await clock.advance(1_000);
    expect(watch.check()).toBe(seen);
    // reported once: the new offset is the reference from now on
    await clock.advance(1_000);
    expect(watch.check()).toBe(0);
  });
});
