import { describe, expect, it } from 'vitest';

import type { DeliveryProblem, GroupEventType, GroupingPolicy, HeldEvent } from './grouping.js';
import { cancelOut, groupDueAt, isNeverHeld, planRelease } from './grouping.js';
import { drive } from './test-support/grouping-driver.js';
import { forEverySeed, propertySeeds, rng, type Rng } from './test-support/property.js';

// Reproducible (test-support/property.ts): every run derives from a seed; a failure names it,
// and PROPERTY_SEED=<seed> npx vitest run src/monitor/grouping.property.test.ts replays just that one.
const BASE_SEED = 0x6_0b_ed;
const RUNS = 600;

const PROBLEMS: readonly DeliveryProblem[] = ['stalled', 'failing', 'balance_low'];
const OPENING: Record<DeliveryProblem, GroupEventType> = {
  stalled: 'device.stalled',
  failing: 'device.failing',
  balance_low: 'device.balance_low',
};

/** One story the monitor tells: a device's health, an account's reachability, a delivery problem. */
interface Story {
  readonly kind: 'health' | 'account' | 'delivery';
  readonly account: string;
  readonly device: string | null;
  readonly problem: DeliveryProblem | null;
  /** send_resolved off: no closings, an opening may repeat. */
  readonly noResolve: boolean;
  /** Whether receivers were last told "open" (what the state machines track). */
  told: boolean;
}

/**
 * The next event of a story, as the state machines emit them: an opening only when the
 * receiver was told "closed" (or, send_resolved off, again after a silent recovery), reminders
 * and flapping while open, not_found while open or not, a closing only after an opening.
 */
function nextEvent(r: Rng, s: Story): { type: GroupEventType; problem?: DeliveryProblem } {
  if (s.kind === 'account') {
    s.told = !s.told;
    return { type: s.told ? 'account.unreachable' : 'account.recovered' };
  }
  if (s.kind === 'delivery') {
    const problem = s.problem ?? 'stalled';
    if (!s.told) {
      s.told = true;
      return { type: OPENING[problem] };
    }
    if (r.chance(0.3)) return { type: 'device.reminder', problem };
    s.told = false;
    return { type: 'device.delivery_recovered', problem };
  }
  if (!s.told) {
    if (r.chance(0.1)) return { type: 'device.flapping' };
    s.told = true;
    return { type: r.chance(0.15) ? 'device.not_found' : 'device.down' };
  }
  const roll = r.int(0, 9);
  if (roll < 2) return { type: 'device.reminder' };
  if (roll < 3) return { type: 'device.flapping' };
  if (roll < 4) return { type: 'device.not_found' };
  if (s.noResolve) return { type: 'device.down' }; // recovered silently, down again
  s.told = false;
  return { type: 'device.up' };
}

interface Scenario {
  readonly policy: GroupingPolicy;
  readonly channels: readonly string[];
  readonly arrivals: HeldEvent[];
  readonly restarts: number[];
}

function scenario(r: Rng): Scenario {
  const policy: GroupingPolicy = {
    groupWaitMs: r.pick([0, 1_000, 30_000, 30_000]),
    groupIntervalMs: r.pick([0, 5_000, 60_000, 300_000, 300_000]),
  };
  const channels = ['a', 'b', 'c'].slice(0, r.int(1, 3));
  const stories: Story[] = [];
  for (const account of ['main', 'other'].slice(0, r.int(1, 2))) {
    stories.push({ kind: 'account', account, device: null, problem: null, noResolve: false, told: false });
    for (let d = 0; d < r.int(1, 4); d++) {
      const device = String(100 + d);
      stories.push({ kind: 'health', account, device, problem: null, noResolve: r.chance(0.1), told: false });
      for (const problem of PROBLEMS) {
        if (r.chance(0.3))
          stories.push({ kind: 'delivery', account, device, problem, noResolve: false, told: false });
      }
    }
  }
  /** Routing by device (or account): all of one story's events go to the same channels. */
  const routes = new Map<string, string[]>();
  const routeOf = (s: Story): string[] => {
    const key = `${s.account}/${s.device ?? ''}`;
    let route = routes.get(key);
    if (route === undefined) {
      route = channels.filter(() => r.chance(0.7));
      if (route.length === 0) route = [r.pick(channels)];
      routes.set(key, route);
    }
    return route;
  };

  const arrivals: HeldEvent[] = [];
  const burst = r.chance(0.5);
  let at = 0;
  const count = r.int(1, 80);
  for (let i = 0; i < count; i++) {
    // bursts of events a few seconds apart, with quiet spells; every `at` distinct
    at += r.chance(burst ? 0.9 : 0.6) ? r.int(1, 5_000) : r.int(5_000, 2 * policy.groupIntervalMs + 10_000);
    const delay = r.pick([0, 0, 1, 2_000]); // held a moment after it happened
    if (r.chance(0.05)) {
      const type = r.pick(['test', 'audit.report'] as const);
      const channel = r.pick(channels);
      arrivals.push({ channel, id: `e${i}`, type, heldAt: at + delay, at, account: null, device: null });
      continue;
    }
    const s = r.pick(stories);
    const { type, problem } = nextEvent(r, s);
    for (const channel of routeOf(s)) {
      const e: HeldEvent = {
        channel,
        id: `e${i}`,
        type,
        heldAt: at + delay,
        at,
        account: s.account,
        device: s.device,
      };
      arrivals.push(problem === undefined ? e : { ...e, problem });
    }
  }
  const restarts = Array.from({ length: r.int(0, 5) }, () => r.int(0, at + 2 * policy.groupIntervalMs));
  return { policy, channels, arrivals, restarts };
}

