import { describe, expect, it } from 'vitest';

import type { GatewayClient } from '../gateway/client.js';
import { BUDGET_MARGIN_MS, BUDGET_WINDOW_MS, plannedSpacingMs } from '../monitor/budget.js';
import type { Observation } from '../monitor/model.js';
import { mulberry32 as prng } from '../monitor/test-support/prng.js';
import { FakeClock } from '../test-support/fake-clock.js';
import type { ScheduledDevice } from './account-scheduler.js';
import type { CheckResult, CycleReport } from './cycle.js';
import { AccountScheduler } from './account-scheduler.js';
import { MeteredGateway } from './metered-gateway.js';
import { PollLoop } from './poll-loop.js';

const CONNECTED: Observation = { kind: 'status', status: 'connected', raw: 'connected' };
const DISCONNECTED: Observation = { kind: 'status', status: 'disconnected', raw: 'disconnected' };
const TICK_MS = 10_000;
/** The least gap between calls at 30/min: the window and the transit margin, shared by 30. */
const SPACING_30 = Math.ceil((BUDGET_WINDOW_MS + BUDGET_MARGIN_MS) / 30);

interface Call {
  readonly account: string;
  readonly device: string;
  readonly at: number;
  /** The account's rate when the call started. */
  readonly rate: number;
}

interface Answer {
  readonly durationMs?: number;
  readonly result?: CheckResult;
}

interface AccountSetup {
  readonly account?: string;
  readonly devices: readonly ScheduledDevice[];
  readonly rate?: number;
  readonly concurrency?: number;
  readonly answer?: (device: string, at: number) => Answer;
}

/** A gateway client whose status answers come from `status`; /connect answers "already connected". */
function fakeClient(
  status: (device: string, signal: AbortSignal | undefined) => Promise<Observation>,
  onConnect: (device: string) => void = () => undefined,
): GatewayClient {
  return {
    status: (device, opts) => status(device, opts?.signal),
    connect: (device) => {
      onConnect(device);
      return Promise.resolve({ kind: 'already_connected', message: 'device already connected' });
    },
    balance: () => Promise.reject(new Error('not in these tests')),
    delete: () => Promise.reject(new Error('not in these tests')),
    sendText: () => Promise.reject(new Error('not in these tests')),
    close: () => Promise.resolve(),
  };
}

const NEVER = new AbortController().signal;

/**
 * A fake gateway behind the account's metered gateway: records each call (checks and /connect),
 * answers after a fake delay. The check callback is the poller's: the call on the cycle's slot.
 */
function setup(clock: FakeClock, calls: Call[], options: AccountSetup) {
  const warnings: string[] = [];
  const account = options.account ?? 'main';
  const rechecks = new Map<string, boolean>();
  const client = fakeClient(
    async (device, signal) => {
      // monotonic: the same as the wall clock unless a test steps the wall clock
      const at = clock.monotonic();
      calls.push({ account, device, at, rate: gateway.ratePerMinute });
      const answer = options.answer?.(device, at) ?? {};
      await clock.sleep(answer.durationMs ?? 200, signal);
      const result = answer.result ?? { observation: CONNECTED, recheckSoon: false };
      rechecks.set(device, result.recheckSoon);
      return result.observation;
    },
    (device) => calls.push({ account, device, at: clock.now(), rate: gateway.ratePerMinute }),
  );
  const gateway: MeteredGateway = new MeteredGateway({
    account,
    client,
    rateLimitPerMinute: options.rate ?? 30,
    clock,
    onWarn: (message) => warnings.push(message),
  });
  const scheduler = new AccountScheduler({
    account,
    devices: options.devices,
    concurrency: options.concurrency ?? 4,
    clock,
    slots: gateway,
    onWarn: (message) => warnings.push(message),
    check: async (device, signal, slot) => {
      const observation = await gateway.status(device, slot, { signal });
      return { observation, recheckSoon: rechecks.get(device) ?? false };
    },
  });
  return { scheduler, gateway, warnings };
}

function devices(count: number, intervalMs: number, first = 100_000_000, lastCheckAt?: number) {
  return Array.from({ length: count }, (_, i): ScheduledDevice => {
    const device = { number: String(first + i), intervalMs };
    return lastCheckAt === undefined ? device : { ...device, lastCheckAt };
  });
}

