import { describe, expect, it } from 'vitest';
import type {
  DeliveryEvent,
  DeliveryPolicy,
  DeliveryReading,
  DeliveryState,
  DeliveryStep,
} from './delivery.js';
import {
  DEFAULT_DELIVERY_RULES,
  MAX_SAME_DAY_GAP_MS,
  deviceWentDown,
  initialDeliveryState,
  observeReading,
  problems,
  tickDelivery,
} from './delivery.js';

// Times are in ms but read as minutes: stall_after 15, check every 5.
const BASE: DeliveryPolicy = {
  checkMs: 5,
  stallAfterMs: 15,
  failedRatio: 0.2,
  minFailed: 5,
  lowBalance: 100,
  repeatIntervalMs: 0,
  sendResolved: true,
};

// A scenario is a script of steps: `0:10/5/0 15:10/5/0/50 20t 25D 30tm`.
// `AT:successful/pending/failed[/remaining]` is a reading (remaining defaults to 1000),
// `ATt` a tick, `ATD` the device going DOWN; a trailing `m` mutes that step.
// A 429 or a timeout is simply no step.
type Step =
  | {
      readonly at: number;
      readonly kind: 'reading';
      readonly reading: DeliveryReading;
      readonly muted: boolean;
    }
  | { readonly at: number; readonly kind: 'tick' | 'down'; readonly muted: boolean };

function parse(script: string): Step[] {
  return script
    .split(/\s+/)
    .filter((w) => w !== '')
    .map((w): Step => {
      const m = /^(\d+)(?::(\d+)\/(\d+)\/(\d+)(?:\/(\d+))?|(t)|(D))(m?)$/.exec(w);
      if (m === null) throw new Error(`bad step '${w}'`);
      const at = Number(m[1]);
      const muted = m[8] === 'm';
      if (m[6] !== undefined) return { at, kind: 'tick', muted };
      if (m[7] !== undefined) return { at, kind: 'down', muted };
      const reading = {
        at,
        successful: Number(m[2]),
        pending: Number(m[3]),
        failed: Number(m[4]),
        remaining: m[5] === undefined ? 1000 : Number(m[5]),
      };
      return { at, kind: 'reading', reading, muted };
    });
}

function apply(state: DeliveryState, step: Step, policy: DeliveryPolicy): DeliveryStep {
  const ctx = { now: step.at, policy, muted: step.muted };
  switch (step.kind) {
    case 'reading':
      return observeReading(state, step.reading, ctx);
    case 'tick':
      return tickDelivery(state, ctx);
    case 'down':
      return { state: deviceWentDown(state), events: [] };
  }
}

/** Runs a script; every step also runs on a JSON round-trip of the state and must agree. */
function run(
  policy: Partial<DeliveryPolicy>,
  script: string,
): { state: DeliveryState; steps: DeliveryStep[] } {
  const p = { ...BASE, ...policy };
  let state = initialDeliveryState();
  const steps: DeliveryStep[] = [];
  for (const step of parse(script)) {
    const out = apply(state, step, p);
    const restored = apply(JSON.parse(JSON.stringify(state)) as DeliveryState, step, p);
    expect(restored, `JSON round-trip before step at ${step.at}`).toEqual(out);
    steps.push(out);
    state = out.state;
  }
  return { state, steps };
}

const SHORT: Record<DeliveryEvent['problem'], string> = {
  stalled: 'stalled',
  failing: 'failing',
  balance_low: 'low',
};

/** `stalled@15` a start, `stalled+@25` a reminder, `ok:stalled@30` a recovery; '' for none. */
function show(e: DeliveryEvent): string {
  const p = SHORT[e.problem];
  if (e.type === 'device.delivery_recovered') return `ok:${p}@${e.at}`;
  return `${p}${e.reminder === true ? '+' : ''}@${e.at}`;
}

function eventsOf(policy: Partial<DeliveryPolicy>, script: string): string {
  return run(policy, script)
    .steps.flatMap((s) => s.events.map(show))
    .join(' ');
}

