// The budget as the gateway sees it (issue 12 item 3, issue 11 items 4 and 8): whatever the
// timers do, however the wall clock steps, whoever else calls (the CLI, a restarted daemon, the
// re-link page), no 60 s window at the gateway ever holds more than `rate_limit` calls.

import { describe, expect, it } from 'vitest';

import { CliCallBudget } from '../commands/api-budget.js';
import type { GatewayClient } from '../gateway/client.js';
import { BUDGET_WINDOW_MS, plannedSpacingMs } from '../monitor/budget.js';
import type { Clock } from '../monitor/clock.js';
import type { Observation } from '../monitor/model.js';
import { mulberry32 } from '../monitor/test-support/prng.js';
import { loadUndici } from '../net/undici.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { AccountScheduler, type ScheduledDevice } from './account-scheduler.js';
import { StoredCallLog } from './call-log.js';
import { CONNECT_EVERY_MS, MeteredGateway } from './metered-gateway.js';
import { PollLoop } from './poll-loop.js';

const CONNECTED: Observation = { kind: 'status', status: 'connected', raw: 'connected' };
const TICK_MS = 10_000;
/**
 * The longest transit the budget's margin is meant to cover, written out rather than taken from
 * BUDGET_MARGIN_MS: with a smaller margin these tests must fail.
 */
const TRANSIT_MAX_MS = 250;

/** A Clock whose sleeps end early or late by a random amount: real timers, at their worst. */
class JitteryClock implements Clock {
  constructor(
    private readonly inner: FakeClock,
    private readonly random: () => number,
    private readonly earlyMs: number,
    private readonly lateMs: number,
  ) {}
  now(): number {
    return this.inner.now();
  }
  monotonic(): number {
    return this.inner.monotonic();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isFinite(ms)) return this.inner.sleep(ms, signal);
    const jitter = -this.earlyMs + this.random() * (this.earlyMs + this.lateMs);
    return this.inner.sleep(Math.max(0, Math.round(ms + jitter)), signal);
  }
}

interface Arrival {
  readonly device: string;
  /** When the call started (monotonic). */
  readonly start: number;
  /** When the gateway counted it: start + transit. */
  readonly arrival: number;
}

/** The most calls any half-open window (t - 60 s, t] holds; checking at each call's time suffices. */
function maxInAnyWindow(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= BUDGET_WINDOW_MS) lo++;
    max = Math.max(max, hi - lo + 1);
  }
  return max;
}