const BELIEF: Partial<Record<GroupEventType, 'open' | 'closed'>> = {
  'device.down': 'open',
  'device.not_found': 'open',
  'account.unreachable': 'open',
  'device.stalled': 'open',
  'device.failing': 'open',
  'device.balance_low': 'open',
  'device.up': 'closed',
  'account.recovered': 'closed',
  'device.delivery_recovered': 'closed',
};

function storyKey(e: HeldEvent): string {
  const problem =
    e.type === 'device.stalled'
      ? 'stalled'
      : e.type === 'device.failing'
        ? 'failing'
        : e.type === 'device.balance_low'
          ? 'balance_low'
          : (e.problem ?? '');
  return `${e.channel}|${e.account ?? ''}|${e.device ?? ''}|${problem}`;
}

/** What a receiver ends up believing about each story, reading events in the order they happened. */
function finalBeliefs(events: readonly HeldEvent[]): Map<string, 'open' | 'closed'> {
  const beliefs = new Map<string, 'open' | 'closed'>();
  for (const e of [...events].sort((a, b) => a.at - b.at)) {
    const belief = BELIEF[e.type];
    if (belief !== undefined) beliefs.set(storyKey(e), belief);
  }
  return beliefs;
}

const key = (e: HeldEvent): string => `${e.channel}/${e.id}`;

/** What the scenarios exercised, so a generator that stopped producing cases would show. */
const seen = { cancelled: 0, grouped: 0, alone: 0, restarts: 0 };

function check(seed: number): void {
  const r = rng(seed);
  const { policy, arrivals, restarts } = scenario(r);

  seen.restarts += restarts.length;
  const result = drive(arrivals, policy, {
    extraTimes: restarts,
    onPlan: (plan, held, channels, now) => {
      // a restart reads the same rows back (JSON, in any order) and plans the same
      const rows = JSON.parse(JSON.stringify(held)) as HeldEvent[];
      const restored = JSON.parse(JSON.stringify(channels)) as typeof channels;
      expect(planRelease(rows.reverse(), restored, now, policy)).toEqual(JSON.parse(JSON.stringify(plan)));
      // idempotent: what stays held cancels nothing more
      const gone = new Set<HeldEvent>([...plan.cancelled, ...plan.release.flatMap((x) => x.events)]);
      const left = held.filter((e) => !gone.has(e));
      for (const channel of new Set(left.map((e) => e.channel))) {
        expect(
          cancelOut(left.filter((e) => e.channel === channel && !isNeverHeld(e.type))).cancelled,
        ).toEqual([]);
      }
      if (plan.wakeAt !== null) expect(plan.wakeAt).toBeGreaterThan(now);
    },
  });

  // every held event is released or cancelled, exactly once, never both
  expect(result.held).toEqual([]);
  const released = result.delivered.flatMap((d) => d.events.map(key));
  const cancelled = result.cancelled.map(key);
  seen.cancelled += cancelled.length;
  seen.grouped += result.delivered.filter((d) => d.events.length > 1).length;
  expect(new Set(released).size).toBe(released.length);
  expect(new Set(cancelled).size).toBe(cancelled.length);
  expect(released.filter((k) => cancelled.includes(k))).toEqual([]);
  expect([...released, ...cancelled].sort()).toEqual(arrivals.map(key).sort());

  const lastGroup = new Map<string, number>();
  for (const d of result.delivered) {
    for (const e of d.events) expect(d.at).toBeGreaterThanOrEqual(e.heldAt);
    if (d.events.some((e) => isNeverHeld(e.type))) {
      // test and audit.report: alone, at once
      expect(d.events).toHaveLength(1);
      expect(d.at).toBe(d.events[0]!.heldAt);
      seen.alone++;
      continue;
    }
    const last = lastGroup.get(d.channel) ?? null;
    // never two messages of a channel less than group_interval apart, nor one before group_wait,
    // and never later than the rule says
    if (last !== null) expect(d.at - last).toBeGreaterThanOrEqual(policy.groupIntervalMs);
    const firstHeldAt = Math.min(...d.events.map((e) => e.heldAt));
    expect(d.at).toBeGreaterThanOrEqual(firstHeldAt + policy.groupWaitMs);
    expect(d.at).toBe(groupDueAt(firstHeldAt, last, policy));
    lastGroup.set(d.channel, d.at);
  }
  expect(result.channels).toEqual(
    Object.fromEntries([...lastGroup].map(([c, at]) => [c, { lastSentAt: at }])),
  );

  // cancel-out never changes what a receiver ends up believing
  const told = finalBeliefs(result.delivered.flatMap((d) => d.events));
  for (const [story, belief] of finalBeliefs(arrivals)) expect(told.get(story) ?? 'closed').toBe(belief);
}

describe('grouping (property)', () => {
  const { seeds, replay } = propertySeeds(BASE_SEED, RUNS);

  it(`holds its promises over ${seeds.length} random scenarios`, () => {
    forEverySeed(seeds, check);
    if (!replay) {
      expect(seen.cancelled).toBeGreaterThan(RUNS);
      expect(seen.grouped).toBeGreaterThan(RUNS);
      expect(seen.alone).toBeGreaterThan(RUNS / 10);
      expect(seen.restarts).toBeGreaterThan(RUNS);
    }
  });
});