/** Ticks the loop every `periodMs`, `ticks` times; returns the tick promises to await after stop. */
async function runTicks(
  clock: FakeClock,
  loop: PollLoop,
  ticks: number,
  beforeTick?: (i: number) => void,
  periodMs = TICK_MS,
): Promise<Promise<unknown>[]> {
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < ticks; i++) {
    beforeTick?.(i);
    pending.push(loop.tick(clock.now() + periodMs));
    await clock.advance(periodMs);
  }
  return pending;
}

async function finish(loop: PollLoop, pending: readonly Promise<unknown>[]): Promise<void> {
  await loop.stop();
  await Promise.allSettled(pending);
}

/** Every rule of the budget over the recorded calls of one account; returns the violations. */
function budgetViolations(calls: readonly Call[]): string[] {
  const problems: string[] = [];
  let lo = 0;
  for (let j = 0; j < calls.length; j++) {
    const call = calls[j]!;
    const previous = calls[j - 1];
    const spacing = Math.ceil((BUDGET_WINDOW_MS + BUDGET_MARGIN_MS) / call.rate);
    if (previous !== undefined && call.at - previous.at < spacing) {
      problems.push(`calls at ${previous.at} and ${call.at} closer than ${spacing} ms`);
    }
    // Any window's count is at most the trailing window of its last call: checking those checks all.
    while (call.at - calls[lo]!.at >= BUDGET_WINDOW_MS) lo++;
    if (j - lo + 1 > call.rate)
      problems.push(`${j - lo + 1} calls in the 60 s up to ${call.at} (rate ${call.rate})`);
  }
  return problems;
}

function byDevice(calls: readonly Call[]): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const call of calls) {
    const list = map.get(call.device) ?? [];
    list.push(call.at);
    map.set(call.device, list);
  }
  return map;
}