/** The simulator's way: fixed windows of exactly 60 s, from a given phase. */
function maxInFixedWindows(times: readonly number[], phase: number): number {
  const counts = new Map<number, number>();
  for (const t of times) {
    const w = Math.floor((t - phase) / BUDGET_WINDOW_MS);
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return Math.max(0, ...counts.values());
}

interface Harness {
  readonly gateway: MeteredGateway;
  readonly scheduler: AccountScheduler;
}

/**
 * One process's view of an account: its gateway (with an optional stored call log, restored into
 * the budget as AccountPoller.load does) and scheduler.
 */
async function account(
  clock: Clock,
  arrivals: Arrival[],
  options: {
    readonly devices: readonly ScheduledDevice[];
    readonly rate: number;
    readonly transit?: () => number;
    readonly durationMs?: () => number;
    readonly recheck?: () => boolean;
    readonly rateLimited?: () => boolean;
    readonly store?: Store;
    readonly caller?: string;
  },
): Promise<Harness> {
  const transit = options.transit ?? (() => 0);
  const record = (device: string): void => {
    const start = clock.monotonic();
    arrivals.push({ device, start, arrival: start + transit() });
  };
  const client: GatewayClient = {
    balance: () => Promise.reject(new Error('not in these tests')),
    status: async (device, opts) => {
      record(device);
      await clock.sleep(options.durationMs?.() ?? 200, opts?.signal);
      if (options.rateLimited?.() === true) {
        return { kind: 'probe_error', reason: 'rate_limited', message: 'HTTP 429', retryAfterMs: 5_000 };
      }
      return CONNECTED;
    },
    connect: async (device) => {
      record(`qr:${device}`);
      await clock.sleep(300);
      return { kind: 'already_connected', message: 'device already connected' };
    },
    delete: () => Promise.reject(new Error('not in these tests')),
    sendText: () => Promise.reject(new Error('not in these tests')),
    close: () => Promise.resolve(),
  };
  const callLog =
    options.store === undefined
      ? undefined
      : new StoredCallLog({
          store: options.store,
          account: 'main',
          clock,
          origin: 'daemon',
          caller: options.caller ?? 'daemon',
        });
  const gateway = new MeteredGateway({
    account: 'main',
    client,
    rateLimitPerMinute: options.rate,
    clock,
    ...(callLog === undefined ? {} : { callLog }),
  });
  await gateway.restoreBudget();
  const scheduler = new AccountScheduler({
    account: 'main',
    devices: options.devices,
    concurrency: 4,
    clock,
    slots: gateway,
    check: async (device, signal, slot) => ({
      observation: await gateway.status(device, slot, { signal }),
      recheckSoon: options.recheck?.() ?? false,
    }),
  });
  return { gateway, scheduler };
}

function devices(count: number, intervalMs: number, first = 100_000_000): ScheduledDevice[] {
  return Array.from({ length: count }, (_, i) => ({ number: String(first + i), intervalMs }));
}

/** Ticks like node-cron: the next tick's wall time, every TICK_MS of real (monotonic) time. */
async function run(
  clock: FakeClock,
  loop: PollLoop,
  ms: number,
  during?: (elapsed: number) => void,
): Promise<void> {
  const pending: Promise<unknown>[] = [];
  for (let elapsed = 0; elapsed < ms; elapsed += TICK_MS) {
    during?.(elapsed);
    pending.push(loop.tick(clock.now() + TICK_MS));
    await clock.advance(TICK_MS);
  }
  await loop.stop();
  await Promise.allSettled(pending);
}

function gapsOf(arrivals: readonly Arrival[], device: string): number[] {
  const times = arrivals.filter((a) => a.device === device).map((a) => a.start);
  return times.slice(1).map((t, i) => t - times[i]!);
}

describe('the budget at the gateway', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'holds in every 60 s window with jittery timers and random transit (seed %i)',
    async (seed) => {
      const random = mulberry32(seed);
      const fake = new FakeClock(1_700_000_000_000);
      // timers up to 300 ms early, and up to 5 ms (tight) or 1.5 s (sloppy) late; transit anywhere
      // within the margin
      const clock = new JitteryClock(fake, random, 300, seed <= 3 ? 5 : 1_500);
      const rate = [30, 50, 7, 60, 13, 2, 30, 45][seed - 1]!;
      const arrivals: Arrival[] = [];
      const { gateway, scheduler } = await account(clock, arrivals, {
        devices: devices(25 + Math.floor(random() * 50), 30_000 + Math.floor(random() * 60_000)),
        rate,
        transit: () => random() * TRANSIT_MAX_MS,
        durationMs: () => Math.round(50 + random() * 3_000),
        // confirmations go at the full rate: half the time the budget is the limit
        recheck: () => random() < (seed % 2 === 0 ? 0.1 : 0.6),
        rateLimited: () => random() < 0.01,
      });
      const loop = new PollLoop({ clock });
      loop.add(scheduler);
      const qrs: Promise<unknown>[] = [];
      await run(fake, loop, 17 * 60_000, () => {
        // now and then a re-link page, and the wall clock stepped an hour either way
        if (random() < 0.3) qrs.push(gateway.connect(String(random()), { signal: AbortSignal.timeout(1) }));
        if (random() < 0.02) fake.stepWall(random() < 0.5 ? -3_600_000 : 3_600_000);
      });
      gateway.stop();
      await fake.runUntil(Promise.allSettled(qrs));

      expect(arrivals.length).toBeGreaterThan(Math.min(100, rate * 15));
      expect(maxInAnyWindow(arrivals.map((a) => a.start))).toBeLessThanOrEqual(rate);
      expect(maxInAnyWindow(arrivals.map((a) => a.arrival))).toBeLessThanOrEqual(rate);
      for (const phase of [0, 17_000, 59_999]) {
        expect(
          maxInFixedWindows(
            arrivals.map((a) => a.arrival),
            phase,
          ),
        ).toBeLessThanOrEqual(rate);
      }
    },
  );

  it('counts a transit as long as the margin: a call at the window edge still fits', async () => {
    // Calls start exactly as granted; every 60th arrives the whole margin late and the rest at
    // once, so a late one and the one 30 calls later (early) are the worst case for "start + transit".
    const clock = new FakeClock(0);
    const arrivals: Arrival[] = [];
    let n = 0;
    const { scheduler } = await account(clock, arrivals, {
      devices: devices(200, 60_000),
      rate: 30,
      transit: () => (n++ % 60 === 0 ? TRANSIT_MAX_MS : 0),
      durationMs: () => 10,
      // every answer asks for a confirmation: checks go at the full rate
      recheck: () => true,
    });
    const loop = new PollLoop({ clock });
    loop.add(scheduler);
    await run(clock, loop, 10 * 60_000);
    expect(maxInAnyWindow(arrivals.map((a) => a.arrival))).toBeLessThanOrEqual(30);
  });
});

