import { describe, expect, it } from 'vitest';
import type { Policy } from '../config/types.js';
import { DEFAULT_DELIVERY_RULES } from './delivery.js';
import type { DeviceContext, DeviceState, DeviceStep } from './device-state.js';
import {
  actsOnTime,
  initialDeviceState,
  observeDevice,
  observeDeviceByRules,
  tickDevice,
} from './device-state.js';
import type { DeviceStatus, Observation } from './model.js';
import { forEverySeed, propertySeeds, rng, type Rng } from './test-support/property.js';

// Reproducible (test-support/property.ts): every run derives from a seed; a failure names it,
// and PROPERTY_SEED=<seed> npx vitest run src/monitor/device-state.property.test.ts replays just that one.
const BASE_SEED = 0x5eed_2024;
const RUNS = 3000;

type Input = { readonly kind: 'tick' } | Observation;
interface Scenario {
  readonly policy: Policy;
  readonly steps: readonly { readonly at: number; readonly input: Input; readonly muted: boolean }[];
}

const STATUSES: readonly [DeviceStatus, string][] = [
  ['connected', 'connected'],
  ['disconnected', 'disconnected'],
  ['not_connected', 'not connected'],
  ['not_initialized', 'not initialized'],
  ['unknown', 'maintenance'],
];

function scenario(r: Rng): Scenario {
  const policy: Policy = {
    intervalMs: 60_000,
    timeoutMs: 10_000,
    failureThreshold: r.int(1, 3),
    successThreshold: r.int(1, 3),
    repeatIntervalMs: r.pick([0, 0, 50, 200, 1000]),
    sendResolved: r.chance(0.7),
    flapThreshold: r.pick([0, 2, 3, 4, 5]),
    flapWindowMs: r.pick([0, 100, 500, 2000]),
    reconnect: 'link',
    delivery: DEFAULT_DELIVERY_RULES,
  };
  // Long healthy or unhealthy spells make thresholds and flapping actually trigger.
  const pConnected = r.pick([0.2, 0.5, 0.8]);
  const steps: Scenario['steps'][number][] = [];
  let at = r.int(0, 1_000_000);
  let muted = r.chance(0.2);
  for (let i = r.int(5, 80); i > 0; i--) {
    at += r.chance(0.3) ? r.int(0, 300) : r.pick([0, 1, 10, 30, 60, 200, 1000, 5000]);
    if (r.chance(0.1)) muted = !muted;
    let input: Input;
    const roll = r.int(0, 99);
    if (roll < 15) input = { kind: 'tick' };
    else if (roll < 30)
      input = {
        kind: 'probe_error',
        reason: r.pick(['timeout', 'http_5xx', 'rate_limited'] as const),
        message: 'x',
      };
    else {
      const [status, raw] = r.chance(pConnected) ? STATUSES[0]! : r.pick(STATUSES.slice(1));
      input = { kind: 'status', status, raw };
    }
    steps.push({ at, input, muted });
  }
  return { policy, steps };
}

function step(state: DeviceState, input: Input, ctx: DeviceContext): DeviceStep {
  return input.kind === 'tick' ? tickDevice(state, ctx) : observeDevice(state, input, ctx);
}

type Mode = 'as-given' | 'never-muted' | 'roundtrip';

function play(sc: Scenario, mode: Mode): { states: DeviceState[]; steps: DeviceStep[] } {
  let state = initialDeviceState();
  const states: DeviceState[] = [];
  const steps: DeviceStep[] = [];
  for (const s of sc.steps) {
    // A restart between any two steps: the store hands back what JSON made of the state.
    if (mode === 'roundtrip') state = JSON.parse(JSON.stringify(state)) as DeviceState;
    const out = step(state, s.input, {
      now: s.at,
      policy: sc.policy,
      muted: mode === 'never-muted' ? false : s.muted,
    });
    states.push(out.state);
    steps.push(out);
    state = out.state;
  }
  return { states, steps };
}

/** What the device IS, as opposed to what receivers were told. */
function core(
  s: DeviceState,
): Omit<DeviceState, 'downNotified' | 'notifiedDownSince' | 'lastDownNotificationAt' | 'flapNotified'> {
  const {
    downNotified: _a,
    notifiedDownSince: _b,
    lastDownNotificationAt: _c,
    flapNotified: _d,
    ...rest
  } = s;
  return rest;
}

function statusFields(s: DeviceState): unknown {
  return [
    s.status,
    s.statusRaw,
    s.statusSince,
    s.previousStatus,
    s.transitions,
    s.health,
    s.consecutiveHealthy,
    s.consecutiveUnhealthy,
    s.unhealthySince,
    s.downSince,
  ];
}

// Plain checks rather than expect() in the hot loop: 3000 scenarios × ~40 steps × 3 runs.
function check(ok: boolean, what: () => string): void {
  if (!ok) throw new Error(what());
}

/** Deep equality of JSON values, with vitest's diff when they differ. */
function same(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual, what).toEqual(expected);
}