describe('AccountScheduler', () => {
  it('spreads calls evenly: consecutive calls at least 60 s / N apart', async () => {
    const clock = new FakeClock(1_000_000);
    const calls: Call[] = [];
    const { scheduler } = setup(clock, calls, {
      devices: devices(40, 60_000, 100_000_000, 0),
      rate: 30,
      concurrency: 8,
      answer: () => ({ durationMs: 50 }),
    });
    const loop = new PollLoop({ clock });
    loop.add(scheduler);
    const pending = await runTicks(clock, loop, 12);
    await finish(loop, pending);
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(SPACING_30);
    // ... and not lazily either: 40 overdue devices go at the full rate
    expect(calls.length).toBeGreaterThanOrEqual(40);
    expect(calls[39]!.at - calls[0]!.at).toBe(39 * SPACING_30);
  });

  it('re-checks a device that asks for confirmation next, within one spacing gap, ahead of routine', async () => {
    const clock = new FakeClock(10_000_000);
    const calls: Call[] = [];
    const suspect = '100000040';
    let confirmations = 0;
    const { scheduler } = setup(clock, calls, {
      // 100 devices, all overdue
      devices: devices(100, 60_000, 100_000_000, 0),
      rate: 30,
      answer: (device) => {
        if (device !== suspect) return { durationMs: 300 };
        // failure_threshold 3: two confirmations after the first drop
        const recheckSoon = confirmations++ < 2;
        return { durationMs: 300, result: { observation: DISCONNECTED, recheckSoon } };
      },
    });
    const loop = new PollLoop({ clock });
    loop.add(scheduler);
    const pending = await runTicks(clock, loop, 15);
    await finish(loop, pending);

    const first = calls.findIndex((c) => c.device === suspect);
    expect(first).toBe(40);
    const next = calls.slice(first, first + 4).map((c) => c.device);
    expect(next.slice(0, 3)).toEqual([suspect, suspect, suspect]);
    expect(next[3]).not.toBe(suspect);
    for (let i = first + 1; i <= first + 2; i++) expect(calls[i]!.at - calls[i - 1]!.at).toBe(SPACING_30);
    expect(budgetViolations(calls)).toEqual([]);
  });

  it('stretches the effective interval, warns once, and still checks every device about that often', async () => {
    const clock = new FakeClock(0);
    const calls: Call[] = [];
    const random = prng(42);
    const { scheduler, warnings } = setup(clock, calls, {
      devices: devices(100, 60_000),
      rate: 30,
      concurrency: 4,
      answer: () => ({ durationMs: Math.round(100 + random() * 1_500) }),
    });
    // planned on the calls the out-of-band share leaves: 23 of 30 a minute
    const effective = 100 * plannedSpacingMs(30);
    expect(effective).toBe(262_000);
    expect(scheduler.effectiveIntervalMs).toBe(effective);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/effective interval is 262s/);

    const loop = new PollLoop({ clock });
    loop.add(scheduler);
    const pending = await runTicks(clock, loop, 360); // one hour
    await finish(loop, pending);

    expect(warnings).toHaveLength(1);
    expect(budgetViolations(calls)).toEqual([]);
    const seen = byDevice(calls);
    expect(seen.size).toBe(100);
    for (const [device, times] of seen) {
      expect(times[0], device).toBeLessThanOrEqual(effective + TICK_MS);
      for (let i = 1; i < times.length; i++) {
        expect(times[i]! - times[i - 1]!, device).toBeLessThanOrEqual(1.5 * effective);
        expect(times[i]! - times[i - 1]!, device).toBeGreaterThanOrEqual(effective);
      }
      // the run's last check is recent: nobody starves at the end either
      expect(3_600_000 - times[times.length - 1]!, device).toBeLessThanOrEqual(1.5 * effective);
    }
  });

  it('warns again only when a reload changes the effective interval', () => {
    const clock = new FakeClock(0);
    const { scheduler, warnings } = setup(clock, [], { devices: devices(100, 60_000), rate: 30 });
    expect(warnings).toHaveLength(1);
    scheduler.update({ devices: devices(100, 60_000), rateLimitPerMinute: 30, concurrency: 4 });
    expect(warnings).toHaveLength(1);
    scheduler.update({ devices: devices(120, 60_000), rateLimitPerMinute: 30, concurrency: 4 });
    expect(scheduler.effectiveIntervalMs).toBe(120 * plannedSpacingMs(30));
    expect(warnings).toHaveLength(2);
    scheduler.update({ devices: devices(10, 60_000), rateLimitPerMinute: 30, concurrency: 4 });
    expect(scheduler.effectiveIntervalMs).toBe(60_000);
    expect(warnings).toHaveLength(2);
  });

  it('spreads new devices over their first interval instead of checking them all at start', async () => {
    const clock = new FakeClock(0);
    const calls: Call[] = [];
    const { scheduler } = setup(clock, calls, { devices: devices(10, 60_000), rate: 30 });
    const loop = new PollLoop({ clock });
    loop.add(scheduler);
    const pending = await runTicks(clock, loop, 6);
    await finish(loop, pending);
    expect(calls.map((c) => c.at)).toEqual([
      0, 6_000, 12_000, 18_000, 24_000, 30_000, 36_000, 42_000, 48_000, 54_000,
    ]);
  });

  it('a reload keeps the call log and last checks, drops removed devices and spreads added ones', async () => {
    const clock = new FakeClock(0);
    const calls: Call[] = [];
    const { scheduler } = setup(clock, calls, { devices: devices(3, 60_000), rate: 2 });
    const loop = new PollLoop({ clock });
    loop.add(scheduler);
    // 2/min, one of them set aside for out-of-band calls: 3 devices are spread over 3 × 60.25 s
    let pending = await runTicks(clock, loop, 7);
    expect(calls.map((c) => [c.device, c.at])).toEqual([
      ['100000000', 0],
      ['100000001', 60_250],
    ]);
    // (what the reload does to due times: due-queue.test.ts)
    scheduler.update({
      devices: [...devices(2, 60_000, 100_000_001), { number: '7', intervalMs: 60_000 }],
      rateLimitPerMinute: 2,
      concurrency: 4,
    });
    pending = [...pending, ...(await runTicks(clock, loop, 30))];
    await finish(loop, pending);
    expect(calls.filter((c) => c.at > 70_000 && c.device === '100000000')).toEqual([]);
    expect(calls.some((c) => c.device === '7')).toBe(true);
    expect(budgetViolations(calls)).toEqual([]);
  });

  it('pauses for Retry-After after a 429 and ends the cycle', async () => {
    const clock = new FakeClock(0);
    const calls: Call[] = [];
    let answered429At: number | undefined;
    const { scheduler } = setup(clock, calls, {
      devices: devices(50, 60_000, 100_000_000, -1_000_000),
      rate: 30,
      answer: (_, at) => {
        if (at !== 2 * SPACING_30) return { durationMs: 100 };
        answered429At = at + 100;
        const observation: Observation = {
          kind: 'probe_error',
          reason: 'rate_limited',
          message: 'HTTP 429',
          httpStatus: 429,
          retryAfterMs: 25_000,
        };
        return { durationMs: 100, result: { observation, recheckSoon: false } };
      },
    });
    const reports: CycleReport[] = [];
    const loop = new PollLoop({ clock, onCycle: (r) => reports.push(r) });
    loop.add(scheduler);
    const pending = await runTicks(clock, loop, 6);
    await finish(loop, pending);
    const at429 = 2 * SPACING_30 + 100;
    const resume = at429 + 25_000;
    expect(answered429At).toBe(at429);
    expect(reports[0]).toMatchObject({ checks: 3, errors: 1, rateLimited: true });
    expect(reports[0]!.finished).toBe(at429);
    const during = calls.filter((c) => c.at > at429 && c.at < resume);
    expect(during).toEqual([]);
    // the tick at 20 s resumes as soon as the pause ends
    expect(calls.find((c) => c.at >= resume)?.at).toBe(resume);
    // the device that met the 429 went unseen: it is checked first after the pause
    expect(calls.find((c) => c.at >= resume)?.device).toBe(
      calls.find((c) => c.at === 2 * SPACING_30)?.device,
    );
  });

  it('hands an out-of-band call (a /connect) a slot before any check, and counts it', async () => {
    const clock = new FakeClock(0);
    const calls: Call[] = [];
    const { scheduler, gateway } = setup(clock, calls, {
      devices: devices(20, 60_000, 100_000_000, -1_000_000),
    });
    const loop = new PollLoop({ clock });
    loop.add(scheduler);
    const tick = loop.tick(10_000);
    await clock.advance(1_000);
    const reserved = gateway.connect('connect', { signal: NEVER });
    await clock.advance(9_000);
    await reserved;
    await finish(loop, [tick]);
    expect(calls.map((c) => [c.device, c.at])).toEqual([
      ['100000000', 0],
      ['connect', SPACING_30],
      ['100000001', 2 * SPACING_30],
      ['100000002', 3 * SPACING_30],
      ['100000003', 4 * SPACING_30],
    ]);
  });

  it('stop() ends a budget sleep at once and aborts checks in flight', async () => {
    const clock = new FakeClock(0);
    const calls: Call[] = [];
    const aborted: string[] = [];
    const client = fakeClient(async (device, signal) => {
      calls.push({ account: 'main', device, at: clock.now(), rate: 1 });
      try {
        await clock.sleep(Number.POSITIVE_INFINITY, signal);
      } catch (error) {
        aborted.push(device);
        throw error;
      }
      return CONNECTED;
    });
    const gateway = new MeteredGateway({ account: 'main', client, rateLimitPerMinute: 1, clock });
    const scheduler = new AccountScheduler({
      account: 'main',
      devices: devices(3, 60_000, 100_000_000, -1_000_000),
      concurrency: 4,
      clock,
      slots: gateway,
      check: async (device, signal, slot) => ({
        observation: await gateway.status(device, slot, { signal }),
        recheckSoon: false,
      }),
    });
    let settled = false;
    const cycle = scheduler.runCycle(new AbortController().signal, { deadline: 600_000 }).finally(() => {
      settled = true;
    });
    await clock.advance(1_000);
    expect(calls).toHaveLength(1);
    expect(settled).toBe(false);
    // What AccountPoller.stop does: the gateway turns away waiting calls, the cycle ends.
    gateway.stop();
    await scheduler.stop();
    const report = await cycle;
    expect(clock.now()).toBe(1_000);
    expect(clock.pendingSleeps).toBe(0);
    expect(aborted).toEqual(['100000000']);
    expect(report).toMatchObject({ checks: 1, errors: 0, skipped: false });
    await expect(gateway.connect('connect', { signal: NEVER })).resolves.toBeNull();
  });

  it('stop({ graceMs }) lets a check in flight finish within the grace', async () => {
    const clock = new FakeClock(0);
    const calls: Call[] = [];
    const { scheduler } = setup(clock, calls, {
      devices: devices(2, 60_000, 100_000_000, -1_000_000),
      answer: () => ({ durationMs: 3_000 }),
    });
    const cycle = scheduler.runCycle(new AbortController().signal, { deadline: 60_000 });
    await clock.advance(500);
    const stopped = scheduler.stop({ graceMs: 10_000 });
    await clock.runUntil(stopped);
    expect(clock.now()).toBe(3_000);
    expect(await cycle).toMatchObject({ checks: 1, errors: 0 });
    expect(calls).toHaveLength(1);
  });

  it('an out-of-band call waiting for its slot is given up by its own signal', async () => {
    const clock = new FakeClock(0);
    const calls: Call[] = [];
    const { gateway } = setup(clock, calls, { devices: [], rate: 1 });
    await gateway.connect('connect-1', { signal: NEVER });
    const controller = new AbortController();
    const second = gateway.connect('connect-2', { signal: controller.signal });
    await clock.advance(10_000);
    controller.abort(new Error('gave up'));
    await expect(second).resolves.toBeNull();
    // the abandoned slot was not taken
    await clock.advance(50_250);
    await gateway.connect('connect-2', { signal: NEVER });
    expect(clock.now()).toBe(60_250);
    expect(calls.map((c) => c.at)).toEqual([0, 60_250]);
  });
});