describe('a wall clock stepped in the middle of a run', () => {
  it.each([
    ['back', -3_600_000],
    ['forward', 3_600_000],
  ])('an hour %s: checks keep their cadence and the budget holds', async (_, step) => {
    const clock = new FakeClock(1_700_000_000_000);
    const arrivals: Arrival[] = [];
    const { scheduler } = await account(clock, arrivals, { devices: devices(10, 60_000), rate: 30 });
    const loop = new PollLoop({ clock });
    loop.add(scheduler);
    await run(clock, loop, 20 * 60_000, (elapsed) => {
      if (elapsed === 7 * 60_000) clock.stepWall(step);
    });
    for (const number of devices(10, 60_000).map((d) => d.number)) {
      const gaps = gapsOf(arrivals, number);
      expect(gaps.length, number).toBeGreaterThanOrEqual(18);
      // due every 60 s, looked for every 10 s tick
      for (const gap of gaps) {
        expect(gap, number).toBeGreaterThanOrEqual(60_000);
        expect(gap, number).toBeLessThanOrEqual(60_000 + TICK_MS);
      }
    }
    expect(maxInAnyWindow(arrivals.map((a) => a.start))).toBeLessThanOrEqual(30);
  });
});

describe('out-of-band calls (QR codes)', () => {
  it('a flood of QR requests keeps routine checks at their interval and within the share', async () => {
    const clock = new FakeClock(0);
    const arrivals: Arrival[] = [];
    // 22 devices at 60 s fit in what the out-of-band share leaves (23 a minute at 30/min)
    const fleet = devices(22, 60_000);
    expect(22 * plannedSpacingMs(30)).toBeLessThanOrEqual(60_000);
    const { gateway, scheduler } = await account(clock, arrivals, { devices: fleet, rate: 30 });
    expect(scheduler.effectiveIntervalMs).toBe(60_000);
    const loop = new PollLoop({ clock });
    loop.add(scheduler);
    const throttled: number[] = [];
    const qrs: Promise<unknown>[] = [];
    // 12 re-link pages, each asking every second for 5 minutes: 720 asks a minute
    const asking = (async () => {
      for (let s = 0; s < 300; s++) {
        for (let d = 0; d < 12; d++) {
          qrs.push(
            gateway.connect(fleet[d]!.number, { signal: AbortSignal.timeout(60_000) }).then((r) => {
              if (r?.kind === 'throttled') throttled.push(r.retryInMs);
            }),
          );
        }
        await clock.sleep(1_000);
      }
    })();
    await run(clock, loop, 6 * 60_000);
    gateway.stop();
    // a /connect may still be in flight: let the fake time run until every ask is answered
    await clock.runUntil(Promise.allSettled([asking, ...qrs]));

    for (const device of fleet) {
      for (const gap of gapsOf(arrivals, device.number)) {
        expect(gap, device.number).toBeLessThanOrEqual(60_000 + TICK_MS);
      }
    }
    const qrTimes = arrivals.filter((a) => a.device.startsWith('qr:')).map((a) => a.start);
    expect(qrTimes.length).toBeGreaterThan(0);
    expect(maxInAnyWindow(qrTimes)).toBeLessThanOrEqual(7);
    expect(maxInAnyWindow(arrivals.map((a) => a.start))).toBeLessThanOrEqual(30);
    // the per-device cap (and sharing the call in progress) answered 3,600 asks with few calls
    expect(qrTimes.length).toBeLessThanOrEqual(7 * 6);
    expect(throttled.length).toBeGreaterThan(0);
    expect(Math.max(...throttled)).toBeLessThanOrEqual(CONNECT_EVERY_MS);
    // and one device never got two /connect within the cap
    for (const device of fleet.slice(0, 12)) {
      const times = arrivals.filter((a) => a.device === `qr:${device.number}`).map((a) => a.start);
      for (let i = 1; i < times.length; i++) {
        expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(CONNECT_EVERY_MS);
      }
    }
  });
});