type Case = readonly [name: string, policy: Partial<DeliveryPolicy>, script: string, expected: string];

describe('stalled', () => {
  it.each<Case>([
    ['pending 0 never stalls', {}, '0:10/0/0 20:10/0/0 40:10/0/0', ''],
    ['pending 1, no progress for stall_after − 1 ms', {}, '0:10/1/0 14:10/1/0', ''],
    ['pending 1, no progress for exactly stall_after', {}, '0:10/1/0 15:10/1/0', 'stalled@15'],
    ['pending 1, no progress for longer', {}, '0:10/1/0 16:10/1/0', 'stalled@16'],
    ['stall_after 30', { stallAfterMs: 30 }, '0:10/1/0 15:10/1/0 29:10/1/0 30:10/1/0', 'stalled@30'],
    ['the first reading ever starts the clock', {}, '0:10/5/0 14:10/5/0 15:10/5/0', 'stalled@15'],
    ['idle for hours, then 1 pending: not instantly stalled', {}, '0:10/0/0 10000:10/1/0', ''],
    ['idle for hours: the clock starts at the first pending', {}, '0:10/0/0 10000:10/1/0 10014:10/1/0', ''],
    ['idle for hours, then stuck for stall_after', {}, '0:10/0/0 10000:10/1/0 10015:10/1/0', 'stalled@10015'],
    ['successful rising restarts the clock', {}, '0:10/5/0 10:11/5/0 24:11/5/0', ''],
    ['… which then runs out', {}, '0:10/5/0 10:11/5/0 25:11/5/0', 'stalled@25'],
    ['pending 0 stops the clock', {}, '0:10/4/0 10:10/0/4 20:10/1/4 34:10/1/4', ''],
    ['… a new wait runs from its first reading', {}, '0:10/4/0 10:10/0/4 20:10/1/4 35:10/1/4', 'stalled@35'],
    ['pending falling with nothing sent is no progress', {}, '0:10/9/0 10:10/6/3 15:10/6/3', 'stalled@15'],
    ['pending growing with nothing sent', {}, '0:10/1/0 5:10/2/0 10:10/3/0 15:10/4/0', 'stalled@15'],
    ['a stall is told once', {}, '0:10/5/0 15:10/5/0 20:10/6/0 40:10/7/0', 'stalled@15'],
    ['ends when successful rises', {}, '0:10/5/0 15:10/5/0 20:11/5/0', 'stalled@15 ok:stalled@20'],
    ['ends when pending drops to 0', {}, '0:10/5/0 15:10/5/0 20:10/0/0', 'stalled@15 ok:stalled@20'],
    [
      'recovery unsaid without send_resolved',
      { sendResolved: false },
      '0:10/5/0 15:10/5/0 20:11/5/0',
      'stalled@15',
    ],
    [
      'after recovery a new stall is told again',
      {},
      '0:10/5/0 15:10/5/0 20:11/5/0 35:11/5/0',
      'stalled@15 ok:stalled@20 stalled@35',
    ],
    ['readings missed (429) in between: the clock still runs', {}, '0:10/5/0 15:10/5/0', 'stalled@15'],
    ['a tick never judges', {}, '0:10/5/0 20t 30t', ''],
    ['a tick after the judging reading changes nothing', {}, '0:10/5/0 15:10/5/0 20t', 'stalled@15'],
  ])('%s', (_name, policy, script, expected) => {
    expect(eventsOf(policy, script)).toBe(expected);
  });

  it('carries since = the first reading of the wait', () => {
    const { steps } = run({}, '0:10/0/0 100:10/2/0 105:10/2/0 115:10/3/0 120:11/3/0');
    const [started, recovered] = steps.flatMap((s) => s.events);
    expect(started).toMatchObject({ type: 'device.stalled', problem: 'stalled', at: 115, since: 100 });
    expect(started?.reading).toEqual({ at: 115, successful: 10, pending: 3, failed: 0, remaining: 1000 });
    expect(recovered).toMatchObject({
      type: 'device.delivery_recovered',
      problem: 'stalled',
      at: 120,
      since: 100,
    });
    expect(recovered?.reading.successful).toBe(11);
  });
});