describe('PollLoop', () => {
  it('skips (and counts) a tick while an account cycle hangs, never overlapping it; other accounts go on', async () => {
    const clock = new FakeClock(0);
    const calls: Call[] = [];
    const slow = setup(clock, calls, {
      account: 'slow',
      devices: devices(1, 10_000, 100_000_000),
      answer: (_, at) => ({ durationMs: at === 0 ? 25_000 : 100 }),
    });
    const fast = setup(clock, calls, { account: 'fast', devices: devices(1, 10_000, 200_000_000) });
    const reports: CycleReport[] = [];
    const loop = new PollLoop({ clock, onCycle: (r) => reports.push(r) });
    loop.add(slow.scheduler);
    loop.add(fast.scheduler);
    const pending = await runTicks(clock, loop, 6);
    await finish(loop, pending);

    expect(reports.filter((r) => r.skipped).map((r) => r.account)).toEqual(['slow', 'slow']);
    const slowReports = reports.filter((r) => r.account === 'slow');
    expect(slowReports.map((r) => r.skipped)).toEqual([true, true, false, false, false, false]);
    const ran = slowReports.filter((r) => !r.skipped).sort((a, b) => a.started - b.started);
    for (let i = 1; i < ran.length; i++) expect(ran[i]!.started).toBeGreaterThanOrEqual(ran[i - 1]!.finished);
    expect(ran[0]).toMatchObject({ started: 0, finished: 25_000 });
    expect(slow.scheduler.lastCycleDurationMs).toBe(100);
    expect(calls.filter((c) => c.account === 'fast').map((c) => c.at)).toEqual([
      0, 10_000, 20_000, 30_000, 40_000, 50_000,
    ]);
  });

  it('runCycle refuses to overlap itself when called directly', async () => {
    const clock = new FakeClock(0);
    const { scheduler } = setup(clock, [], {
      devices: devices(1, 60_000),
      answer: () => ({ durationMs: 5_000 }),
    });
    const signal = new AbortController().signal;
    const first = scheduler.runCycle(signal);
    const second = await scheduler.runCycle(signal);
    expect(second.skipped).toBe(true);
    await clock.runUntil(first);
    expect((await first).skipped).toBe(false);
  });

  it('keeps the budget over any window for random accounts, a 429 and a reload (seeded)', async () => {
    const seeds = Array.from({ length: 30 }, (_, i) => 1_000 + i);
    for (const seed of seeds) {
      const problems = await simulate(seed);
      expect(problems, `seed ${seed}`).toEqual([]);
    }
  });
});

