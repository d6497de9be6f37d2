// Delivery health of one device: "connected but not sending" (SPEC §10).
//
// Pure: no I/O, no clock (`now` comes in), no imports but types. The state is a plain JSON
// value — the store keeps it as JSON and restores it at start, like the DOWN/UP state.
//
// Two layers live in one state, as in device-state.ts:
// - what the device IS: the last reading, since when messages wait without progress, and
//   the problems that hold (`problemSince`). Judged on readings only; muting never touches it.
// - what receivers were TOLD: `told`, one entry per problem announced and not yet resolved.
//   Whenever notifying is allowed (not muted) one rule closes the gap between the two, problem
//   by problem: holds but not told → its event; told but no longer holds → delivery_recovered
//   (if send_resolved); told and holding → a reminder every repeat_interval. The normal
//   alert, the one a silence held back and the reminders are that one rule.
//
// The rules, each a decision on the reading against the previous one received (a missed
// reading — 429, timeout — is just no call, so the next interval is longer):
// - stalled: pending > 0 and successful has not risen for stall_after. The waiting clock
//   starts at the first reading that shows pending > 0 without progress (never earlier: the
//   reading before may be hours old), restarts when successful rises, stops when pending is 0.
//   Once stalled, it holds until a reading shows progress (successful rose, or pending is 0).
// - failing: over the interval, Δfailed ≥ max(1, min_failed) and Δfailed / (Δfailed +
//   Δsuccessful) ≥ failed_ratio. An interval with nothing finished keeps the verdict.
// - balance_low: remaining < low_balance (0 turns the rule off).
// - Day rollover: successful or failed below the previous reading (or readings more than 25 h
//   apart, when a day boundary must lie between) is a new day at the gateway. The reading
//   becomes the baseline; nothing is judged on the interval, so neither failing nor a stall
//   starts or ends because of it. A wait not yet stalled restarts its clock there (the
//   counters lost whether messages went out before midnight); a stall already declared
//   carries on unless the reading itself shows progress: pending 0, or successful > 0 —
//   today's count, all of it sent after the previous reading.
//   `pending` falling is NOT a rollover: it is the queue draining, the normal case.
// - A device going DOWN ends its delivery problems silently (the DOWN alert says enough) and
//   returns to a fresh state, so the next UP starts from a new baseline.
// - A rule switched off (check: off, or low_balance: 0 for balance_low) ends its problems
//   silently: the operator stopped watching, the problem did not recover.

import type { Policy } from '../config/types.js';
import type { EventType } from './model.js';

export const DELIVERY_PROBLEMS = ['stalled', 'failing', 'balance_low'] as const;
export type DeliveryProblem = (typeof DELIVERY_PROBLEMS)[number];

/** The events of delivery health (SPEC §10): the delivery part of model.ts's EVENT_TYPES. */
export type DeliveryEventType = Extract<
  EventType,
  'device.stalled' | 'device.failing' | 'device.balance_low' | 'device.delivery_recovered'
>;
// Spelled out so this module imports types only; `satisfies` ties each to EVENT_TYPES.
export const DELIVERY_EVENT_TYPES = [
  'device.stalled',
  'device.failing',
  'device.balance_low',
  'device.delivery_recovered',
] as const satisfies readonly DeliveryEventType[];

/** One answer of `GET /reports/balance/{device}`; the three counts are the gateway's "today". */
export interface DeliveryReading {
  readonly at: number;
  readonly remaining: number;
  /** `successful_count` */
  readonly successful: number;
  readonly pending: number;
  readonly failed: number;
}

/** The `delivery:` section of the policy (SPEC §10), durations in milliseconds. */
export interface DeliveryRules {
  /** How often to read; null is `check: off` (no reads, no problems). */
  readonly checkMs: number | null;
  readonly stallAfterMs: number;
  readonly failedRatio: number;
  readonly minFailed: number;
  /** 0 turns the low-balance rule off. */
  readonly lowBalance: number;
}

export const DEFAULT_DELIVERY_RULES: DeliveryRules = {
  checkMs: 5 * 60_000,
  stallAfterMs: 15 * 60_000,
  failedRatio: 0.2,
  minFailed: 5,
  lowBalance: 100,
};

/** The rules plus the alert policy shared with the other device events. */
export interface DeliveryPolicy extends DeliveryRules, Pick<Policy, 'repeatIntervalMs' | 'sendResolved'> {}