describe('failing', () => {
  it.each<Case>([
    ['failed rises by min_failed − 1 (ratio 100%)', {}, '0:0/0/0 5:0/0/4', ''],
    ['failed rises by min_failed (ratio 100%)', {}, '0:0/0/0 5:0/0/5', 'failing@5'],
    ['min_failed 10: 9 is not enough', { minFailed: 10 }, '0:0/0/0 5:0/0/9', ''],
    ['min_failed 10: 10 is', { minFailed: 10 }, '0:0/0/0 5:0/0/10', 'failing@5'],
    ['ratio just under (5 of 26)', {}, '0:0/0/0 5:21/0/5', ''],
    ['ratio exactly at (5 of 25)', {}, '0:0/0/0 5:20/0/5', 'failing@5'],
    ['ratio just over (5 of 24)', {}, '0:0/0/0 5:19/0/5', 'failing@5'],
    [
      // 0.28 × 25 is 7.000000000000001 in floating point: the rule divides instead.
      'ratio 0.28 exactly at (7 of 25), no float drift',
      { failedRatio: 0.28, minFailed: 7 },
      '0:0/0/0 5:18/0/7',
      'failing@5',
    ],
    ['ratio 0.28 just under (7 of 26)', { failedRatio: 0.28, minFailed: 7 }, '0:0/0/0 5:19/0/7', ''],
    ['ratio 0.3 exactly at (3 of 10)', { failedRatio: 0.3, minFailed: 3 }, '0:0/0/0 5:7/0/3', 'failing@5'],
    ['counts only the interval, not the day', {}, '0:1000/0/0 5:1020/0/5', 'failing@5'],
    ['the day total high, the interval clean', {}, '0:0/0/500 5:30/0/500', ''],
    ['Δfinished 0 while not failing: stays not failing', {}, '0:10/3/0 5:10/3/0', ''],
    ['Δfinished 0 while failing: keeps failing', {}, '0:0/0/0 5:0/0/5 10:0/0/5 15:0/7/5', 'failing@5'],
    [
      'ends on an interval with finished messages below the rule',
      {},
      '0:0/0/0 5:0/0/5 10:100/0/5',
      'failing@5 ok:failing@10',
    ],
    ['ends on too few failures even at 100%', {}, '0:0/0/0 5:0/0/5 10:0/0/9', 'failing@5 ok:failing@10'],
    ['told once while it goes on', {}, '0:0/0/0 5:0/0/5 10:0/0/10 15:5/0/20', 'failing@5'],
    [
      'Δfinished 0 then a clean interval',
      {},
      '0:0/0/0 5:0/0/5 10:0/0/5 15:30/0/5',
      'failing@5 ok:failing@15',
    ],
    [
      'min_failed 0 still needs a failure',
      { minFailed: 0, failedRatio: 0 },
      '0:0/0/0 5:10/0/0 10:10/0/1',
      'failing@10',
    ],
    ['the first reading judges nothing', {}, '0:0/0/50', ''],
    // A 429 at 5 means the reading at 10 compares with 0: one longer interval.
    ['a missed reading: the longer interval is judged whole', {}, '0:0/0/0 10:20/0/6', 'failing@10'],
    ['the same traffic read twice: neither half fails', {}, '0:0/0/0 5:10/0/3 10:20/0/6', ''],
    ['no recovery without send_resolved', { sendResolved: false }, '0:0/0/0 5:0/0/5 10:100/0/5', 'failing@5'],
  ])('%s', (_name, policy, script, expected) => {
    expect(eventsOf(policy, script)).toBe(expected);
  });

  it('carries since = the reading it was first seen on', () => {
    const { steps } = run({}, '0:0/0/0 5:0/0/5 10:0/0/10 15:90/0/10');
    const events = steps.flatMap((s) => s.events);
    expect(events.map((e) => [e.type, e.at, e.since])).toEqual([
      ['device.failing', 5, 5],
      ['device.delivery_recovered', 15, 5],
    ]);
  });
});

