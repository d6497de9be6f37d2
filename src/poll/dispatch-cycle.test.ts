// Coalesced dispatch (issue 17) with the grid on: a FakeClock whose `timer` is a TimerGrid, as the
// system clock's is. The drift bound: a routine check starts no later than one grid step after its
// due time (nor more than DUE_EARLY_MS before it); cycles still end before the next tick (none
// skipped); and the checks of many accounts share few wake-ups.

import { describe, expect, it } from 'vitest';

import type { GatewayClient } from '../gateway/client.js';
import type { Clock, Timer } from '../monitor/clock.js';
import type { Observation } from '../monitor/model.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { AccountScheduler, type ScheduledDevice } from './account-scheduler.js';
import type { CycleReport } from './cycle.js';
import { DUE_EARLY_MS } from './dispatch-cycle.js';
import { MeteredGateway } from './metered-gateway.js';
import { PollLoop } from './poll-loop.js';
import { TimerGrid } from './timer-grid.js';

const STEP = 250;
const TICK_MS = 10_000;
// Not a multiple of the step: each due time falls between two boundaries, so the grid delays it.
const INTERVAL_MS = 60_070;
const CONNECTED: Observation = { kind: 'status', status: 'connected', raw: 'connected' };
const START = 1_700_000_000_000;

/** A FakeClock with coalescing timers, and a count of the underlying (exact) ones: the wake-ups. */
function gridClock(fake: FakeClock, lateMs = 0): { clock: Clock; wakeUps: () => number } {
  let wakeUps = 0;
  const grid = new TimerGrid(
    STEP,
    (ms, fn) => {
      wakeUps++;
      const controller = new AbortController();
      // Real timers fire a little late: the wake-up after the boundary.
      fake.sleep(ms + lateMs, controller.signal).then(fn, () => undefined);
      return { cancel: () => controller.abort() } satisfies Timer;
    },
    () => fake.monotonic(),
  );
  const clock: Clock = {
    now: () => fake.now(),
    monotonic: () => fake.monotonic(),
    sleep: (ms, signal) => fake.sleep(ms, signal),
    timer: (ms, fn, slackMs) => grid.timer(ms, fn, slackMs),
  };
  return { clock, wakeUps: () => wakeUps };
}

interface Call {
  readonly device: string;
  readonly at: number;
}

function account(
  clock: Clock,
  fake: FakeClock,
  name: string,
  devices: readonly ScheduledDevice[],
  calls: Call[],
  stallMs: number,
) {
  const client: GatewayClient = {
    status: async (device, opts) => {
      calls.push({ device: `${name}/${device}`, at: fake.monotonic() });
      // A stalled event loop near a cycle's end (a GC pause, a scrape): the answer is seen late.
      const nearTickEnd = (fake.now() - START) % TICK_MS > TICK_MS - 500;
      await fake.sleep(40 + (nearTickEnd ? stallMs : 0), opts?.signal);
      return CONNECTED;
    },
    connect: () => Promise.reject(new Error('not in these tests')),
    balance: () => Promise.reject(new Error('not in these tests')),
    delete: () => Promise.reject(new Error('not in these tests')),
    sendText: () => Promise.reject(new Error('not in these tests')),
    close: () => Promise.resolve(),
  };
  const gateway = new MeteredGateway({ account: name, client, rateLimitPerMinute: 30, clock });
  return new AccountScheduler({
    account: name,
    devices,
    concurrency: 4,
    clock,
    slots: gateway,
    check: async (device, signal, slot) => ({
      observation: await gateway.status(device, slot, { signal }),
      recheckSoon: false,
    }),
  });
}

interface Run {
  /** Per re-check: its start minus (the device's previous start + interval). */
  readonly late: number[];
  readonly calls: number;
  readonly starts: number;
  readonly skipped: number;
}

/** 25 accounts of 20 devices every `intervalMs` at 30/min (paced, not stretched), for `minutes`. */
async function run(intervalMs: number, minutes: number, lateMs = 0, stallMs = 0): Promise<Run> {
  const fake = new FakeClock(START);
  const { clock } = gridClock(fake, lateMs);
  const calls: Call[] = [];
  const reports: CycleReport[] = [];
  const loop = new PollLoop({ clock, onCycle: (r) => reports.push(r) });
  for (let a = 0; a < 25; a++) {
    const devices = Array.from({ length: 20 }, (_, i) => ({
      number: String(100_000_000 + a * 100 + i),
      intervalMs,
    }));
    loop.add(account(clock, fake, `acct${a}`, devices, calls, stallMs));
  }
  const ticks: Promise<unknown>[] = [];
  for (let t = 0; t < (minutes * 60_000) / TICK_MS; t++) {
    ticks.push(loop.tick(fake.now() + TICK_MS));
    await fake.advance(TICK_MS);
  }
  await loop.stop();
  await Promise.allSettled(ticks);
  const last = new Map<string, number>();
  const late: number[] = [];
  for (const call of calls) {
    const before = last.get(call.device);
    last.set(call.device, call.at);
    if (before !== undefined) late.push(call.at - (before + intervalMs));
  }
  return {
    late,
    calls: calls.length,
    starts: new Set(calls.map((c) => c.at)).size,
    skipped: reports.filter((r) => r.skipped).length,
  };
}

describe('coalesced dispatch', () => {
  it('starts every check within one grid step after its due time, in shared wake-ups, no tick skipped', async () => {
    const minutes = 6;
    const r = await run(INTERVAL_MS, minutes);
    expect(r.late.length).toBeGreaterThan(500 * (minutes - 2));
    expect(Math.min(...r.late)).toBeGreaterThanOrEqual(-DUE_EARLY_MS);
    expect(Math.max(...r.late)).toBeLessThanOrEqual(STEP);
    expect(r.skipped).toBe(0);
    // 500 devices a minute, one every 120 ms on average: without the grid each start is a wake-up
    // of its own; with it they share one per step at most.
    expect(r.starts).toBeLessThanOrEqual((minutes * 60_000) / STEP + 1);
    expect(r.starts).toBeLessThan(r.calls / 2);
  });

  it('does not slip a step every round when wake-ups come a little after their boundary', async () => {
    // The interval a multiple of the step, timers 3 ms late: each check's next due time falls
    // 3 ms after a boundary, which DUE_EARLY_MS lets it take rather than the next one.
    const r = await run(60_000, 5, 3);
    expect(Math.max(...r.late)).toBeLessThanOrEqual(3);
    expect(Math.min(...r.late)).toBeGreaterThanOrEqual(-DUE_EARLY_MS);
  });

  it('ends its cycles before the next tick when the loop stalls 250 ms at their end', async () => {
    // At 100,000 devices the loop stalled 265 ms once at the end of every account's cycle; with
    // 100 ms in hand, that skipped a tick for all 500 accounts.
    const r = await run(INTERVAL_MS, 4, 0, 250);
    expect(r.calls).toBeGreaterThan(500 * 3);
    expect(r.skipped).toBe(0);
  });
});
