// How long one round of an account takes (issue 11): every device due once, at the interval the
// budget really allows. account.unreachable counts rounds, not poll cycles: under the budget a
// cycle reaches only a few devices, and one that reached only failing ones says nothing.
//
// Pure: the stretch floor is the due queue's own (monitor/due-queue.ts), so the round is the
// interval the scheduler really keeps.

import { plannedSpacingMs } from './budget.js';
import { stretchFloorMs } from './due-queue.js';

export interface RoundDevice {
  /** The interval it is scheduled at (10 × interval for a device the gateway does not know). */
  readonly intervalMs: number;
  /** false for a device the gateway does not know (`not_found`). */
  readonly known: boolean;
}

/**
 * The longest effective interval among the devices the gateway knows: the ones it does not are
 * checked 10× less often and would stretch the round for nothing. With none known, the longest
 * of all; 0 without devices.
 */
export function roundMs(devices: readonly RoundDevice[], spacingMs: number): number {
  const floor = stretchFloorMs(
    devices.map((d) => d.intervalMs),
    spacingMs,
  );
  let known = 0;
  let all = 0;
  for (const d of devices) {
    const effective = Math.max(d.intervalMs, floor);
    all = Math.max(all, effective);
    if (d.known) known = Math.max(known, effective);
  }
  return known > 0 ? known : all;
}

/**
 * How often the most frequently due devices of an account are really checked, given its
 * `rate_limit`: what the scheduler keeps (DueQueue.apply) and what `check-config` announces,
 * from the same floor and the same spacing as the budget's, so the two cannot disagree.
 */
export function effectiveIntervalMs(intervalsMs: readonly number[], ratePerMinute: number): number {
  if (intervalsMs.length === 0) return 0;
  const spacingMs = plannedSpacingMs(ratePerMinute);
  let shortest = Number.POSITIVE_INFINITY;
  for (const interval of intervalsMs) shortest = Math.min(shortest, interval);
  return Math.max(shortest, stretchFloorMs(intervalsMs, spacingMs));
}
