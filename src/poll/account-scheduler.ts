// When each device of one account is checked (SPEC §3 "Timing" and "Budget"): the account's
// dispatch, cycle by cycle.
//
// A tick (node-cron, see ticker.ts) starts one poll cycle per account. The cycle itself — asking
// the account's DueQueue (monitor/due-queue.ts, pure) what is due and starting each check on a
// slot of the account's metered gateway, napping between calls so they spread evenly over the
// tick — is dispatch-cycle.ts; which slots are left for balance reads is spare-slots.ts. This
// class holds what lasts across cycles (the queue, the checks in flight, the stop) and the
// account's public face: one cycle at a time, reloads, confirmations asked from outside, stop.
// Every time here is the clock's monotonic reading (a wall clock stepped back must not hold the
// checks back); devices' `lastCheckAt` come in converted.
//
// The scheduler decides only *when*; what a check means (state machine, alerts, storage) is the
// `check` callback's business, and it answers whether the device needs a quick confirmation.

import type { Clock } from '../monitor/clock.js';
import { DueQueue, validateSchedule, type ScheduledDevice } from '../monitor/due-queue.js';
import {
  DEFAULT_CYCLE_MS,
  type CheckFn,
  type CheckSlots,
  type CycleOptions,
  type CycleReport,
  type CycleRunner,
  type SpareWork,
} from './cycle.js';
import { DispatchState, runDispatchCycle } from './dispatch-cycle.js';
import { linkSignals, type LinkedSignal } from '../net/abort.js';

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

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

/** Schedules the checks of one account. One cycle at a time; see PollLoop for the ticks. */
export class AccountScheduler implements CycleRunner {
  readonly account: string;
  readonly #clock: Clock;
  readonly #onWarn: (message: string) => void;
  readonly #slots: CheckSlots;
  readonly #dispatch: DispatchState;

  #running: Promise<CycleReport> | undefined;
  #stopped = false;
  // Stopping ends naps and dispatching at once; in-flight checks are aborted after a grace.
  readonly #dispatchStop = new AbortController();
  readonly #checkStop = new AbortController();
  /**
   * The tick's signal linked with the stops, kept while the ticks pass the same signal (the poll
   * loop's, until an interrupt): not two controllers and listeners per cycle.
   */
  #links:
    | { readonly source: AbortSignal; readonly dispatch: LinkedSignal; readonly check: LinkedSignal }
    | undefined;

  #warnedIntervalMs: number | undefined;
  #lastCycleDurationMs: number | undefined;

  constructor(options: AccountSchedulerOptions) {
    validateSchedule(options.devices, options.slots.ratePerMinute, options.concurrency);
    this.account = options.account;
    this.#clock = options.clock;
    this.#onWarn = options.onWarn ?? (() => undefined);
    this.#slots = options.slots;
    this.#dispatch = new DispatchState(
      options.account,
      options.clock,
      options.slots,
      options.check,
      options.spare,
      (message) => this.#warn(message),
      new DueQueue(),
      options.concurrency,
    );
    this.#applyDevices(options.devices);
  }

  /** How often the account's most frequently due devices are really checked, given the budget. */
  get effectiveIntervalMs(): number {
    return this.#dispatch.queue.effectiveIntervalMs;
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
    if (!this.#dispatch.queue.checkSoon(device)) return false;
    this.#dispatch.wake();
    return true;
  }

  /** A config reload: the call log, the pause and each kept device's last check survive it. */
  update(update: SchedulerUpdate): void {
    validateSchedule(update.devices, update.rateLimitPerMinute, update.concurrency);
    this.#slots.setRate(update.rateLimitPerMinute);
    this.#dispatch.concurrency = update.concurrency;
    this.#applyDevices(update.devices);
    this.#dispatch.wake();
  }

  /**
   * Replaces every device's schedule, as at start-up: each is next due one interval after its
   * `lastCheckAt` (a device without one is spread over its first interval), confirmations asked
   * for are forgotten. For a state reloaded from the store (a takeover, a standby's refresh);
   * only between cycles — a cycle running would go on with the schedule it began with.
   */
  restore(devices: readonly ScheduledDevice[]): void {
    validateSchedule(devices, this.#slots.ratePerMinute, this.#dispatch.concurrency);
    this.#dispatch.queue = new DueQueue();
    this.#applyDevices(devices);
    this.#dispatch.wake();
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
    const links = this.#linksFor(signal);
    const running = runDispatchCycle(
      this.#dispatch,
      { dispatch: links.dispatch.signal, check: links.check.signal },
      started,
      options.deadline ?? started + DEFAULT_CYCLE_MS,
    );
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
   * Stops at once: no new call, naps end. Checks in flight get `graceMs` (default 0) to finish
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
      this.#unlink();
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
    this.#unlink();
  }

  #linksFor(signal: AbortSignal): { readonly dispatch: LinkedSignal; readonly check: LinkedSignal } {
    if (this.#links?.source === signal) return this.#links;
    this.#unlink();
    const dispatch = linkSignals([signal, this.#dispatchStop.signal]);
    const check = linkSignals([signal, this.#checkStop.signal]);
    // A stop (or an interrupted tick) ends the nap of a cycle running at once.
    dispatch.signal.addEventListener('abort', () => this.#dispatch.wake(), { once: true });
    this.#links = { source: signal, dispatch, check };
    return this.#links;
  }

  /** Detaches from the tick's signal (a new one came, or the scheduler stopped for good). */
  #unlink(): void {
    this.#links?.dispatch.dispose();
    this.#links?.check.dispose();
    this.#links = undefined;
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
    const plan = this.#dispatch.queue.apply(devices, this.#slots.plannedSpacingMs, this.#clock.monotonic());
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
