// When each device of one account is checked (SPEC §3 "Timing" and "Budget"): the async half.
//
// A tick (node-cron, see ticker.ts) starts one poll cycle per account. A cycle asks the account's
// DueQueue (monitor/due-queue.ts, pure) what is due — confirmation re-checks first, then routine
// checks most-overdue first — and starts each on a slot of the account's metered gateway, sleeping
// on the injected clock between calls, so the calls are spread evenly over the tick period
// instead of bursting at the tick. Every time here is the clock's monotonic reading (a wall clock
// stepped back must not hold the checks back); devices' `lastCheckAt` come in converted.
//
// The scheduler decides only *when*; what a check means (state machine, alerts, storage) is the
// `check` callback's business, and it answers whether the device needs a quick confirmation.
//
// Over 350 lines for now: dispatch, urgent confirmations and the spare slots for balance reads
// are one loop over one budget; the spare-slot planning is the part to move out next (issue 17).

import type { Clock } from '../monitor/clock.js';
import { DueQueue, validateSchedule, type DuePick, type ScheduledDevice } from '../monitor/due-queue.js';
import {
  DEFAULT_CYCLE_MS,
  type CheckFn,
  type CheckSlots,
  type CycleOptions,
  type CycleReport,
  type CycleRunner,
  type SpareWork,
} from './cycle.js';
import { linkSignals } from '../net/abort.js';
import type { Slot } from './metered-gateway.js';

export type { ScheduledDevice } from '../monitor/due-queue.js';

export interface AccountSchedulerOptions {
  readonly account: string;
  readonly devices: readonly ScheduledDevice[];
  readonly concurrency: number;
  readonly clock: Clock;
  /** The account's metered gateway. */
  readonly slots: CheckSlots;
  readonly check: CheckFn;
  /** Balance reads: only on slots no status check wants. */
  readonly spare?: SpareWork;
  readonly onWarn?: (message: string) => void;
}

export interface SchedulerUpdate {
  readonly devices: readonly ScheduledDevice[];
  readonly rateLimitPerMinute: number;
  readonly concurrency: number;
}

// Until a check has been timed, assume this long for one; it sets how early before the
// deadline a cycle stops starting calls.
const INITIAL_CHECK_ESTIMATE_MS = 250;
// How late a balance read may make a status check start: timer jitter, not a stretch.
const SPARE_SLACK_MS = 250;

interface CycleState {
  checks: number;
  urgentChecks: number;
  errors: number;
  rateLimited: boolean;
  stopDispatch: boolean;
  /** Spare work run (balance reads). */
  spare: number;
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

/** Schedules the checks of one account. One cycle at a time; see PollLoop for the ticks. */
export class AccountScheduler implements CycleRunner {
  readonly account: string;
  readonly #clock: Clock;
  readonly #check: CheckFn;
  readonly #onWarn: (message: string) => void;
  readonly #slots: CheckSlots;
  readonly #spare: SpareWork | undefined;
  #queue = new DueQueue();
  #concurrency: number;
  #inFlight = 0;

  #running: Promise<CycleReport> | undefined;
  #stopped = false;
  // Stopping ends sleeps and dispatching at once; in-flight checks are aborted after a grace.
  readonly #dispatchStop = new AbortController();
  readonly #checkStop = new AbortController();
  #poke: (() => void) | undefined;

  #warnedIntervalMs: number | undefined;
  #lastCycleDurationMs: number | undefined;
  #checkEstimateMs = INITIAL_CHECK_ESTIMATE_MS;

  constructor(options: AccountSchedulerOptions) {
    validateSchedule(options.devices, options.slots.ratePerMinute, options.concurrency);
    this.account = options.account;
    this.#clock = options.clock;
    this.#check = options.check;
    this.#onWarn = options.onWarn ?? (() => undefined);
    this.#slots = options.slots;
    this.#spare = options.spare;
    this.#concurrency = options.concurrency;
    this.#applyDevices(options.devices);
  }

