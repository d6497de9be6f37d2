import { describe, expect, it } from 'vitest';

import { FakeClock } from './fake-clock.js';

describe('FakeClock', () => {
  it('wakes sleepers in time order, then creation order, and moves now to each wake time', async () => {
    const clock = new FakeClock(1_000);
    const woke: string[] = [];
    const track = (name: string, ms: number): Promise<void> =>
      clock.sleep(ms).then(() => {
        woke.push(`${name}@${clock.now()}`);
      });
    const all = Promise.all([track('c', 300), track('a', 100), track('b', 100), track('d', 500)]);
    await clock.advance(300);
    expect(woke).toEqual(['a@1100', 'b@1100', 'c@1300']);
    expect(clock.now()).toBe(1_300);
    await clock.advance(1_000);
    await all;
    expect(woke).toEqual(['a@1100', 'b@1100', 'c@1300', 'd@1500']);
    expect(clock.now()).toBe(2_300);
  });

  it('wakes a sleep started by woken code within the same advance', async () => {
    const clock = new FakeClock();
    const times: number[] = [];
    const chain = (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(10);
        times.push(clock.now());
      }
    })();
    await clock.advance(25);
    expect(times).toEqual([10, 20]);
    await clock.advance(5);
    await chain;
    expect(times).toEqual([10, 20, 30]);
  });

  it('rejects on abort and forgets the sleeper', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1_000, controller.signal);
    expect(clock.pendingSleeps).toBe(1);
    controller.abort(new Error('stop'));
    await expect(sleeping).rejects.toThrow('stop');
    expect(clock.pendingSleeps).toBe(0);
    await expect(clock.sleep(5, controller.signal)).rejects.toThrow('stop');
  });

  it('resolves non-positive sleeps at once and keeps Infinity until aborted', async () => {
    const clock = new FakeClock();
    await clock.sleep(0);
    await clock.sleep(-5);
    const controller = new AbortController();
    const forever = clock.sleep(Number.POSITIVE_INFINITY, controller.signal);
    await clock.advance(1e12);
    expect(clock.nextWakeAt()).toBeUndefined();
    controller.abort();
    await expect(forever).rejects.toThrow();
  });

  it('runUntil advances sleep by sleep until the promise settles', async () => {
    const clock = new FakeClock();
    const work = (async () => {
      await clock.sleep(100);
      await clock.sleep(200);
      return clock.now();
    })();
    await expect(clock.runUntil(work)).resolves.toBe(300);
    await expect(clock.runUntil(new Promise(() => undefined))).rejects.toThrow(/no sleeper due/);
  });
});
