import { describe, expect, it } from 'vitest';
import type {
  DeliveryContext,
  DeliveryPolicy,
  DeliveryProblem,
  DeliveryReading,
  DeliveryState,
  DeliveryStep,
} from './delivery.js';
import {
  DELIVERY_PROBLEMS,
  deviceWentDown,
  initialDeliveryState,
  isRollover,
  observeReading,
  tickDelivery,
} from './delivery.js';
import { forEverySeed, propertySeeds, rng, type Rng } from './test-support/property.js';

// Reproducible (test-support/property.ts): every run derives from a seed; a failure names it,
// and PROPERTY_SEED=<seed> npx vitest run src/monitor/delivery.property.test.ts replays just that one.
const BASE_SEED = 0xde11_7e5d;
const RUNS = 2000;

type Input =
  { readonly kind: 'reading'; readonly reading: DeliveryReading } | { readonly kind: 'tick' | 'down' };
interface Scenario {
  readonly policy: DeliveryPolicy;
  readonly steps: readonly { readonly at: number; readonly input: Input; readonly muted: boolean }[];
}

/** A gateway whose queue moves, sticks, fails, runs low and rolls over to a new day. */
function scenario(r: Rng): Scenario {
  const policy: DeliveryPolicy = {
    checkMs: 5,
    stallAfterMs: r.pick([0, 5, 15, 15, 40]),
    failedRatio: r.pick([0, 0.1, 0.2, 0.2, 0.5, 1]),
    minFailed: r.pick([0, 1, 5, 5, 10]),
    lowBalance: r.pick([0, 100, 100]),
    repeatIntervalMs: r.pick([0, 0, 10, 30]),
    sendResolved: r.chance(0.7),
  };
  let successful = r.int(0, 500);
  let pending = r.int(0, 5);
  let failed = r.int(0, 50);
  let remaining = r.int(0, 400);
  // Long spells of one behaviour make stalls, failures and recoveries actually happen.
  let mode: 'flowing' | 'stuck' | 'failing' = 'flowing';
  const steps: Scenario['steps'][number][] = [];
  let at = r.int(0, 1_000_000);
  let muted = r.chance(0.2);
  for (let i = r.int(5, 80); i > 0; i--) {
    at += r.pick([0, 1, 3, 5, 5, 5, 10, 20, 60]);
    if (r.chance(0.1)) muted = !muted;
    if (r.chance(0.15)) mode = r.pick(['flowing', 'stuck', 'failing'] as const);

    pending += r.int(0, 8);
    const out = mode === 'stuck' ? 0 : r.int(0, pending);
    const bad = mode === 'failing' ? r.int(Math.floor(out / 2), out) : r.chance(0.2) ? r.int(0, out) : 0;
    successful += out - bad;
    failed += bad;
    pending -= out;
    remaining = Math.max(0, remaining - (out - bad));
    if (r.chance(0.05)) remaining += r.pick([50, 100, 1000]);
    if (r.chance(0.05)) {
      // A new day at the gateway: today's counters start over (pending may carry over or not).
      successful = r.pick([0, 0, r.int(0, 20)]);
      failed = r.pick([0, 0, r.int(0, 5)]);
      if (r.chance(0.5)) pending = 0;
    }

    const roll = r.int(0, 99);
    let input: Input;
    if (roll < 15) input = { kind: 'tick' };
    else if (roll < 18) input = { kind: 'down' };
    else input = { kind: 'reading', reading: { at, successful, pending, failed, remaining } };
    steps.push({ at, input, muted });
  }
  return { policy, steps };
}

function step(state: DeliveryState, input: Input, ctx: DeliveryContext): DeliveryStep {
  switch (input.kind) {
    case 'reading':
      return observeReading(state, input.reading, ctx);
    case 'tick':
      return tickDelivery(state, ctx);
    case 'down':
      return { state: deviceWentDown(state), events: [] };
  }
}

type Mode = 'as-given' | 'never-muted' | 'roundtrip';

function play(sc: Scenario, mode: Mode): DeliveryStep[] {
  let state = initialDeliveryState();
  const steps: DeliveryStep[] = [];
  for (const s of sc.steps) {
    // A restart between any two steps: the store hands back what JSON made of the state.
    if (mode === 'roundtrip') state = JSON.parse(JSON.stringify(state)) as DeliveryState;
    const out = step(state, s.input, {
      now: s.at,
      policy: sc.policy,
      muted: mode === 'never-muted' ? false : s.muted,
    });
    steps.push(out);
    state = out.state;
  }
  return steps;
}