describe('low balance', () => {
  it.each<Case>([
    ['low_balance − 1', {}, '0:0/0/0/99', 'low@0'],
    ['exactly low_balance', {}, '0:0/0/0/100', ''],
    ['above', {}, '0:0/0/0/101', ''],
    ['0 left, rule on', {}, '0:0/0/0/0', 'low@0'],
    ['low_balance 0 is off', { lowBalance: 0 }, '0:0/0/0/0', ''],
    ['told once', {}, '0:0/0/0/99 5:0/0/0/50 10:0/0/0/1', 'low@0'],
    ['ends at low_balance (topped up)', {}, '0:0/0/0/99 5:0/0/0/100', 'low@0 ok:low@5'],
    ['a tick judges nothing', {}, '0:0/0/0/500 5t', ''],
    ['checked on a rollover reading too', {}, '0:50/0/0/500 5:0/0/0/20', 'low@5'],
  ])('%s', (_name, policy, script, expected) => {
    expect(eventsOf(policy, script)).toBe(expected);
  });
});

describe('day rollover', () => {
  it.each<Case>([
    // Without the rollover this would be "successful has not risen since 0" → stalled at 15.
    ['successful drops with pending: sent since midnight, no stall', {}, '0:500/5/0 15:3/5/0', ''],
    ['successful drops to 0 with pending: the clock restarts there', {}, '0:500/5/0 15:0/5/0 29:0/5/0', ''],
    ['… and runs out a full stall_after later', {}, '0:500/5/0 15:0/5/0 30:0/5/0', 'stalled@30'],
    ['failed drops: nothing judged on the interval', {}, '0:100/0/50 5:110/0/2', ''],
    [
      'failed drops: the next interval compares with the new baseline',
      {},
      '0:100/0/50 5:110/0/2 10:110/0/7',
      'failing@10',
    ],
    [
      'successful drops: the next interval compares with the new baseline',
      {},
      '0:500/0/0 5:0/0/0 10:0/0/5',
      'failing@10',
    ],
    ['both drop to 0: alerts nothing', {}, '0:500/20/60 5:0/0/0', ''],
    ['both drop, not to 0 (already busy today): alerts nothing', {}, '0:500/20/60 5:40/30/30', ''],
    ['pending dropping alone is the queue draining, not a new day', {}, '0:0/20/0 5:0/0/10', 'failing@5'],
    ['pending dropping alone keeps the stall clock', {}, '0:10/20/0 5:10/15/0 15:10/10/4', 'stalled@15'],
    [
      'rollover while stalled, nothing sent today: the stall carries on',
      {},
      '0:500/5/0 15:500/5/0 20:0/5/0 40:0/6/0',
      'stalled@15',
    ],
    ['… until something is sent', {}, '0:500/5/0 15:500/5/0 20:0/5/0 25:2/5/0', 'stalled@15 ok:stalled@25'],
    [
      'rollover while stalled, sent since midnight: recovered',
      {},
      '0:500/5/0 15:500/5/0 20:3/5/0',
      'stalled@15 ok:stalled@20',
    ],
    [
      'rollover while stalled, queue empty: recovered',
      {},
      '0:500/5/0 15:500/5/0 20:0/0/0',
      'stalled@15 ok:stalled@20',
    ],
    ['rollover while failing keeps the verdict', {}, '0:0/0/0 5:0/0/5 10:0/0/0', 'failing@5'],
    ['… the next interval decides', {}, '0:0/0/0 5:0/0/5 10:0/0/0 15:10/0/0', 'failing@5 ok:failing@15'],
    [
      'rollover while failing, then failing again: no new event',
      {},
      '0:0/0/0 5:0/0/5 10:0/0/0 15:0/0/6',
      'failing@5',
    ],
    [
      'readings more than 25 h apart straddle a day boundary',
      {},
      `0:0/0/0 ${MAX_SAME_DAY_GAP_MS + 1}:20/0/6`,
      '',
    ],
    [
      'readings exactly 25 h apart are compared',
      {},
      `0:0/0/0 ${MAX_SAME_DAY_GAP_MS}:20/0/6`,
      'failing@90000000',
    ],
  ])('%s', (_name, policy, script, expected) => {
    expect(eventsOf(policy, script)).toBe(expected);
  });

  it('takes the rollover reading as the baseline', () => {
    const { state } = run({}, '0:500/5/40 5:2/1/0');
    expect(state.last).toEqual({ at: 5, successful: 2, pending: 1, failed: 0, remaining: 1000 });
    expect(state.waitingSince).toBe(5);
    expect(problems(state)).toEqual([]);
  });
});