  /** How often the account's most frequently due devices are really checked, given the budget. */
  get effectiveIntervalMs(): number {
    return this.#queue.effectiveIntervalMs;
  }

  /** Duration of the last cycle that ran to its end; undefined before the first. */
  get lastCycleDurationMs(): number | undefined {
    return this.#lastCycleDurationMs;
  }

  /**
   * Asks for a check of the device ahead of routine work, as soon as the budget allows
   * (a re-link page waiting for "connected"); a check already in flight answers instead.
   * False when the device is not scheduled here.
   */
  checkSoon(device: string): boolean {
    if (!this.#queue.checkSoon(device)) return false;
    this.#wake();
    return true;
  }

  /** A config reload: the call log, the pause and each kept device's last check survive it. */
  update(update: SchedulerUpdate): void {
    validateSchedule(update.devices, update.rateLimitPerMinute, update.concurrency);
    this.#slots.setRate(update.rateLimitPerMinute);
    this.#concurrency = update.concurrency;
    this.#applyDevices(update.devices);
    this.#wake();
  }

  /**
   * Replaces every device's schedule, as at start-up: each is next due one interval after its
   * `lastCheckAt` (a device without one is spread over its first interval), confirmations asked
   * for are forgotten. For a state reloaded from the store (a takeover, a standby's refresh);
   * only between cycles — a cycle running would go on with the schedule it began with.
   */
  restore(devices: readonly ScheduledDevice[]): void {
    validateSchedule(devices, this.#slots.ratePerMinute, this.#concurrency);
    this.#queue = new DueQueue();
    this.#applyDevices(devices);
    this.#wake();
  }

  /**
   * One poll cycle. If the previous one still runs, returns at once with `skipped`.
   * Never rejects: errors of checks are counted in the report and passed to `onWarn`.
   */
  async runCycle(signal: AbortSignal, options: CycleOptions = {}): Promise<CycleReport> {
    const started = this.#clock.monotonic();
    if (this.#running !== undefined || this.#stopped) {
      return {
        account: this.account,
        started,
        finished: started,
        checks: 0,
        spareCalls: 0,
        urgentChecks: 0,
        errors: 0,
        rateLimited: false,
        deferred: 0,
        skipped: !this.#stopped,
      };
    }
    const running = this.#cycle(signal, started, options.deadline ?? started + DEFAULT_CYCLE_MS);
    this.#running = running;
    try {
      const report = await running;
      this.#lastCycleDurationMs = report.finished - report.started;
      return report;
    } finally {
      this.#running = undefined;
    }
  }

  /**
   * Stops at once: no new call, sleeps end. Checks in flight get `graceMs` (default 0) to finish
   * before their signal aborts. Resolves when they are done.
   */
  async stop(options: { readonly graceMs?: number } = {}): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#dispatchStop.abort(new Error(`scheduler of account ${this.account} stopped`));
    }
    const running = this.#running;
    if (running === undefined) {
      this.#checkStop.abort();
      return;
    }
    const grace = options.graceMs ?? 0;
    if (grace > 0) {
      const done = new AbortController();
      const timer = this.#clock.sleep(grace, done.signal).then(
        () => this.#checkStop.abort(),
        () => undefined,
      );
      await running;
      done.abort();
      await timer;
    } else {
      this.#checkStop.abort();
      await running;
    }
    this.#checkStop.abort();
  }