export interface DeliveryContext {
  readonly now: number;
  readonly policy: DeliveryPolicy;
  /** A silence or maintenance window holds (decided by the caller). */
  readonly muted: boolean;
}

export interface ToldProblem {
  /** The `since` the announcement carried; device.delivery_recovered repeats it. */
  readonly since: number;
  /** Last announcement or reminder; reminders count from here. */
  readonly lastNotifiedAt: number;
}

export interface DeliveryState {
  /** The last reading received: the baseline of the next one. null until one arrives. */
  readonly last: DeliveryReading | null;
  /** First reading of the current wait (pending > 0, no progress since); null when none. */
  readonly waitingSince: number | null;
  /** Problems that hold, each with when it began; null when it does not hold. */
  readonly problemSince: Readonly<Record<DeliveryProblem, number | null>>;
  /** Problems announced and not yet resolved. */
  readonly told: Readonly<Record<DeliveryProblem, ToldProblem | null>>;
}

export interface DeliveryEvent {
  readonly type: DeliveryEventType;
  readonly at: number;
  /** The problem that began, holds (reminder) or ended (delivery_recovered). */
  readonly problem: DeliveryProblem;
  /** The reading the decision rests on (the last one received). */
  readonly reading: DeliveryReading;
  /** When the problem began (for stalled: the first reading of the wait). */
  readonly since: number;
  /** Present on reminders only. */
  readonly reminder?: true;
}

export interface DeliveryStep {
  readonly state: DeliveryState;
  readonly events: DeliveryEvent[];
}

const PROBLEM_EVENT: Record<DeliveryProblem, DeliveryEventType> = {
  stalled: 'device.stalled',
  failing: 'device.failing',
  balance_low: 'device.balance_low',
};

/** Longer than any day, DST included: two readings further apart straddle a day boundary. */
export const MAX_SAME_DAY_GAP_MS = 25 * 60 * 60_000;

// Shared and frozen (issue 17): most devices never have a reading (DOWN, `check: off`, no spare
// budget), and 100,000 of them held three objects each of the same nothing. States are never
// changed in place, only replaced (the rules build new ones), so one object serves them all.
const INITIAL_DELIVERY_STATE: DeliveryState = Object.freeze({
  last: null,
  waitingSince: null,
  problemSince: Object.freeze({ stalled: null, failing: null, balance_low: null }),
  told: Object.freeze({ stalled: null, failing: null, balance_low: null }),
});

export function initialDeliveryState(): DeliveryState {
  return INITIAL_DELIVERY_STATE;
}

/** The problems that hold now, in a fixed order (metrics, status page, API). */
export function problems(state: DeliveryState): DeliveryProblem[] {
  return DELIVERY_PROBLEMS.filter((p) => state.problemSince[p] !== null);
}

/** Whether `reading` starts a new day at the gateway relative to `prev`. */
export function isRollover(prev: DeliveryReading, reading: DeliveryReading): boolean {
  return (
    reading.successful < prev.successful ||
    reading.failed < prev.failed ||
    reading.at - prev.at > MAX_SAME_DAY_GAP_MS
  );
}

/** Judges one reading against the previous one, then notifies whatever that calls for. */
export function observeReading(
  state: DeliveryState,
  reading: DeliveryReading,
  ctx: DeliveryContext,
): DeliveryStep {
  const { policy } = ctx;
  if (policy.checkMs === null) return { state: reset(state), events: [] };
  const prev = state.last;
  // An answer older than the last one (a slow request overtaken by a newer one) says nothing new.
  if (prev !== null && reading.at < prev.at) return tickDelivery(state, ctx);

  const rollover = prev !== null && isRollover(prev, reading);
  const wasStalled = state.problemSince.stalled !== null;

  // stalled
  const progress =
    reading.pending === 0 ||
    (prev !== null && (rollover ? reading.successful > 0 : reading.successful > prev.successful));
  let waitingSince: number | null;
  let stalledSince: number | null;
  if (progress) {
    waitingSince = reading.pending > 0 ? reading.at : null;
    stalledSince = null;
  } else if (wasStalled) {
    waitingSince = state.waitingSince;
    stalledSince = state.problemSince.stalled;
  } else {
    waitingSince = rollover ? reading.at : (state.waitingSince ?? reading.at);
    stalledSince = reading.at - waitingSince >= policy.stallAfterMs ? waitingSince : null;
  }

  // failing
  let failingSince = state.problemSince.failing;
  if (prev !== null && !rollover) {
    const failed = reading.failed - prev.failed;
    const finished = failed + (reading.successful - prev.successful);
    if (finished > 0) {
      const meets = failed >= Math.max(1, policy.minFailed) && failed / finished >= policy.failedRatio;
      failingSince = meets ? (failingSince ?? reading.at) : null;
    }
  }

  // balance_low
  const low = policy.lowBalance > 0 && reading.remaining < policy.lowBalance;
  const balanceLowSince = low ? (state.problemSince.balance_low ?? reading.at) : null;

  const s: DeliveryState = {
    ...state,
    last: reading,
    waitingSince,
    problemSince: { stalled: stalledSince, failing: failingSince, balance_low: balanceLowSince },
  };
  return notify(s, ctx);
}

