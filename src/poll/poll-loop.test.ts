import { describe, expect, it } from 'vitest';
import { FakeClock } from '../test-support/fake-clock.js';
import type { CycleReport, CycleRunner } from './cycle.js';
import { PollLoop } from './poll-loop.js';

/** A cycle that runs until its deadline or its signal, whichever comes first. */
class WaitingRunner implements CycleRunner {
  readonly signals: AbortSignal[] = [];
  constructor(
    readonly account: string,
    private readonly clock: FakeClock,
  ) {}
  async runCycle(signal: AbortSignal, options: { deadline?: number } = {}): Promise<CycleReport> {
    this.signals.push(signal);
    const started = this.clock.monotonic();
    await this.clock.sleep((options.deadline ?? started + 10_000) - started, signal).catch(() => undefined);
    const finished = this.clock.monotonic();
    return {
      account: this.account,
      started,
      finished,
      checks: 0,
      spareCalls: 0,
      urgentChecks: 0,
      errors: 0,
      rateLimited: false,
      deferred: 0,
      skipped: false,
    };
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

describe('PollLoop.interrupt', () => {
  it('ends the running cycles at once and keeps the accounts for the next tick', async () => {
    const clock = new FakeClock(0);
    const loop = new PollLoop({ clock });
    const runner = new WaitingRunner('main', clock);
    loop.add(runner);
    const first = loop.tick();
    await Promise.resolve();
    loop.interrupt();
    const reports = await first;
    // Ended by the interrupt, at time 0, not at its 10 s deadline.
    expect(reports.map((r) => r.finished)).toEqual([0]);
    expect(runner.signals[0]!.aborted).toBe(true);
    const second = loop.tick();
    await clock.advance(10_000);
    expect((await second).map((r) => r.finished)).toEqual([10_000]);
    expect(runner.signals[1]!.aborted).toBe(false);
  });

  it('after stop, ticks run nothing', async () => {
    const clock = new FakeClock(0);
    const loop = new PollLoop({ clock });
    const runner = new WaitingRunner('main', clock);
    loop.add(runner);
    await loop.stop();
    expect(await loop.tick()).toEqual([]);
    expect(runner.signals).toEqual([]);
  });
});