/** Ends every problem: messages went out, none failed, the queue is empty, the balance full. */
function healthyAfter(sc: Scenario): Scenario['steps'][number] {
  const last = sc.steps.at(-1)?.at ?? 0;
  let prev: DeliveryReading | null = null;
  for (const s of sc.steps) {
    if (s.input.kind === 'down') prev = null;
    if (s.input.kind === 'reading') prev = s.input.reading;
  }
  const reading: DeliveryReading = {
    at: last + 1,
    successful: (prev?.successful ?? 0) + 10,
    pending: 0,
    failed: prev?.failed ?? 0,
    remaining: 1_000_000,
  };
  return { at: last + 1, input: { kind: 'reading', reading }, muted: false };
}

/** What the device IS, as opposed to what receivers were told. */
function judged(s: DeliveryState): unknown {
  return [s.last, s.waitingSince, s.problemSince];
}

// Plain checks rather than expect() in the hot loop.
function check(ok: boolean, what: () => string): void {
  if (!ok) throw new Error(what());
}

/** Deep equality of JSON values, with vitest's diff when they differ. */
function same(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual, what).toEqual(expected);
}

function meetsFailing(policy: DeliveryPolicy, prev: DeliveryReading, cur: DeliveryReading): boolean | null {
  const df = cur.failed - prev.failed;
  const finished = df + cur.successful - prev.successful;
  if (finished === 0) return null;
  return df >= Math.max(1, policy.minFailed) && df / finished >= policy.failedRatio;
}

function checkInvariants(sc: Scenario): void {
  const { policy } = sc;
  // The scenario, then one healthy reading that ends whatever still holds.
  const full: Scenario = { policy, steps: [...sc.steps, healthyAfter(sc)] };
  const given = play(full, 'as-given');
  const loud = play(full, 'never-muted');
  const restarted = play(full, 'roundtrip');

  // Restart safety: JSON between any two steps changes no decision and no state.
  same(restarted, given, 'restart between steps');
  // Muting changes notifications only.
  same(
    given.map((s) => judged(s.state)),
    loud.map((s) => judged(s.state)),
    'judged state muted vs not',
  );

  for (const run of [given, loud]) {
    // An independent record of what receivers were told: problem → time of the last start/reminder.
    const told = new Map<DeliveryProblem, number>();
    let readings: DeliveryReading[] = []; // since the last DOWN
    let prev = initialDeliveryState();
    run.forEach((out, i) => {
      const { at, input, muted } = full.steps[i]!;
      const where = (what: string) => () => `step ${i} (${input.kind} at ${at}): ${what}`;
      const s = out.state;
      const muteNow = run === given && muted;

      if (input.kind === 'down') {
        check(out.events.length === 0, where('DOWN said something'));
        same(s, initialDeliveryState(), 'DOWN leaves a fresh state');
        told.clear();
        readings = [];
      }
      if (input.kind === 'tick') same(judged(s), judged(prev), `step ${i}: a tick judged something`);

      if (input.kind === 'reading') {
        const cur = input.reading;
        const last = readings.at(-1);
        readings.push(cur);
        const rollover = last !== undefined && isRollover(last, cur);
        // balance_low: exactly the rule.
        const low = policy.lowBalance > 0 && cur.remaining < policy.lowBalance;
        check((s.problemSince.balance_low !== null) === low, where('balance_low'));
        // failing: changes only on a compared interval with something finished, to its verdict.
        const verdict = last === undefined || rollover ? null : meetsFailing(policy, last, cur);
        const wasFailing = prev.problemSince.failing !== null;
        check(
          (s.problemSince.failing !== null) === (verdict ?? wasFailing),
          where(`failing: verdict ${verdict}, was ${wasFailing}`),
        );
        // stalled: only with something pending; starts only after stall_after without progress.
        const stalledSince = s.problemSince.stalled;
        if (stalledSince !== null) {
          check(cur.pending > 0, where('stalled with nothing pending'));
          if (prev.problemSince.stalled === null) {
            check(cur.at - stalledSince >= policy.stallAfterMs, where('stalled too soon'));
            // Readings may share a time: the wait begins at the last one taken at `since`.
            const start = readings.findLastIndex((x) => x.at === stalledSince);
            check(start >= 0, where('the wait does not begin at a reading'));
            const wait = readings.slice(start);
            wait.forEach((x, k) => {
              const before = wait[k - 1];
              check(x.pending > 0, where(`nothing pending at ${x.at} during the wait`));
              if (before !== undefined) {
                check(!isRollover(before, x), where(`a rollover at ${x.at} did not restart the clock`));
                check(x.successful <= before.successful, where(`progress at ${x.at} during the wait`));
              }
            });
          }
        } else if (prev.problemSince.stalled !== null) {
          const progress =
            cur.pending === 0 ||
            (last !== undefined && (rollover ? cur.successful > 0 : cur.successful > last.successful));
          check(progress, where('a stall ended without progress'));
        }
      }

      for (const e of out.events) {
        const w = (what: string) => where(`${e.type}/${e.problem}: ${what}`);
        check(!muteNow, w('sent while muted'));
        check(e.at === at && e.since <= at, w('at/since'));
        check(JSON.stringify(e.reading) === JSON.stringify(s.last), w('not the last reading'));
        if (e.type === 'device.delivery_recovered') {
          check(policy.sendResolved, w('with send_resolved false'));
          check(told.has(e.problem), w('recovered without a told start'));
          check(s.problemSince[e.problem] === null, w('recovered while it holds'));
          told.delete(e.problem);
        } else if (e.reminder === true) {
          check(policy.repeatIntervalMs > 0, w('reminder with repeat 0'));
          const lastTold = told.get(e.problem);
          check(lastTold !== undefined, w('reminder without a told start'));
          check(at - lastTold! >= policy.repeatIntervalMs, w('reminder too soon'));
          told.set(e.problem, at);
        } else {
          check(!told.has(e.problem), w('told twice'));
          check(s.problemSince[e.problem] !== null, w('told while it does not hold'));
          told.set(e.problem, at);
        }
      }
      // send_resolved false ends a told problem without a word.
      if (!policy.sendResolved) for (const p of told.keys()) if (s.told[p] === null) told.delete(p);

      for (const p of DELIVERY_PROBLEMS) {
        check((s.told[p] !== null) === told.has(p), where(`${p}: told disagrees with the events sent`));
        // Whenever notifying is allowed the gap is closed.
        if (!muteNow)
          check((s.told[p] !== null) === (s.problemSince[p] !== null), where(`${p}: gap left open`));
      }
      prev = s;
    });
    // Every told problem was recovered (or ended by DOWN) once the device is healthy.
    check(told.size === 0, () => `told but never resolved: ${[...told.keys()].join(', ')}`);
    same(prev.told, initialDeliveryState().told, 'told after the healthy reading');
  }
}