/**
 * Time passing without a reading: due reminders, the alert a silence held back, the
 * recovery a silence held back. Never judges anything. Returns the very same state object
 * when nothing happened, so callers can skip persisting it.
 */
export function tickDelivery(state: DeliveryState, ctx: DeliveryContext): DeliveryStep {
  if (ctx.policy.checkMs === null) return { state: reset(state), events: [] };
  return notify(state, ctx);
}

/**
 * The device went DOWN: its delivery problems end without a word (device.down says enough)
 * and the next UP starts from a fresh baseline. Returns the same object when already fresh.
 */
export function deviceWentDown(state: DeliveryState): DeliveryState {
  return reset(state);
}

/**
 * No reading, no wait, no problem, nothing told: a fresh state. Time alone changes nothing in it
 * (tickDelivery returns it as it is, without events), so callers may skip the tick.
 */
export function isFreshDelivery(state: DeliveryState): boolean {
  if (state.last !== null || state.waitingSince !== null) return false;
  // A loop, not every(): asked of every device at every cycle's end.
  for (const p of DELIVERY_PROBLEMS) {
    if (state.problemSince[p] !== null || state.told[p] !== null) return false;
  }
  return true;
}

function reset(state: DeliveryState): DeliveryState {
  return isFreshDelivery(state) ? state : initialDeliveryState();
}

/** low_balance: 0 while balance_low holds: it ends, silently. */
function dropSwitchedOff(state: DeliveryState, policy: DeliveryPolicy): DeliveryState {
  if (policy.lowBalance > 0 || (state.problemSince.balance_low === null && state.told.balance_low === null))
    return state;
  return {
    ...state,
    problemSince: { ...state.problemSince, balance_low: null },
    told: { ...state.told, balance_low: null },
  };
}

/** Closes the gap between what the device is and what receivers were told, when allowed. */
function notify(state: DeliveryState, ctx: DeliveryContext): DeliveryStep {
  // Rules switched off end silently, whether a reading or a tick brought the news.
  const s = dropSwitchedOff(state, ctx.policy);
  if (ctx.muted || s.last === null) return { state: s, events: [] };
  const { now, policy } = ctx;
  const reading = s.last;
  const events: DeliveryEvent[] = [];
  let told = s.told;
  for (const problem of DELIVERY_PROBLEMS) {
    const since = s.problemSince[problem];
    const t = told[problem];
    if (since !== null && t === null) {
      told = { ...told, [problem]: { since, lastNotifiedAt: now } };
      events.push({ type: PROBLEM_EVENT[problem], at: now, problem, reading, since });
    } else if (since !== null && t !== null) {
      // Reminders due while muted are not queued: the first allowed moment sends one, and the
      // cadence restarts from it.
      if (policy.repeatIntervalMs > 0 && now - t.lastNotifiedAt >= policy.repeatIntervalMs) {
        told = { ...told, [problem]: { ...t, lastNotifiedAt: now } };
        events.push({ type: PROBLEM_EVENT[problem], at: now, problem, reading, since, reminder: true });
      }
    } else if (since === null && t !== null) {
      told = { ...told, [problem]: null };
      if (policy.sendResolved)
        events.push({ type: 'device.delivery_recovered', at: now, problem, reading, since: t.since });
    }
  }
  return told === s.told ? { state: s, events } : { state: { ...s, told }, events };
}