describe('device going DOWN', () => {
  it.each<Case>([
    ['DOWN while stalled: no recovered event', {}, '0:10/5/0 15:10/5/0 20D', 'stalled@15'],
    [
      '… and the next UP starts clean: no stall before a full stall_after',
      {},
      '0:10/5/0 15:10/5/0 20D 100:10/5/0 114:10/5/0',
      'stalled@15',
    ],
    [
      '… then a new stall is told anew',
      {},
      '0:10/5/0 15:10/5/0 20D 100:10/5/0 115:10/5/0',
      'stalled@15 stalled@115',
    ],
    [
      'DOWN while failing, then UP: the first reading judges nothing',
      {},
      '0:0/0/0 5:0/0/5 10D 50:0/0/100',
      'failing@5',
    ],
    ['DOWN while low: still low after UP is told again', {}, '0:0/0/0/50 5D 50:0/0/0/50', 'low@0 low@50'],
    [
      'DOWN with everything at once: silence',
      { repeatIntervalMs: 5 },
      '0:0/5/0/50 15:0/5/10/50 20D 25t 30t',
      'low@0 stalled@15 failing@15 low+@15',
    ],
    ['DOWN while muted, unmuted later: nothing owed', {}, '0:10/5/0 15:10/5/0m 20Dm 25t', ''],
  ])('%s', (_name, policy, script, expected) => {
    expect(eventsOf(policy, script)).toBe(expected);
  });

  it('returns to the initial state, and the same object when already fresh', () => {
    const { state } = run({}, '0:10/5/0/50 15:10/5/9/50');
    expect(problems(state)).toEqual(['stalled', 'failing', 'balance_low']);
    const down = deviceWentDown(state);
    expect(down).toEqual(initialDeliveryState());
    expect(problems(down)).toEqual([]);
    expect(deviceWentDown(down)).toBe(down);
  });
});

describe('several problems at once', () => {
  it.each<Case>([
    [
      'all three at once; within a step stalled, failing, balance_low',
      {},
      '0:10/5/0/50 15:10/5/10/50',
      'low@0 stalled@15 failing@15',
    ],
    [
      'each recovers on its own',
      {},
      '0:10/5/0/50 15:10/5/10/50 20:10/5/10/500 25:40/5/10/500 30:50/0/10/500',
      'low@0 stalled@15 failing@15 ok:low@20 ok:stalled@25 ok:failing@25',
    ],
    [
      'one ends, the others hold',
      {},
      '0:10/5/0/50 15:10/5/0/50 20:11/5/0/50',
      'low@0 stalled@15 ok:stalled@20',
    ],
  ])('%s', (_name, policy, script, expected) => {
    expect(eventsOf(policy, script)).toBe(expected);
  });

  it('problems() lists what holds, for metrics and pages', () => {
    const cases: [string, string[]][] = [
      ['0:10/0/0', []],
      ['0:10/0/0/50', ['balance_low']],
      ['0:10/5/0 15:10/5/0', ['stalled']],
      ['0:0/0/0 5:0/0/5', ['failing']],
      ['0:10/5/0/50 15:10/5/10/50', ['stalled', 'failing', 'balance_low']],
      ['0:10/5/0/50 15:10/5/10/50m', ['stalled', 'failing', 'balance_low']],
    ];
    for (const [script, expected] of cases) expect(problems(run({}, script).state), script).toEqual(expected);
  });
});