describe('delivery health, randomised', () => {
  it(`holds its invariants over ${RUNS} random scenarios`, () => {
    const { seeds, replay } = propertySeeds(BASE_SEED, RUNS);
    let events = 0;
    forEverySeed(seeds, (seed) => {
      const sc = scenario(rng(seed));
      checkInvariants(sc);
      events += play(sc, 'as-given').reduce((n, s) => n + s.events.length, 0);
    });
    // Guards against a generator that never exercises the alerts.
    if (!replay) expect(events).toBeGreaterThan(RUNS);
  });

  it('covers every event, every problem, reminders, and a DOWN that ends a told problem', () => {
    const seen = new Set<string>();
    for (let i = 0; i < RUNS; i++) {
      const sc = scenario(rng(BASE_SEED + i));
      const steps = play(sc, 'as-given');
      steps.forEach((s, k) => {
        for (const e of s.events) seen.add(`${e.type}/${e.problem}${e.reminder === true ? '+' : ''}`);
        const before = steps[k - 1]?.state;
        if (sc.steps[k]?.input.kind === 'down' && before !== undefined)
          for (const p of DELIVERY_PROBLEMS) if (before.told[p] !== null) seen.add(`down-ends/${p}`);
      });
    }
    expect([...seen].sort()).toEqual(
      [
        ...DELIVERY_PROBLEMS.flatMap((p) => [`device.delivery_recovered/${p}`, `down-ends/${p}`]),
        'device.stalled/stalled',
        'device.stalled/stalled+',
        'device.failing/failing',
        'device.failing/failing+',
        'device.balance_low/balance_low',
        'device.balance_low/balance_low+',
      ].sort(),
    );
  });
});
