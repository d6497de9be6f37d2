// Balance reads scheduled around status checks (SPEC §10 with §3 "Budget"), through the real
// poller, scheduler and metered gateway on a FakeClock: status checks come first — their
// timeline is the same with and without balance reads — the delivery interval stretches under
// load, the budget holds for both together, and no DOWN device is read.

import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../config/defaults.js';
import type { AccountConfig, DeviceConfig } from '../config/types.js';
import type { BalanceResult, GatewayClient } from '../gateway/client.js';
import { createLogger } from '../log.js';
import { BUDGET_WINDOW_MS } from '../monitor/budget.js';
import type { DeliveryRules } from '../monitor/delivery.js';
import type { Observation } from '../monitor/model.js';
import { Mutes } from '../monitor/mutes.js';
import type { MonitorAlert } from '../notify/events.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { AccountPoller } from './account-poller.js';
import { PollLoop } from './poll-loop.js';

const TICK_MS = 10_000;

interface Call {
  readonly kind: 'status' | 'balance';
  readonly device: string;
  readonly at: number;
}

interface Scenario {
  readonly devices: number;
  readonly intervalMs: number;
  readonly rate: number;
  readonly delivery: Partial<DeliveryRules>;
  /** Devices answering `disconnected` from this time on. */
  readonly down?: ReadonlyMap<string, number>;
  readonly reading?: (device: string, at: number) => BalanceResult;
}

const number = (i: number): string => String(100_000_000 + i);

function accountConfig(s: Scenario): AccountConfig {
  const policy = {
    ...DEFAULT_POLICY,
    intervalMs: s.intervalMs,
    delivery: { ...DEFAULT_POLICY.delivery, ...s.delivery },
  };
  const devices = Array.from({ length: s.devices }, (_, i): DeviceConfig => ({
    number: number(i),
    name: number(i),
    labels: {},
    channels: null,
    policy,
  }));
  return {
    name: 'main',
    baseUrl: 'http://gateway.invalid/api',
    token: 't',
    concurrency: 4,
    rateLimitPerMinute: s.rate,
    policy,
    devices,
  };
}

async function run(s: Scenario, minutes: number) {
  const clock = new FakeClock(1_000_000);
  const calls: Call[] = [];
  const alerts: MonitorAlert[] = [];
  const warnings: string[] = [];
  const log = createLogger('warn', {
    write: (line: string) => {
      warnings.push((JSON.parse(line) as { msg: string }).msg);
    },
  });
  const answer = async <T>(kind: Call['kind'], device: string, value: () => T, signal?: AbortSignal) => {
    calls.push({ kind, device, at: clock.now() });
    await clock.sleep(150, signal);
    return value();
  };
  const client: GatewayClient = {
    status: (device, opts) =>
      answer<Observation>(
        'status',
        device,
        () => {
          const downAt = s.down?.get(device);
          return downAt !== undefined && clock.now() >= downAt
            ? { kind: 'status', status: 'disconnected', raw: 'disconnected' }
            : { kind: 'status', status: 'connected', raw: 'connected' };
        },
        opts?.signal,
      ),
    balance: (device, opts) =>
      answer<BalanceResult>(
        'balance',
        device,
        () =>
          s.reading?.(device, clock.now()) ?? {
            kind: 'reading',
            remaining: 1000,
            successful: 10,
            pending: 0,
            failed: 0,
          },
        opts?.signal,
      ),
    connect: () => Promise.reject(new Error('not in these tests')),
    sendText: () => Promise.reject(new Error('not in these tests')),
    delete: () => Promise.reject(new Error('not in these tests')),
    close: () => Promise.resolve(),
  };
  const store = openSqliteStore(':memory:');
  const writes: Promise<void>[] = [];
  const poller = new AccountPoller(accountConfig(s), client, {
    store,
    clock,
    log,
    mutes: new Mutes(),
    commit: (batch) => {
      alerts.push(...batch.alerts);
      // What the cycle writer does with the saves: rows, history and delivery problem periods.
      writes.push(store.saveDevices(batch.saves));
    },
    recordCheck: () => undefined,
  });
  await poller.load();
  const loop = new PollLoop({ clock });
  loop.add(poller);
  const pending: Promise<unknown>[] = [];
  for (let t = 0; t < (minutes * 60_000) / TICK_MS; t++) {
    pending.push(loop.tick(clock.now() + TICK_MS));
    await clock.advance(TICK_MS);
  }
  await loop.stop();
  await Promise.allSettled(pending);
  await Promise.all(writes);
  const periods = await store.problemPeriods(0);
  await store.close();
  return { calls, alerts, warnings, periods, pace: poller.delivery.pace };
}