describe('reminders', () => {
  it.each<Case>([
    ['off with repeat 0', { repeatIntervalMs: 0 }, '0:10/5/0 15:10/5/0 100t 200t', 'stalled@15'],
    [
      'every repeat_interval, not before',
      { repeatIntervalMs: 10 },
      '0:10/5/0 15:10/5/0 20t 24t 25t 30:10/5/0 34t 35t',
      'stalled@15 stalled+@25 stalled+@35',
    ],
    [
      'a reading can carry the reminder',
      { repeatIntervalMs: 10 },
      '0:10/5/0 15:10/5/0 25:10/5/0',
      'stalled@15 stalled+@25',
    ],
    [
      'a late tick sends one, the cadence restarts there',
      { repeatIntervalMs: 10 },
      '0:10/5/0 15:10/5/0 52t 61t 62t',
      'stalled@15 stalled+@52 stalled+@62',
    ],
    [
      'stop with the recovery',
      { repeatIntervalMs: 10 },
      '0:10/5/0 15:10/5/0 20:11/5/0 30t 40t',
      'stalled@15 ok:stalled@20',
    ],
    [
      'each problem keeps its own cadence',
      { repeatIntervalMs: 10 },
      '0:0/0/0/50 10t 16:0/1/0/50 20t 30t 31:0/1/5/50 40t 41t',
      'low@0 low+@10 low+@20 low+@30 stalled@31 failing@31 low+@40 stalled+@41 failing+@41',
    ],
    ['for balance_low too', { repeatIntervalMs: 10 }, '0:0/0/0/50 9t 10t', 'low@0 low+@10'],
    ['for failing too', { repeatIntervalMs: 10 }, '0:0/0/0 5:0/0/5 15t', 'failing@5 failing+@15'],
    [
      'not queued while muted',
      { repeatIntervalMs: 10 },
      '0:10/5/0 15:10/5/0 25tm 35tm 40t 49t 50t',
      'stalled@15 stalled+@40 stalled+@50',
    ],
  ])('%s', (_name, policy, script, expected) => {
    expect(eventsOf(policy, script)).toBe(expected);
  });

  it('a reminder repeats the problem, its since and the last reading', () => {
    const { steps } = run({ repeatIntervalMs: 10 }, '0:10/5/0 15:10/6/0 25t');
    expect(steps[2]?.events).toEqual([
      {
        type: 'device.stalled',
        at: 25,
        problem: 'stalled',
        since: 0,
        reminder: true,
        reading: { at: 15, successful: 10, pending: 6, failed: 0, remaining: 1000 },
      },
    ]);
    expect(steps[1]?.events[0]).not.toHaveProperty('reminder');
  });
});