describe('the call log in the store', () => {
  it('a restarted daemon counts the calls of the last window; a second process sees the first', async () => {
    // A CLI reservation first loads undici (real I/O): loaded here, before fake time runs, a slow
    // disk cannot leave a reservation waiting on it when the run ends and nothing sleeps.
    await loadUndici();
    const store = openSqliteStore(':memory:');
    try {
      const clock = new FakeClock(1_700_000_000_000);
      const arrivals: Arrival[] = [];
      const first = await account(clock, arrivals, {
        devices: devices(60, 60_000),
        rate: 30,
        store,
        caller: 'daemon-1',
        durationMs: () => 10,
      });
      let loop = new PollLoop({ clock });
      loop.add(first.scheduler);
      await run(clock, loop, 70_000);
      // kill -9: nothing of the first one's memory survives; the second starts at once
      const before = arrivals.length;
      expect(before).toBeGreaterThanOrEqual(25);
      const second = await account(clock, arrivals, {
        devices: devices(60, 60_000),
        rate: 30,
        store,
        caller: 'daemon-2',
        durationMs: () => 10,
      });
      // CLI commands in other processes, reserving from the same log while the daemon runs
      const told: string[] = [];
      const cli = (caller: string) =>
        new CliCallBudget({
          store,
          account: 'main',
          ratePerMinute: 30,
          tell: (line) => told.push(line),
          clock,
          caller,
        });
      const cliCalls: Promise<void>[] = [];
      const cliCall = (budget: CliCallBudget, kind: 'check' | 'out_of_band'): void => {
        cliCalls.push(
          budget.reserve(kind).then(() => {
            arrivals.push({ device: 'cli', start: clock.monotonic(), arrival: clock.monotonic() });
          }),
        );
      };
      cliCall(cli('cli-1'), 'out_of_band');
      loop = new PollLoop({ clock });
      loop.add(second.scheduler);
      const live = cli('cli-2');
      await run(clock, loop, 5 * 60_000, (elapsed) => {
        // a `status --live` of 3 devices every 30 s
        if (elapsed % 30_000 === 0) for (let i = 0; i < 3; i++) cliCall(live, 'check');
      });
      await clock.runUntil(Promise.all(cliCalls));
      expect(told.some((line) => /^waiting \d+ s for the account's API budget/.test(line))).toBe(true);
      expect(arrivals.length - before).toBeGreaterThan(100);
      expect(maxInAnyWindow(arrivals.map((a) => a.start))).toBeLessThanOrEqual(30);
      // bounded: the log keeps about two minutes
      expect((await store.apiCalls('main')).length).toBeLessThanOrEqual(4 * 30 + 5);
    } finally {
      await store.close();
    }
  });
});