  async #cycle(signal: AbortSignal, started: number, deadline: number): Promise<CycleReport> {
    const clock = this.#clock;
    const queue = this.#queue;
    const dispatchLink = linkSignals([signal, this.#dispatchStop.signal]);
    const checkLink = linkSignals([signal, this.#checkStop.signal]);
    const dispatchAbort = dispatchLink.signal;
    const checkAbort = checkLink.signal;
    const onAbort = (): void => this.#wake();
    dispatchAbort.addEventListener('abort', onAbort);

    const state: CycleState = {
      checks: 0,
      urgentChecks: 0,
      errors: 0,
      rateLimited: false,
      stopDispatch: false,
      spare: 0,
    };
    // Leave room for the last call to finish before the next tick.
    const margin = Math.min(2 * this.#checkEstimateMs, Math.max(0, deadline - started) / 4);
    const dispatchUntil = deadline - margin;
    const pass = queue.beginPass(started, dispatchUntil);

    try {
      for (;;) {
        if (dispatchAbort.aborted) state.stopDispatch = true;
        if (state.stopDispatch) {
          if (this.#inFlight === 0) break;
          await this.#nap(Number.POSITIVE_INFINITY);
          continue;
        }
        const now = clock.monotonic();
        if (this.#inFlight >= this.#concurrency) {
          await this.#nap(Number.POSITIVE_INFINITY);
          continue;
        }
        const pick = queue.peek(pass);
        const freeAt = this.#slots.nextFreeAt(now);
        const at = pick === undefined ? Number.POSITIVE_INFINITY : queue.startAt(pick, freeAt);
        // Spare work (balance reads) only on a slot no status check wants, started in this cycle.
        const spareAt = this.#spareAt(
          freeAt,
          pick === undefined || at >= dispatchUntil ? null : at,
          dispatchUntil,
        );
        if (spareAt !== null && spareAt <= now) {
          const slot = await this.#slots.takeSlot(now);
          // Stopped while the log was asked: a slot lost, on the safe side.
          if (slot === null || dispatchAbort.aborted) continue;
          void this.#runSpare(slot, state, checkAbort);
          continue;
        }
        if (pick === undefined || at >= dispatchUntil) {
          // No status check this cycle, unless a check in flight brings a confirmation.
          if (spareAt !== null) await this.#nap(spareAt - now);
          else if (this.#inFlight === 0) break;
          else await this.#nap(Number.POSITIVE_INFINITY);
          continue;
        }
        if (at > now) {
          await this.#nap(Math.min(at, spareAt ?? Number.POSITIVE_INFINITY) - now);
          continue;
        }
        // Null when an out-of-band call took the slot first: the loop looks again.
        const slot = await this.#slots.takeSlot(now);
        if (slot === null) continue;
        // The grant waited for the call log: meanwhile a check may have asked for a confirmation
        // (served first), or a reload removed the device. The slot goes to what is first now.
        const first = queue.peek(pass);
        if (first === undefined || queue.startAt(first, slot.at) > slot.at || dispatchAbort.aborted) {
          continue; // a slot lost, on the safe side: the budget counts it, no call is made
        }
        queue.take(pass, first);
        // #runCheck never rejects; the loop waits for it through #inFlight before returning.
        void this.#runCheck(first, slot, state, checkAbort);
      }
    } finally {
      // The loop ends only with nothing in flight, so no check still holds checkAbort.
      dispatchAbort.removeEventListener('abort', onAbort);
      dispatchLink.dispose();
      checkLink.dispose();
    }

    const finished = clock.monotonic();
    return {
      account: this.account,
      started,
      finished,
      checks: state.checks,
      spareCalls: state.spare,
      urgentChecks: state.urgentChecks,
      errors: state.errors,
      rateLimited: state.rateLimited,
      deferred: queue.deferred(pass, finished),
      skipped: false,
    };
  }

  async #runCheck(pick: DuePick, slot: Slot, state: CycleState, signal: AbortSignal): Promise<void> {
    const startedAt = slot.at;
    this.#inFlight++;
    state.checks++;
    if (pick.urgent) state.urgentChecks++;
    let outcome: 'checked' | 'rate_limited' | 'aborted' = 'checked';
    let recheck = false;
    try {
      const result = await this.#check(pick.entry.number, signal, slot);
      const observation = result.observation;
      if (observation.kind !== 'status') {
        state.errors++;
        if (observation.reason === 'rate_limited') {
          // The metered gateway paused the account; this cycle starts nothing more.
          outcome = 'rate_limited';
          state.rateLimited = true;
          state.stopDispatch = true;
        }
      }
      recheck = result.recheckSoon;
    } catch (error) {
      if (signal.aborted) {
        outcome = 'aborted';
      } else {
        // The check callback is meant to turn every failure into a probe error; this is a bug.
        state.errors++;
        const message = error instanceof Error ? error.message : String(error);
        this.#warn(`account ${this.account}: check of device ${pick.entry.number} failed: ${message}`);
      }
    } finally {
      this.#inFlight--;
      if (outcome !== 'aborted') {
        const took = Math.max(0, this.#clock.monotonic() - startedAt);
        this.#checkEstimateMs = 0.8 * this.#checkEstimateMs + 0.2 * took;
      }
      this.#queue.finish(pick, startedAt, outcome, recheck);
      this.#wake();
    }
  }

  /**
   * When spare work may start: when it is due and the budget is free, before the cycle's end,
   * provided the slot it takes is free again by the next status check (`statusAt`, this cycle's
   * next pick, else the queue's next due time, maybe in a later cycle). Timers fire a few ms
   * late, so "by" allows SPARE_SLACK: a status check may start that much late, never more, and
   * its cadence does not drift (it settles on the budget's grid). Null when none fits.
   */
  #spareAt(freeAt: number, statusAt: number | null, dispatchUntil: number): number | null {
    const due = this.#spare?.nextDueAt() ?? null;
    if (due === null) return null;
    const start = Math.max(due, freeAt);
    if (start >= dispatchUntil) return null;
    const next = statusAt ?? this.#queue.nextDueAt();
    // The planned spacing, not the least gap: reads must leave the out-of-band share alone too.
    const spacing = this.#slots.plannedSpacingMs;
    const slack = Math.min(SPARE_SLACK_MS, spacing / 4);
    return start + spacing <= next + slack ? start : null;
  }

  async #runSpare(slot: Slot, state: CycleState, signal: AbortSignal): Promise<void> {
    this.#inFlight++;
    try {
      const result = await this.#spare!.run(slot, signal);
      if (result.ran) state.spare++;
      if (result.rateLimited) {
        state.rateLimited = true;
        state.stopDispatch = true;
      }
    } catch (error) {
      // run() is meant never to reject; this is a bug, but not one to stop the cycle for.
      const message = error instanceof Error ? error.message : String(error);
      this.#warn(`account ${this.account}: spare work failed: ${message}`);
    } finally {
      this.#inFlight--;
      this.#wake();
    }
  }

  async #nap(ms: number): Promise<void> {
    const napper = new AbortController();
    this.#poke = () => napper.abort();
    try {
      await this.#clock.sleep(ms, napper.signal);
    } catch {
      // poked: the loop looks again
    } finally {
      this.#poke = undefined;
    }
  }

  #wake(): void {
    this.#poke?.();
  }

  // A throwing logger must not become an unhandled rejection of a check nobody awaits.
  #warn(message: string): void {
    try {
      this.#onWarn(message);
    } catch {
      // nothing better to do with it
    }
  }

  #applyDevices(devices: readonly ScheduledDevice[]): void {
    const plan = this.#queue.apply(devices, this.#slots.plannedSpacingMs, this.#clock.monotonic());
    if (!plan.stretched) {
      this.#warnedIntervalMs = undefined;
      return;
    }
    if (this.#warnedIntervalMs === plan.effectiveIntervalMs) return;
    this.#warnedIntervalMs = plan.effectiveIntervalMs;
    this.#warn(
      `account ${this.account}: ${plan.devices} devices cannot each be checked every ` +
        `${formatSeconds(plan.shortestMs)} within ${this.#slots.ratePerMinute}/min; ` +
        `effective interval is ${formatSeconds(plan.effectiveIntervalMs)}`,
    );
  }
}
