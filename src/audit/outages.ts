// A device's outages over a period, from its changes and the stretches observed, without the
// pieces of timeline.ts: one pass, two cursors, no allocation but the outages. What audit/rollup.ts
// uses on a whole fleet; it says what timeline.ts's `outagesOf(timeline(…))` says (the rollup
// property test holds it to that), by the same rules:
//
// - What is recorded at a moment is the last change at or before it; before the first, nothing.
// - A moment is down when observed and recorded as any status but connected or deleted.
// - An outage opens at the first down moment and gathers the down time after it; an observed
//   connected moment ends it, and so does a deletion, observed or not. Unobserved time in between
//   neither ends it nor adds to it.

import type { HistoryStatus } from '../store/store.js';
import type { Outage } from './compute.js';
import type { Period } from './timeline.js';

export interface StatusChange {
  readonly at: number;
  readonly to: HistoryStatus;
}

/**
 * `changes`: the device's changes in time order (of several at one time, the last recorded last),
 * from its last one before `start` on; the earlier ones change nothing. `observed`: sorted,
 * disjoint, within [start, now) (rollup.ts `observedPeriods`).
 */
export function outagesOver(
  changes: readonly StatusChange[],
  observed: readonly Period[],
  start: number,
  now: number,
): Outage[] {
  const outages: Outage[] = [];
  let open: { start: number; durationMs: number; startedBefore: boolean } | null = null;
  const close = (end: number | null): void => {
    if (open !== null) {
      outages.push({
        start: open.start,
        end,
        durationMs: open.durationMs,
        startedBefore: open.startedBefore,
      });
    }
    open = null;
  };
  let recorded: HistoryStatus | null = null;
  let recordedSince = Number.NEGATIVE_INFINITY;
  let c = 0;
  let o = 0;
  for (let t = start; t < now;) {
    while (c < changes.length && changes[c]!.at <= t) {
      recorded = changes[c]!.to;
      recordedSince = changes[c]!.at;
      c++;
    }
    while (o < observed.length && observed[o]!.end <= t) o++;
    const period = observed[o];
    const seen = period !== undefined && period.start <= t;
    // The stretch [t, next) is uniform: nothing is recorded, and observation does not change, in it.
    let next = now;
    const change = changes[c];
    if (change !== undefined && change.at < next) next = change.at;
    if (period !== undefined) {
      const edge = seen ? period.end : period.start;
      if (edge < next) next = edge;
    }
    if (recorded === 'deleted') close(t);
    else if (seen && recorded === 'connected') close(t);
    else if (seen && recorded !== null) {
      open ??= { start: t, durationMs: 0, startedBefore: t === start && recordedSince < start };
      open.durationMs += next - t;
    }
    t = next;
  }
  close(null);
  return outages;
}
