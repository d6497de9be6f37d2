// One cycle of an account's dispatch loop (SPEC §3 "Timing" and "Budget"): the async half of the
// DueQueue. It asks the queue what is due — confirmations first, then routine checks most overdue
// first — and starts each on a slot of the account's metered gateway, napping on the clock in
// between, so calls are spread evenly over the tick instead of bursting at it. Spare slots (no
// status check wants them, spare-slots.ts) go to balance reads.
//
// Naps are coalesced (issue 17): a nap for a check due at `at` may end up to one grid step later
// (timer-grid.ts) so that the checks of every account due within one step start in one wake-up —
// never past the cycle's dispatch end, so a cycle still ends before the next tick. The budget is
// never at stake: a grant compares the call log with the time it is made at, and a late timer
// only makes a call later.
//
// Every time here is the clock's monotonic reading.

import type { Clock } from '../monitor/clock.js';
import type { DuePick, DueQueue } from '../monitor/due-queue.js';
import type { CheckFn, CheckSlots, CycleReport, SpareWork } from './cycle.js';
import type { Slot } from './metered-gateway.js';
import { Napper } from './nap.js';
import { spareStart } from './spare-slots.js';

// Until a check has been timed, assume this long for one; it sets how early before the
// deadline a cycle stops starting calls.
const INITIAL_CHECK_ESTIMATE_MS = 250;

/**
 * How much sooner than the time its last check needs a cycle stops starting calls: a busy event
 * loop (a GC pause, timers firing late) must not push the cycle's end past the next tick, which
 * would then be skipped for the account. At 100,000 devices the loop stalls up to 140–265 ms; at
 * 100 ms one such stall skipped a tick for every account. A check due in this last stretch starts
 * at the next tick instead, a fraction of a percent of a 60 s interval late.
 */
const CYCLE_END_ALLOWANCE_MS = 300;

/**
 * With coalesced naps, how early a routine check may start before its due time. A wake-up on the
 * grid comes a few ms after its boundary (timer lateness, the call log's batch), and the check's
 * next due time is one interval after that; without this allowance it would fall just after the
 * boundary one interval later and wait for the next one, slipping one step every round.
 */
export const DUE_EARLY_MS = 50;

/** What an account's cycles share across cycles: the scheduler owns it, one cycle at a time uses it. */
export class DispatchState {
  readonly napper: Napper;
  /** How early a routine check may start (DUE_EARLY_MS when naps coalesce, else 0). */
  readonly earlyMs: number;
  queue: DueQueue;
  concurrency: number;
  inFlight = 0;
  checkEstimateMs = INITIAL_CHECK_ESTIMATE_MS;

  constructor(
    readonly account: string,
    readonly clock: Clock,
    readonly slots: CheckSlots,
    readonly check: CheckFn,
    readonly spare: SpareWork | undefined,
    readonly warn: (message: string) => void,
    queue: DueQueue,
    concurrency: number,
  ) {
    this.napper = new Napper(clock);
    // Only a clock with its own timers coalesces naps (poll/nap.ts); on another, checks start
    // exactly at their due times, as they always did.
    this.earlyMs = clock.timer === undefined ? 0 : DUE_EARLY_MS;
    this.queue = queue;
    this.concurrency = concurrency;
  }

  /** Something changed that the loop should look at now (a check ended, a stop, a reload). */
  wake(): void {
    this.napper.wake();
  }
}

interface Tally {
  checks: number;
  urgentChecks: number;
  errors: number;
  rateLimited: boolean;
  stopDispatch: boolean;
  /** Spare work run (balance reads). */
  spare: number;
}

/**
 * Runs one cycle from `started` to `deadline`: stops dispatching when `stops.dispatch` aborts
 * (it must wake the state's napper when it does), aborts checks in flight when `stops.check`
 * does. Resolves once nothing is in flight; never rejects.
 */
