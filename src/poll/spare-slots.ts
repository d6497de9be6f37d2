// Spare-slot planning (SPEC §10 "only with budget left after status checks"): when second-priority
// work of a cycle — balance reads — may take a budget slot without moving any status check.
//
// A spare call may start when it is due and the budget is free, before the cycle's dispatch end,
// provided the slot it takes is free again by the next status check: this cycle's next pick, else
// the queue's next due time (maybe in a later cycle). Timers fire a few ms late, so "by" allows
// SPARE_SLACK_MS: a status check may start that much late, never more, and its cadence does not
// drift (it settles on the budget's grid). Pure: times in, a decision out.

/** How late a balance read may make a status check start: timer jitter, not a stretch. */
export const SPARE_SLACK_MS = 250;

export interface SpareQuestion {
  /** When the spare work is next due (−∞: at once), or null when there is none. */
  readonly dueAt: number | null;
  /** When the budget is next free. */
  readonly freeAt: number;
  /** This cycle's next status pick's start, when it starts before the dispatch end; else null. */
  readonly statusAt: number | null;
  /** When the next status check may be wanted whatever the cycle (asked only when needed). */
  readonly nextDueAt: () => number;
  readonly dispatchUntil: number;
  /** The planned spacing of routine checks: the slot a spare call takes is held this long. */
  readonly plannedSpacingMs: number;
}

/** When a spare call may start, and the latest it may start instead (a timer firing late). */
export interface SpareStart {
  readonly at: number;
  readonly latest: number;
}

/** When spare work may start (see the top), or null when none fits now. */
export function spareStart(q: SpareQuestion): SpareStart | null {
  if (q.dueAt === null) return null;
  const start = Math.max(q.dueAt, q.freeAt);
  if (start >= q.dispatchUntil) return null;
  const next = q.statusAt ?? q.nextDueAt();
  // The planned spacing, not the least gap: reads must leave the out-of-band share alone too.
  const spacing = q.plannedSpacingMs;
  const slack = Math.min(SPARE_SLACK_MS, spacing / 4);
  const latest = Math.min(next + slack - spacing, q.dispatchUntil);
  return start <= latest ? { at: start, latest } : null;
}