/** One random run; returns what went wrong, so a failure can name its seed. */
async function simulate(seed: number): Promise<string[]> {
  const random = prng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const clock = new FakeClock(1_700_000_000_000);
  const start = clock.now();
  const calls: Call[] = [];
  const reports: CycleReport[] = [];
  const loop = new PollLoop({ clock, onCycle: (r) => reports.push(r) });
  const intervals = [10_000, 30_000, 60_000, 300_000];
  const randomDevices = (count: number, first: number): ScheduledDevice[] =>
    Array.from({ length: count }, (_, i) => ({
      number: String(first + i),
      intervalMs: intervals[int(0, intervals.length - 1)]!,
    }));

  const pauses: { account: string; from: number; until: number }[] = [];
  const accounts = Array.from({ length: int(1, 3) }, (_, a) => {
    const account = `acct${a}`;
    const rate429At = start + int(60, 600) * 1_000;
    const retryAfterMs = random() < 0.7 ? int(1, 90) * 1_000 : undefined;
    let hit = false;
    const { scheduler, gateway } = setup(clock, calls, {
      account,
      devices: randomDevices(int(1, 300), 100_000_000 + a * 10_000),
      rate: int(1, 60),
      concurrency: int(1, 8),
      answer: (_, at) => {
        const durationMs = int(20, 3_000);
        if (!hit && at >= rate429At) {
          hit = true;
          const from = at + durationMs;
          pauses.push({ account, from, until: from + (retryAfterMs ?? 60_000) });
          const observation: Observation =
            retryAfterMs === undefined
              ? { kind: 'probe_error', reason: 'rate_limited', message: 'HTTP 429' }
              : { kind: 'probe_error', reason: 'rate_limited', message: 'HTTP 429', retryAfterMs };
          return { durationMs, result: { observation, recheckSoon: false } };
        }
        const recheckSoon = random() < 0.1;
        return { durationMs, result: { observation: recheckSoon ? DISCONNECTED : CONNECTED, recheckSoon } };
      },
    });
    loop.add(scheduler);
    return { account, scheduler, gateway };
  });

  const reloadTick = int(10, 60);
  const extra: Promise<unknown>[] = [];
  const pending = await runTicks(clock, loop, 90, (i) => {
    for (const { scheduler, gateway } of accounts) {
      if (i === reloadTick) {
        scheduler.update({
          devices: randomDevices(int(1, 300), 100_000_000 + int(0, 200)),
          rateLimitPerMinute: int(1, 60),
          concurrency: int(1, 8),
        });
      }
      if (random() < 0.05) extra.push(gateway.connect('connect', { signal: NEVER }));
    }
  });
  await finish(loop, [...pending, ...extra]);

  const problems: string[] = [];
  for (const { account } of accounts) {
    const mine = calls.filter((c) => c.account === account).sort((a, b) => a.at - b.at);
    problems.push(...budgetViolations(mine).map((p) => `${account}: ${p}`));
    for (const pause of pauses.filter((p) => p.account === account)) {
      for (const call of mine) {
        if (call.at > pause.from && call.at < pause.until) {
          problems.push(`${account}: call at ${call.at} during the pause ${pause.from}–${pause.until}`);
        }
      }
    }
    const cycles = reports.filter((r) => r.account === account && !r.skipped);
    for (let i = 1; i < cycles.length; i++) {
      if (cycles[i]!.started < cycles[i - 1]!.finished)
        problems.push(`${account}: cycles overlap at ${cycles[i]!.started}`);
    }
    if (mine.length === 0) problems.push(`${account}: no call at all`);
  }
  return problems;
}

describe('AccountScheduler validation', () => {
  it('rejects a bad reload without changing anything', async () => {
    const clock = new FakeClock(0);
    const calls: Call[] = [];
    const { scheduler, gateway } = setup(clock, calls, { devices: devices(2, 60_000), rate: 30 });
    const bad = [{ number: '1', intervalMs: 0 }];
    expect(() => scheduler.update({ devices: bad, rateLimitPerMinute: 10, concurrency: 4 })).toThrow(
      RangeError,
    );
    expect(() =>
      scheduler.update({ devices: devices(2, 60_000), rateLimitPerMinute: 10, concurrency: 0 }),
    ).toThrow(RangeError);
    expect(gateway.ratePerMinute).toBe(30);
    // the devices are as before: the first is due at once
    await clock.runUntil(scheduler.runCycle(NEVER, { deadline: 10_000 }));
    expect(calls.map((c) => [c.device, c.at])).toEqual([['100000000', 0]]);
  });
});
