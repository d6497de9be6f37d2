// Routine rows (issue 17): a check whose answer only repeats the last one — "still connected" —
// moves nothing but the device's last-check time and its run counter. Writing that row at every
// check made SQLite the daemon's biggest stall (every check upserted its row with its state as
// JSON, 77–165 ms per tick at 10,000 devices). Such a row is now handed to the cycle writer at
// most every ROUTINE_ROW_EVERY_MS; the state in memory (pages, API, metrics, readiness) moves at
// every check as before.
//
// What a crash may lose is exactly that: the last-check times and run counters of devices whose
// answers repeated, for at most ROUTINE_ROW_EVERY_MS. Every status change, history row, alert,
// delivery change, probe error appearing or going, and account change is written at the tick, as
// before, because a step that carries any of them is not routine. After such a crash the devices
// are due again from their older stored last checks: checked a little early once, at the budget's
// pace.

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

/** Whether a routine row committed at `committedAt` (monotonic) may wait at `now`. */
export function routineRowMayWait(committedAt: number, now: number): boolean {
  return now - committedAt < ROUTINE_ROW_EVERY_MS;
}
