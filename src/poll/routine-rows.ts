// Routine rows (issue 17): a check whose answer only repeats the last one — "still connected" —
// moves nothing but the device's last-check time and its run counter. Writing that row at every
// check made SQLite the daemon's biggest stall (every check upserted its row with its state as
// JSON, 77–165 ms per tick at 10,000 devices). Such a row is now handed to the cycle writer at
// most every ROUTINE_ROW_EVERY_MS; the state in memory (pages, API, metrics, readiness) moves at
// every check as before.
//
// An account's row is the same: a cycle with a valid answer moves only its last valid answer's
// time (nothing decides on it; it is there for people), so that row too waits.
//
// What a crash may lose is exactly that: the last-check times and run counters of devices whose
// answers repeated, for at most ROUTINE_ROW_EVERY_MS. Every status change, history row, alert,
// delivery change, probe error appearing or going, and account change is written at the tick, as
// before, because a step that carries any of them is not routine. After such a crash the devices
// are due again from their older stored last checks: checked a little early once, at the budget's
// pace.

import type { AccountState } from '../monitor/account-state.js';
import type { DeviceState } from '../monitor/device-state.js';

/** The longest a device's stored row may lag behind its routine checks. */
export const ROUTINE_ROW_EVERY_MS = 5 * 60_000;

/** What a repeated answer moves: nothing else may differ in a routine step. */
type RoutineKey = 'lastCheckAt' | 'consecutiveHealthy' | 'consecutiveUnhealthy' | 'lastProbeError';

/** Every other key of the state: it must be the same value (or the same object) after the step. */
const KEPT = [
  'status',
  'statusRaw',
  'statusSince',
  'previousStatus',
  'transitions',
  'health',
  'unhealthySince',
  'downSince',
  'healthChangedAt',
  'recentHealthChanges',
  'flapping',
  'downNotified',
  'notifiedDownSince',
  'lastDownNotificationAt',
  'flapNotified',
  'notFoundNotified',
] as const satisfies readonly Exclude<keyof DeviceState, RoutineKey>[];

// A key added to DeviceState must be listed above (or be a routine key): this fails to compile
// otherwise, rather than a new field going unwritten.
type Unlisted = Exclude<keyof DeviceState, RoutineKey | (typeof KEPT)[number]>;
const everyKeyListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyKeyListed;

/**
 * Whether the step from `before` to `after` is routine: the same status, health and alert
 * bookkeeping, and the same probe error (reason and message) or none, before and after. Only
 * the last check and the run counters may have moved, and a run counter only where it cannot
 * flip the health: connected while UP, or not connected while DOWN. A run on its way to a flip
 * (the second of three `disconnected` answers) is written at the tick.
 */
export function isRoutineStep(before: DeviceState, after: DeviceState): boolean {
  for (const key of KEPT) if (before[key] !== after[key]) return false;
  if (
    before.consecutiveHealthy !== after.consecutiveHealthy ||
    before.consecutiveUnhealthy !== after.consecutiveUnhealthy
  ) {
    const settled = after.health === 'UP' ? after.status === 'connected' : after.status !== 'connected';
    if (!settled) return false;
  }
  const a = before.lastProbeError;
  const b = after.lastProbeError;
  if (a === null || b === null) return a === b;
  return a.reason === b.reason && a.message === b.message;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Takes a routine step into the device's current state object, in place, instead of putting the
 * step's new object in its place (issue 17). The state a device keeps lives a minute, long enough
 * to be promoted to the old generation: replacing it at every check made 10,000 devices a stream
 * of old-generation garbage — major collections marking the whole heap — for nothing but a time
 * and a counter. The step's object dies young instead. Only for a step `isRoutineStep` accepted:
 * every other key is the same already.
 */
export function takeRoutineStep(current: DeviceState, next: DeviceState): void {
  const target = current as Mutable<DeviceState>;
  target.lastCheckAt = next.lastCheckAt;
  target.consecutiveHealthy = next.consecutiveHealthy;
  target.consecutiveUnhealthy = next.consecutiveUnhealthy;
  target.lastProbeError = next.lastProbeError;
}

/** Whether a routine row committed at `committedAt` (monotonic) may wait at `now`. */
export function routineRowMayWait(committedAt: number, now: number): boolean {
  return now - committedAt < ROUTINE_ROW_EVERY_MS;
}

/** Every key of the account state but the last valid answer's time, which only people read. */
const ACCOUNT_KEPT = [
  'reachable',
  'failingSince',
  'roundStartedAt',
  'failedRounds',
  'lastError',
  'unreachableNotified',
  'notifiedSince',
] as const satisfies readonly Exclude<keyof AccountState, 'lastValidAnswerAt'>[];
type AccountUnlisted = Exclude<keyof AccountState, 'lastValidAnswerAt' | (typeof ACCOUNT_KEPT)[number]>;
const everyAccountKeyListed: [AccountUnlisted] extends [never] ? true : AccountUnlisted = true;
void everyAccountKeyListed;

/** Whether an account's cycle moved only its last valid answer's time. */
export function isRoutineAccountStep(before: AccountState, after: AccountState): boolean {
  for (const key of ACCOUNT_KEPT) if (before[key] !== after[key]) return false;
  return true;
}

/** Takes a routine account step into the current state object, in place (see takeRoutineStep). */
export function takeRoutineAccountStep(current: AccountState, next: AccountState): void {
  (current as Mutable<AccountState>).lastValidAnswerAt = next.lastValidAnswerAt;
}