/** Calls in the 60 s window ending at each call, over the limit. */
function windowViolations(calls: readonly Call[], rate: number): number {
  let violations = 0;
  let lo = 0;
  for (let j = 0; j < calls.length; j++) {
    while (calls[j]!.at - calls[lo]!.at >= BUDGET_WINDOW_MS) lo++;
    if (j - lo + 1 > rate) violations++;
  }
  return violations;
}

const statusTimeline = (calls: readonly Call[]) =>
  calls.filter((c) => c.kind === 'status').map((c) => `${c.device}@${c.at}`);

describe('balance reads on the spare budget', () => {
  // 10 devices every 60 s at 30/min: a status check every 6 s; the scheduler plans one call every
  // 2.62 s (a quarter of the budget kept for out-of-band calls), so one read fits in each gap:
  // 10 reads a minute spare.
  const base: Scenario = { devices: 10, intervalMs: 60_000, rate: 30, delivery: { checkMs: 60_000 } };

  it('never moves a status check: the status timeline is identical with check: off', async () => {
    const on = await run(base, 10);
    const off = await run({ ...base, delivery: { checkMs: null } }, 10);
    expect(on.calls.some((c) => c.kind === 'balance')).toBe(true);
    expect(off.calls.some((c) => c.kind === 'balance')).toBe(false);
    expect(statusTimeline(on.calls)).toEqual(statusTimeline(off.calls));
  });

  it('reads each UP device every check when the spare budget allows, within the budget', async () => {
    // 10 reads a minute spare = 10 devices every 60 s.
    const { calls, pace } = await run(base, 10);
    expect(pace).toMatchObject({ devices: 10, effectiveIntervalMs: 60_000, stretched: false });
    const reads = calls.filter((c) => c.kind === 'balance' && c.device === number(3)).map((c) => c.at);
    const gaps = reads.slice(1).map((at, i) => at - reads[i]!);
    expect(reads.length).toBeGreaterThanOrEqual(8);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(60_000);
    expect(windowViolations(calls, 30)).toBe(0);
  });

  it('stretches the delivery interval under load — never the status one — and warns once', async () => {
    // 10 reads a minute spare for 10 devices wanting one every 10 s: each read every 60 s.
    const { calls, pace, warnings } = await run({ ...base, delivery: { checkMs: 10_000 } }, 10);
    expect(pace.stretched).toBe(true);
    expect(pace.effectiveIntervalMs).toBe(60_000);
    expect(warnings.filter((w) => w.includes("devices' balance every 10s"))).toHaveLength(1);
    const status = calls.filter((c) => c.kind === 'status' && c.device === number(0)).map((c) => c.at);
    const statusGaps = status.slice(1).map((at, i) => at - status[i]!);
    expect(Math.max(...statusGaps)).toBe(60_000);
    // Over the last 6 minutes (after start-up), 10 reads a minute: 60, within a round.
    const late = calls.filter((c) => c.kind === 'balance' && c.at >= 1_000_000 + 4 * 60_000);
    expect(late.length).toBeGreaterThanOrEqual(50);
    expect(late.length).toBeLessThanOrEqual(70);
    expect(windowViolations(calls, 30)).toBe(0);
  });

  it('reads nothing when status checks take the whole budget', async () => {
    // 10 devices every 30 s = 20/min of 30: a status check every 3 s, no 4 s gap for a read.
    const { calls, pace, warnings } = await run({ ...base, intervalMs: 30_000 }, 5);
    expect(calls.filter((c) => c.kind === 'balance')).toEqual([]);
    expect(pace.effectiveIntervalMs).toBe(Number.POSITIVE_INFINITY);
    expect(warnings.some((w) => w.includes('not at all'))).toBe(true);
  });

  it('never reads a DOWN device (nor one whose last status is not connected)', async () => {
    const downAt = 1_000_000 + 2 * 60_000;
    const { calls } = await run({ ...base, down: new Map([[number(4), downAt]]) }, 8);
    const firstBad = calls.find((c) => c.kind === 'status' && c.device === number(4) && c.at >= downAt)!;
    const readsAfter = calls.filter(
      (c) => c.kind === 'balance' && c.device === number(4) && c.at > firstBad.at,
    );
    expect(readsAfter).toEqual([]);
    // The others are still read.
    expect(
      calls.filter((c) => c.kind === 'balance' && c.device === number(5) && c.at > downAt).length,
    ).toBeGreaterThan(3);
  });

  it('turns a stall into a device.stalled alert through the poller', async () => {
    // Device 0 stalls: pending 5, nothing sent, from the start.
    const { alerts } = await run(
      {
        ...base,
        delivery: { checkMs: 60_000, stallAfterMs: 3 * 60_000 },
        reading: (device) =>
          device === number(0)
            ? { kind: 'reading', remaining: 1000, successful: 7, pending: 5, failed: 0 }
            : { kind: 'reading', remaining: 1000, successful: 7, pending: 0, failed: 0 },
      },
      8,
    );
    const stalled = alerts.filter((a) => a.kind === 'device' && a.event.type === 'device.stalled');
    expect(stalled).toHaveLength(1);
    expect(stalled[0]).toMatchObject({ device: { number: number(0) }, event: { problem: 'stalled' } });
  });

  it('records the stall period in the store: opened when it starts, closed when it ends', async () => {
    // Device 0 stalls from the start (pending 5, nothing sent) until 6 min, then sends.
    const recoverAt = 1_000_000 + 6 * 60_000;
    const { alerts, periods } = await run(
      {
        ...base,
        delivery: { checkMs: 60_000, stallAfterMs: 3 * 60_000 },
        reading: (device, at) =>
          device === number(0) && at < recoverAt
            ? { kind: 'reading', remaining: 1000, successful: 7, pending: 5, failed: 0 }
            : {
                kind: 'reading',
                remaining: 1000,
                successful: at < recoverAt ? 7 : 12,
                pending: 0,
                failed: 0,
              },
      },
      10,
    );
    const stalled = alerts.find((a) => a.kind === 'device' && a.event.type === 'device.stalled')!;
    const recovered = alerts.find(
      (a) => a.kind === 'device' && a.event.type === 'device.delivery_recovered',
    )!;
    expect(periods).toEqual([
      {
        account: 'main',
        device: number(0),
        problem: 'stalled',
        // The rules' since: the first reading of the wait, before the alert.
        startedAt: (stalled.event as { since: number }).since,
        endedAt: recovered.event.at,
      },
    ]);
    expect(periods[0]!.startedAt).toBeLessThan(stalled.event.at);
    expect(periods[0]!.endedAt).toBeGreaterThanOrEqual(recoverAt);
  });

  it('leaves a stall open while it lasts, and closes it when the device goes DOWN', async () => {
    const downAt = 1_000_000 + 7 * 60_000;
    const { periods } = await run(
      {
        ...base,
        delivery: { checkMs: 60_000, stallAfterMs: 3 * 60_000 },
        down: new Map([[number(0), downAt]]),
        reading: (device) =>
          device === number(0) || device === number(1)
            ? { kind: 'reading', remaining: 1000, successful: 7, pending: 5, failed: 0 }
            : { kind: 'reading', remaining: 1000, successful: 7, pending: 0, failed: 0 },
      },
      12,
    );
    expect(periods.map((p) => [p.device, p.problem, p.endedAt === null])).toEqual([
      [number(0), 'stalled', false],
      [number(1), 'stalled', true],
    ]);
    expect(periods[0]!.endedAt).toBeGreaterThanOrEqual(downAt);
  });
});