export async function runDispatchCycle(
  s: DispatchState,
  stops: { readonly dispatch: AbortSignal; readonly check: AbortSignal },
  started: number,
  deadline: number,
): Promise<CycleReport> {
  const { clock, slots, napper } = s;
  const queue = s.queue;
  const dispatchAbort = stops.dispatch;
  const checkAbort = stops.check;

  const tally: Tally = {
    checks: 0,
    urgentChecks: 0,
    errors: 0,
    rateLimited: false,
    stopDispatch: false,
    spare: 0,
  };
  // Leave room for the last call to finish before the next tick, and for a busy event loop.
  const margin = Math.min(
    2 * s.checkEstimateMs + CYCLE_END_ALLOWANCE_MS,
    Math.max(0, deadline - started) / 4,
  );
  const dispatchUntil = deadline - margin;
  const pass = queue.beginPass(started, dispatchUntil);
  const nextDueAt = (): number => queue.nextDueAt();

  for (;;) {
    if (dispatchAbort.aborted) tally.stopDispatch = true;
    if (tally.stopDispatch) {
      if (s.inFlight === 0) break;
      await napper.nap(Number.POSITIVE_INFINITY);
      continue;
    }
    const now = clock.monotonic();
    if (s.inFlight >= s.concurrency) {
      await napper.nap(Number.POSITIVE_INFINITY);
      continue;
    }
    const pick = queue.peek(pass);
    const freeAt = slots.nextFreeAt(now);
    const at = pick === undefined ? Number.POSITIVE_INFINITY : startAt(s, pick, freeAt);
    const statusThisCycle = pick !== undefined && at < dispatchUntil;
    // Spare work (balance reads) only on a slot no status check wants, started in this cycle.
    const spareDue = s.spare === undefined ? null : s.spare.nextDueAt();
    const spare =
      spareDue === null
        ? null
        : spareStart({
            dueAt: spareDue,
            freeAt,
            statusAt: statusThisCycle ? at : null,
            nextDueAt,
            dispatchUntil,
            plannedSpacingMs: slots.plannedSpacingMs,
          });
    if (spare !== null && spare.at <= now) {
      const slot = await slots.takeSlot(now);
      // Stopped while the log was asked: a slot lost, on the safe side.
      if (slot === null || dispatchAbort.aborted) continue;
      void runSpare(s, slot, tally, checkAbort);
      continue;
    }
    if (!statusThisCycle) {
      // No status check this cycle, unless a check in flight brings a confirmation.
      if (spare !== null) await napper.napUntil(spare.at, spare.latest - spare.at);
      else if (s.inFlight === 0) break;
      else await napper.nap(Number.POSITIVE_INFINITY);
      continue;
    }
    if (at > now) {
      if (spare !== null && spare.at < at) await napper.napUntil(spare.at, spare.latest - spare.at);
      // Waiting for a due time: up to a grid step late, to share a wake-up with other checks,
      // never past the dispatch end. Waiting for the budget: on time — the next slot is one
      // spacing after this grant, so lateness here would add up call after call.
      else await napper.napUntil(at, at > freeAt ? dispatchUntil - at : 0);
      continue;
    }
    // Null when an out-of-band call took the slot first: the loop looks again.
    const slot = await slots.takeSlot(now);
    if (slot === null) continue;
    // The grant waited for the call log: meanwhile a check may have asked for a confirmation
    // (served first), or a reload removed the device. The slot goes to what is first now.
    const first = queue.peek(pass);
    if (first === undefined || startAt(s, first, slot.at) > slot.at || dispatchAbort.aborted) {
      continue; // a slot lost, on the safe side: the budget counts it, no call is made
    }
    queue.take(pass, first);
    // runCheck never rejects; the loop waits for it through inFlight before returning.
    void runCheck(s, first, slot, tally, checkAbort);
  }

  // No timer left armed between cycles.
  napper.cancel();
  const finished = clock.monotonic();
  return {
    account: s.account,
    started,
    finished,
    checks: tally.checks,
    spareCalls: tally.spare,
    urgentChecks: tally.urgentChecks,
    errors: tally.errors,
    rateLimited: tally.rateLimited,
    deferred: queue.deferred(pass, finished),
    skipped: false,
  };
}

/** When the pick may start: the queue's answer, a routine check up to `earlyMs` before it is due. */
function startAt(s: DispatchState, pick: DuePick, freeAt: number): number {
  return pick.urgent ? freeAt : Math.max(freeAt, pick.entry.dueAt - s.earlyMs);
}

async function runCheck(
  s: DispatchState,
  pick: DuePick,
  slot: Slot,
  tally: Tally,
  signal: AbortSignal,
): Promise<void> {
  const startedAt = slot.at;
  // The queue of the cycle: a restore between cycles replaces s.queue, never during one.
  const queue = s.queue;
  s.inFlight++;
  tally.checks++;
  if (pick.urgent) tally.urgentChecks++;
  let outcome: 'checked' | 'rate_limited' | 'aborted' = 'checked';
  let recheck = false;
  try {
    const result = await s.check(pick.entry.number, signal, slot);
    const observation = result.observation;
    if (observation.kind !== 'status') {
      tally.errors++;
      if (observation.reason === 'rate_limited') {
        // The metered gateway paused the account; this cycle starts nothing more.
        outcome = 'rate_limited';
        tally.rateLimited = true;
        tally.stopDispatch = true;
      }
    }
    recheck = result.recheckSoon;
  } catch (error) {
    if (signal.aborted) {
      outcome = 'aborted';
    } else {
      // The check callback is meant to turn every failure into a probe error; this is a bug.
      tally.errors++;
      const message = error instanceof Error ? error.message : String(error);
      s.warn(`account ${s.account}: check of device ${pick.entry.number} failed: ${message}`);
    }
  } finally {
    s.inFlight--;
    if (outcome !== 'aborted') {
      const took = Math.max(0, s.clock.monotonic() - startedAt);
      s.checkEstimateMs = 0.8 * s.checkEstimateMs + 0.2 * took;
    }
    queue.finish(pick, startedAt, outcome, recheck);
    s.wake();
  }
}

async function runSpare(s: DispatchState, slot: Slot, tally: Tally, signal: AbortSignal): Promise<void> {
  s.inFlight++;
  try {
    const result = await s.spare!.run(slot, signal);
    if (result.ran) tally.spare++;
    if (result.rateLimited) {
      tally.rateLimited = true;
      tally.stopDispatch = true;
    }
  } catch (error) {
    // run() is meant never to reject; this is a bug, but not one to stop the cycle for.
    const message = error instanceof Error ? error.message : String(error);
    s.warn(`account ${s.account}: spare work failed: ${message}`);
  } finally {
    s.inFlight--;
    s.wake();
  }
}