describe('muting', () => {
  it.each<Case>([
    ['muted: nothing emitted', {}, '0:10/5/0m 15:10/5/0m 20:10/5/0m', ''],
    [
      'the alert a silence held back goes out at the first unmuted tick',
      {},
      '0:10/5/0 15:10/5/0m 20t',
      'stalled@20',
    ],
    ['… or at the first unmuted reading', {}, '0:10/5/0 15:10/5/0m 20:10/5/0', 'stalled@20'],
    ['a problem that came and went while muted says nothing', {}, '0:10/5/0 15:10/5/0m 20:11/5/0m 25t', ''],
    [
      'a told problem that ended while muted: recovered on unmute',
      {},
      '0:10/5/0 15:10/5/0 20:11/5/0m 25tm 30t',
      'stalled@15 ok:stalled@30',
    ],
    [
      'ended and began again while muted: still told, nothing owed',
      {},
      '0:10/5/0 15:10/5/0 20:11/5/0m 35:11/5/0m 40t',
      'stalled@15',
    ],
    [
      'muted recovery, send_resolved false: silent',
      { sendResolved: false },
      '0:10/5/0 15:10/5/0 20:11/5/0m 30t',
      'stalled@15',
    ],
    [
      'several held back, all out at once',
      {},
      '0:0/5/0/50m 15:0/5/10/50m 20t',
      'stalled@20 failing@20 low@20',
    ],
    [
      'muting does not change the verdict (stall still judged while muted)',
      {},
      '0:10/5/0m 15:10/5/0m 16:10/5/0',
      'stalled@16',
    ],
  ])('%s', (_name, policy, script, expected) => {
    expect(eventsOf(policy, script)).toBe(expected);
  });

  it('a deferred alert keeps the real since', () => {
    const { steps } = run({}, '0:10/5/0 15:10/5/0m 40t');
    expect(steps[2]?.events[0]).toMatchObject({ type: 'device.stalled', at: 40, since: 0 });
  });

  it('muted steps leave the told layer alone and the judged layer the same', () => {
    const loud = run({}, '0:10/5/0/50 15:10/5/10/50').state;
    const muted = run({}, '0:10/5/0/50m 15:10/5/10/50m').state;
    expect({ ...muted, told: null }).toEqual({ ...loud, told: null });
    expect(muted.told).toEqual(initialDeliveryState().told);
  });
});

describe('switching rules off', () => {
  function twoPolicies(script1: string, p2: Partial<DeliveryPolicy>, script2: string): DeliveryStep[] {
    const first = run({}, script1);
    let state = first.state;
    const steps = [...first.steps];
    for (const step of parse(script2)) {
      const out = apply(state, step, { ...BASE, ...p2 });
      steps.push(out);
      state = out.state;
    }
    return steps;
  }

  it('check: off drops every problem silently and forgets the baseline', () => {
    const steps = twoPolicies('0:10/5/0/50 15:10/5/0/50', { checkMs: null }, '20t 25:11/0/0/500');
    expect(steps.flatMap((s) => s.events).map(show)).toEqual(['low@0', 'stalled@15']);
    expect(steps.at(-1)?.state).toEqual(initialDeliveryState());
  });

  it('low_balance: 0 ends a told balance_low silently, others stay', () => {
    const steps = twoPolicies('0:10/5/0/50 15:10/5/0/50', { lowBalance: 0 }, '20t 25:11/5/0/50');
    expect(steps.flatMap((s) => s.events).map(show)).toEqual(['low@0', 'stalled@15', 'ok:stalled@25']);
    expect(problems(steps.at(-1)!.state)).toEqual([]);
  });
});

describe('odd inputs', () => {
  it('a reading older than the last one is ignored', () => {
    const { state, steps } = run({}, '0:10/5/0 15:10/5/0 10:11/0/0');
    expect(steps[2]?.events).toEqual([]);
    expect(state.last?.at).toBe(15);
    expect(problems(state)).toEqual(['stalled']);
  });

  it('tick returns the same state object when nothing is due', () => {
    const s0 = initialDeliveryState();
    const ctx = { now: 5, policy: BASE, muted: false };
    expect(tickDelivery(s0, ctx).state).toBe(s0);
    const s1 = observeReading(
      s0,
      { at: 0, successful: 1, pending: 1, failed: 0, remaining: 1000 },
      ctx,
    ).state;
    expect(tickDelivery(s1, ctx).state).toBe(s1);
  });

  it('the defaults follow SPEC §10', () => {
    expect(DEFAULT_DELIVERY_RULES).toEqual({
      checkMs: 300_000,
      stallAfterMs: 900_000,
      failedRatio: 0.2,
      minFailed: 5,
      lowBalance: 100,
    });
  });
});