function checkInvariants(sc: Scenario): void {
  const { policy } = sc;
  const given = play(sc, 'as-given');
  const loud = play(sc, 'never-muted');
  const restarted = play(sc, 'roundtrip');

  // Restart safety: JSON between any two steps changes no decision and no state.
  same(restarted.steps, given.steps, 'restart between steps');

  // Muting changes notifications only.
  same(
    given.steps.map((s) => s.change),
    loud.steps.map((s) => s.change),
    'changes muted vs not',
  );
  same(given.states.map(core), loud.states.map(core), 'state muted vs not');

  for (const run of [given, loud]) {
    // An independent model of the hysteresis.
    let health: 'UP' | 'DOWN' = 'UP';
    let bad = 0;
    let good = 0;
    let open = false; // receivers were told DOWN and not yet UP
    let lastDownOrReminder: number | null = null;
    let prev = initialDeviceState();
    run.steps.forEach((out, i) => {
      const { at, input, muted } = sc.steps[i]!;
      const where = (what: string) => () =>
        `step ${i} (${input.kind === 'status' ? input.status : input.kind} at ${at}): ${what}`;
      const s = out.state;

      if (input.kind === 'status') {
        if (input.status === 'connected') {
          good++;
          bad = 0;
          if (health === 'DOWN' && good >= policy.successThreshold) health = 'UP';
        } else {
          bad++;
          good = 0;
          if (health === 'UP' && bad >= policy.failureThreshold) health = 'DOWN';
        }
        check(s.status === input.status, where('status not taken'));
        check(
          (out.change !== null) === (prev.status !== input.status),
          where('change iff the status changed'),
        );
      } else {
        check(
          JSON.stringify(statusFields(s)) === JSON.stringify(statusFields(prev)),
          where('a probe error or tick touched status, health or counters'),
        );
        check(out.change === null, where('change without a status'));
      }
      if (input.kind === 'probe_error')
        check(s.lastProbeError?.at === at, where('lastProbeError not recorded'));
      // DOWN exactly when the model says so: never before failureThreshold bad statuses in a row.
      check(s.health === health, where(`health ${s.health}, model says ${health}`));
      check(s.consecutiveUnhealthy === bad && s.consecutiveHealthy === good, where('counters'));

      const muteNow = run === given && muted;
      for (const e of out.events) {
        const w = (what: string) => where(`${e.type}: ${what}`);
        check(!muteNow, w('sent while muted'));
        check(e.at === at && e.status === s.status, w('at/status'));
        switch (e.type) {
          case 'device.down':
            check(s.health === 'DOWN', w('while UP'));
            check(!policy.sendResolved || !open, w('while already told DOWN'));
            open = true;
            lastDownOrReminder = at;
            break;
          case 'device.up':
            check(policy.sendResolved, w('with send_resolved false'));
            check(open, w('without an unresolved device.down'));
            check(s.health === 'UP', w('while DOWN'));
            open = false;
            break;
          case 'device.reminder':
            check(open && s.health === 'DOWN', w('without an open outage'));
            check(policy.repeatIntervalMs > 0, w('with repeat 0'));
            check(at - (lastDownOrReminder ?? -Infinity) >= policy.repeatIntervalMs, w('too soon'));
            lastDownOrReminder = at;
            break;
          case 'device.flapping':
            check(s.flapping, w('while not flapping'));
            break;
        }
      }
      // send_resolved false closes the story silently on UP.
      if (!policy.sendResolved && !s.downNotified) open = false;
      check(s.downNotified === open, where('downNotified disagrees with the events sent'));
      prev = s;
    });
  }
}

describe('device state machine, randomised', () => {
  it(`holds its invariants over ${RUNS} random scenarios`, () => {
    const { seeds, replay } = propertySeeds(BASE_SEED, RUNS);
    let events = 0;
    forEverySeed(seeds, (seed) => {
      const sc = scenario(rng(seed));
      checkInvariants(sc);
      events += play(sc, 'as-given').steps.reduce((n, s) => n + s.events.length, 0);
    });
    // Guards against a generator that never exercises the alerts.
    if (!replay) expect(events).toBeGreaterThan(RUNS);
  });

  it('covers every event type', () => {
    const seen = new Set<string>();
    for (let i = 0; i < RUNS; i++) {
      for (const s of play(scenario(rng(BASE_SEED + i)), 'as-given').steps)
        for (const e of s.events) seen.add(e.type);
    }
    expect([...seen].sort()).toEqual(['device.down', 'device.flapping', 'device.reminder', 'device.up']);
  });
});

// Issue 17: observeDevice's shortcut for "connected again" and the callers' skip of tickDevice
// (actsOnTime) are optimisations only: at every step of random scenarios they decide as the rules do.
describe('the shortcuts take the steps the rules take', () => {
  const { seeds } = propertySeeds(BASE_SEED + 7_000, 1000);
  it('observeDevice equals observeDeviceByRules; tickDevice changes nothing when !actsOnTime', () => {
    forEverySeed(seeds, (seed) => {
      const sc = scenario(rng(seed));
      let state = initialDeviceState();
      for (const [i, st] of sc.steps.entries()) {
        const ctx = { now: st.at, policy: sc.policy, muted: st.muted };
        if (!actsOnTime(state)) {
          const ticked = tickDevice(state, ctx);
          check(ticked.state === state && ticked.events.length === 0, () => `step ${i}: tick acted`);
        }
        if (st.input.kind !== 'tick') {
          same(observeDevice(state, st.input, ctx), observeDeviceByRules(state, st.input, ctx), `step ${i}`);
        }
        state = step(state, st.input, ctx).state;
      }
    });
  });
});
