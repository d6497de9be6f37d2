// When each device is checked (SPEC §3 "Timing" and "Budget").
//
// A tick (node-cron, see ticker.ts) starts one poll cycle per account. A cycle picks the work
// that is due — confirmation re-checks first, then routine checks most-overdue first — and
// dispatches it through the account's Budget, sleeping on the injected clock between calls, so
// the calls are spread evenly over the tick period instead of bursting at the tick.
//
// The scheduler decides only *when*; what a check means (state machine, alerts, storage) is the
// `check` callback's business, and it answers whether the device needs a quick confirmation.

import { setMaxListeners } from 'node:events';
import { Budget } from './budget.js';
import type { Clock } from './clock.js';
import type { Observation } from './model.js';

export interface CheckResult {
  readonly observation: Observation;
  /** The state machine wants this device confirmed soon (e.g. first non-connected status). */
  readonly recheckSoon: boolean;
}

export type CheckFn = (device: string, signal: AbortSignal) => Promise<CheckResult>;

export interface ScheduledDevice {
  readonly number: string;
  readonly intervalMs: number;
  /** When the device was last checked (from the store after a restart); absent for a new device. */
  readonly lastCheckAt?: number;
}

export interface AccountSchedulerOptions {
  readonly account: string;
  readonly devices: readonly ScheduledDevice[];
  readonly rateLimitPerMinute: number;
  readonly concurrency: number;
  readonly clock: Clock;
  readonly check: CheckFn;
  readonly onWarn?: (message: string) => void;
}

export interface SchedulerUpdate {
  readonly devices: readonly ScheduledDevice[];
  readonly rateLimitPerMinute: number;
  readonly concurrency: number;
}

export interface CycleOptions {
  /**
   * When the next tick is expected. No call is started so late that it would still run then,
   * so a cycle does not push the next tick into a skip. Default: now + DEFAULT_CYCLE_MS.
   */
  readonly deadline?: number;
}

export interface CycleReport {
  readonly account: string;
  readonly started: number;
  readonly finished: number;
  /** API calls started in this cycle. */
  readonly checks: number;
  /** Of those, confirmation re-checks. */
  readonly urgentChecks: number;
  /** Checks that yielded a probe error, or failed outright. */
  readonly errors: number;
  /** A 429 paused the account during this cycle. */
  readonly rateLimited: boolean;
  /** Devices due by the end of the cycle that it did not reach (budget, pause or deadline). */
  readonly deferred: number;
  /** The previous cycle still ran at this tick, so this one did nothing. */
  readonly skipped: boolean;
}

export const DEFAULT_CYCLE_MS = 10_000;

// Until a check has been timed, assume this long for one; it sets how early before the
// deadline a cycle stops starting calls.
const INITIAL_CHECK_ESTIMATE_MS = 250;

/**
 * The least interval that every device can be checked at within the budget: 0 when all
 * configured intervals fit, else the floor F that shorter intervals are stretched to, chosen so
 * that Σ spacing / max(interval, F) = 1 (the devices with long intervals keep theirs).
 * O(n log n); runs on start and reload only.
 */
export function stretchFloorMs(intervalsMs: readonly number[], spacingMs: number): number {
  const sorted = [...intervalsMs].sort((a, b) => a - b);
  const n = sorted.length;
  // load[k] = share of the budget taken by devices k..n-1 at their configured intervals
  const load = new Array<number>(n + 1).fill(0);
  for (let i = n - 1; i >= 0; i--) load[i] = load[i + 1]! + spacingMs / sorted[i]!;
  const epsilon = 1e-9;
  if (load[0]! <= 1 + epsilon) return 0;
  for (let k = 1; k <= n; k++) {
    const rest = load[k]!;
    if (rest >= 1) continue;
    const floor = (k * spacingMs) / (1 - rest);
    if (k === n || floor <= sorted[k]!) return Math.ceil(floor - epsilon);
  }
  return Math.ceil(n * spacingMs);
}

interface DeviceEntry {
  readonly number: string;
  intervalMs: number;
  effectiveMs: number;
  lastCheckAt: number | undefined;
  /** First due time of a device never checked: start-up spreading. */
  firstDueAt: number;
  dueAt: number;
  inFlight: boolean;
  removed: boolean;
}

interface CycleState {
  checks: number;
  urgentChecks: number;
  errors: number;
  rateLimited: boolean;
  stopDispatch: boolean;
}

interface Waiter {
  granted: boolean;
  readonly wake: () => void;
}

// Checked before any state changes, so a rejected reload leaves the scheduler as it was.
function validate(
  devices: readonly ScheduledDevice[],
  rateLimitPerMinute: number,
  concurrency: number,
): void {
  for (const device of devices) {
    if (!(device.intervalMs > 0) || !Number.isFinite(device.intervalMs)) {
      throw new RangeError(`interval of device ${device.number} must be positive, got ${device.intervalMs}`);
    }
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  if (!Number.isInteger(rateLimitPerMinute) || rateLimitPerMinute < 1) {
    throw new RangeError(`rate limit must be a positive integer per minute, got ${rateLimitPerMinute}`);
  }
}

interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Detaches from the sources; call when the work the signal guards is over. */
  dispose(): void;
}

// AbortSignal.any() is kept alive by long-lived sources (nodejs/node#55351), and the stop
// signals here live as long as the process while a cycle links to them every tick.
function linkSignals(sources: readonly AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  const listeners: [AbortSignal, () => void][] = [];
  for (const source of sources) {
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    const onAbort = (): void => controller.abort(source.reason);
    source.addEventListener('abort', onAbort, { once: true });
    listeners.push([source, onAbort]);
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [source, onAbort] of listeners) source.removeEventListener('abort', onAbort);
    },
  };
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

/** Schedules the checks of one account. One cycle at a time; see PollLoop for the ticks. */
export class AccountScheduler {
  readonly account: string;
  readonly #clock: Clock;
  readonly #check: CheckFn;
  readonly #onWarn: (message: string) => void;
  readonly #budget: Budget;
  #concurrency: number;

  // Map order is configuration order, which breaks ties between equally overdue devices.
  readonly #devices = new Map<string, DeviceEntry>();
  // Insertion order: confirmations are served first come, first served.
  readonly #urgent = new Set<DeviceEntry>();
  #inFlight = 0;

  #running: Promise<CycleReport> | undefined;
  #stopped = false;
  // Stopping ends sleeps and dispatching at once; in-flight checks are aborted after a grace.
  readonly #dispatchStop = new AbortController();
  readonly #checkStop = new AbortController();
  #poke: (() => void) | undefined;
  readonly #waiters: Waiter[] = [];

  #effectiveIntervalMs = 0;
  #warnedIntervalMs: number | undefined;
  #skippedCycles = 0;
  #lastCycleDurationMs: number | undefined;
  #checkEstimateMs = INITIAL_CHECK_ESTIMATE_MS;

  constructor(options: AccountSchedulerOptions) {
    validate(options.devices, options.rateLimitPerMinute, options.concurrency);
    this.account = options.account;
    this.#clock = options.clock;
    this.#check = options.check;
    this.#onWarn = options.onWarn ?? (() => undefined);
    this.#budget = new Budget({ ratePerMinute: options.rateLimitPerMinute });
    this.#concurrency = options.concurrency;
    this.#applyDevices(options.devices);
  }

  /** How often the account's most frequently due devices are really checked, given the budget. */
  get effectiveIntervalMs(): number {
    return this.#effectiveIntervalMs;
  }

  /** Ticks that found the previous cycle still running. */
  get skippedCycles(): number {
    return this.#skippedCycles;
  }

  /** Duration of the last cycle that ran to its end; undefined before the first. */
  get lastCycleDurationMs(): number | undefined {
    return this.#lastCycleDurationMs;
  }

  get isRunning(): boolean {
    return this.#running !== undefined;
  }

  /** Read-only view of the budget, for metrics and tests. */
  get budget(): Pick<Budget, 'ratePerMinute' | 'spacingMs' | 'pausedUntil' | 'nextFreeAt'> {
    return this.#budget;
  }

  /** When the device is next due (for status pages and tests); undefined if unknown. */
  dueAt(device: string): number | undefined {
    return this.#devices.get(device)?.dueAt;
  }

  /**
   * Asks for a check of the device ahead of routine work, as soon as the budget allows
   * (a re-link page waiting for "connected"); a check already in flight answers instead.
   * False when the device is not scheduled here.
   */
  checkSoon(device: string): boolean {
    const entry = this.#devices.get(device);
    if (entry === undefined) return false;
    if (!entry.inFlight) this.#urgent.add(entry);
    this.#wake();
    return true;
  }

  /** A config reload: the call log, the pause and each kept device's last check survive it. */
  update(update: SchedulerUpdate): void {
    validate(update.devices, update.rateLimitPerMinute, update.concurrency);
    this.#budget.setRate(update.rateLimitPerMinute);
    this.#concurrency = update.concurrency;
    this.#applyDevices(update.devices);
    this.#wake();
  }

  /**
   * Takes a budget slot for a call the daemon makes outside the cycles (a `/connect` for a QR
   * code), waiting as long as the budget or a pause requires. Served before any check.
   * Rejects when the signal aborts or the scheduler stops.
   */
  async reserve(signal?: AbortSignal): Promise<void> {
    if (this.#stopped) throw new Error(`scheduler of account ${this.account} is stopped`);
    const sources = [this.#dispatchStop.signal];
    if (signal !== undefined) sources.push(signal);
    const aborted = linkSignals(sources);
    let napper: AbortController | undefined;
    const waiter: Waiter = { granted: false, wake: () => napper?.abort() };
    const onAbort = (): void => waiter.wake();
    aborted.signal.addEventListener('abort', onAbort);
    this.#waiters.push(waiter);
    try {
      while (!waiter.granted) {
        aborted.signal.throwIfAborted();
        const now = this.#clock.now();
        const freeAt = this.#budget.nextFreeAt(now);
        if (freeAt <= now) {
          this.#grantWaiter(now);
          continue;
        }
        napper = new AbortController();
        try {
          await this.#clock.sleep(freeAt - now, napper.signal);
        } catch {
          // woken by a grant, or aborted: the loop head tells which
        }
      }
    } finally {
      aborted.signal.removeEventListener('abort', onAbort);
      aborted.dispose();
      const i = this.#waiters.indexOf(waiter);
      if (i >= 0) this.#waiters.splice(i, 1);
    }
  }

  /** A 429 seen on an out-of-band call: pauses the account like one seen by a check. */
  rateLimited(retryAfterMs?: number): void {
    this.#budget.onRateLimited(this.#clock.now(), retryAfterMs);
  }

  /**
   * One poll cycle. If the previous one still runs, returns at once with `skipped` (counted).
   * Never rejects: errors of checks are counted in the report and passed to `onWarn`.
   */
  async runCycle(signal: AbortSignal, options: CycleOptions = {}): Promise<CycleReport> {
    const started = this.#clock.now();
    if (this.#running !== undefined || this.#stopped) {
      if (!this.#stopped) this.#skippedCycles++;
      return {
        account: this.account,
        started,
        finished: started,
        checks: 0,
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
    };
    // Leave room for the last call to finish before the next tick.
    const margin = Math.min(2 * this.#checkEstimateMs, Math.max(0, deadline - started) / 4);
    const dispatchUntil = deadline - margin;
    const routine = this.#dueRoutine(started, dispatchUntil);
    let next = 0;

    try {
      for (;;) {
        if (dispatchAbort.aborted) state.stopDispatch = true;
        if (state.stopDispatch) {
          if (this.#inFlight === 0) break;
          await this.#nap(Number.POSITIVE_INFINITY);
          continue;
        }
        const now = clock.now();
        while (next < routine.length && !this.#isRoutineCandidate(routine[next]!, dispatchUntil)) next++;
        const urgent = this.#firstUrgent();
        const candidate = urgent ?? routine[next];
        if (candidate === undefined || this.#inFlight >= this.#concurrency) {
          // Nothing to start now; a check in flight may still ask for a confirmation.
          if (this.#inFlight === 0) break;
          await this.#nap(Number.POSITIVE_INFINITY);
          continue;
        }
        const freeAt = this.#budget.nextFreeAt(now);
        const at = urgent !== undefined ? freeAt : Math.max(freeAt, candidate.dueAt);
        if (at >= dispatchUntil) {
          // Belongs to the next cycle, unless a check in flight brings a confirmation first.
          if (this.#inFlight === 0) break;
          await this.#nap(Number.POSITIVE_INFINITY);
          continue;
        }
        if (at > now) {
          await this.#nap(at - now);
          continue;
        }
        if (this.#waiters.length > 0) {
          this.#grantWaiter(now);
          continue;
        }
        if (!this.#budget.tryAcquire(now)) continue;
        if (urgent !== undefined) this.#urgent.delete(urgent);
        else next++;
        // #runCheck never rejects; the loop waits for it through #inFlight before returning.
        void this.#runCheck(candidate, now, urgent !== undefined, state, checkAbort);
      }
    } finally {
      // The loop ends only with nothing in flight, so no check still holds checkAbort.
      dispatchAbort.removeEventListener('abort', onAbort);
      dispatchLink.dispose();
      checkLink.dispose();
    }

    const finished = clock.now();
    let deferred = 0;
    for (const entry of routine) {
      if (entry.dueAt <= finished && !entry.removed && !this.#urgent.has(entry)) deferred++;
    }
    deferred += this.#urgent.size;
    return {
      account: this.account,
      started,
      finished,
      checks: state.checks,
      urgentChecks: state.urgentChecks,
      errors: state.errors,
      rateLimited: state.rateLimited,
      deferred,
      skipped: false,
    };
  }

  async #runCheck(
    entry: DeviceEntry,
    startedAt: number,
    urgent: boolean,
    state: CycleState,
    signal: AbortSignal,
  ): Promise<void> {
    this.#inFlight++;
    entry.inFlight = true;
    state.checks++;
    if (urgent) state.urgentChecks++;
    let outcome: 'checked' | 'rate_limited' | 'aborted' = 'checked';
    let recheck = false;
    try {
      const result = await this.#check(entry.number, signal);
      const observation = result.observation;
      if (observation.kind === 'status') {
        this.#budget.onSuccess();
      } else {
        state.errors++;
        if (observation.reason === 'rate_limited') {
          outcome = 'rate_limited';
          state.rateLimited = true;
          state.stopDispatch = true;
          const until = this.#budget.onRateLimited(this.#clock.now(), observation.retryAfterMs);
          this.#warn(
            `account ${this.account}: gateway answered 429; no call until ${new Date(until).toISOString()}`,
          );
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
        this.#warn(`account ${this.account}: check of device ${entry.number} failed: ${message}`);
      }
    } finally {
      this.#inFlight--;
      entry.inFlight = false;
      if (outcome !== 'aborted') {
        const took = Math.max(0, this.#clock.now() - startedAt);
        this.#checkEstimateMs = 0.8 * this.#checkEstimateMs + 0.2 * took;
      }
      if (!entry.removed) {
        if (outcome === 'checked') {
          // Due-ness counts from the start of a check, so the cadence does not drift by its duration.
          entry.lastCheckAt = startedAt;
          entry.dueAt = startedAt + entry.effectiveMs;
          if (recheck) this.#urgent.add(entry);
        } else if (outcome === 'rate_limited' && urgent) {
          // The device went unseen; it keeps its place (a routine one stays overdue).
          this.#urgent.add(entry);
        }
      }
      this.#wake();
    }
  }

  /** O(devices) scan plus a sort of the due ones only. */
  #dueRoutine(now: number, until: number): DeviceEntry[] {
    const due: DeviceEntry[] = [];
    for (const entry of this.#devices.values()) {
      if (entry.lastCheckAt !== undefined && entry.lastCheckAt > now) {
        // The wall clock stepped back; without this the device would wait for it to catch up.
        entry.lastCheckAt = now;
        entry.dueAt = now + entry.effectiveMs;
      }
      if (this.#isRoutineCandidate(entry, until)) due.push(entry);
    }
    // Stable: equally overdue devices keep configuration order.
    return due.sort((a, b) => a.dueAt - b.dueAt);
  }

  #isRoutineCandidate(entry: DeviceEntry, until: number): boolean {
    return !entry.removed && !entry.inFlight && !this.#urgent.has(entry) && entry.dueAt < until;
  }

  #firstUrgent(): DeviceEntry | undefined {
    for (const entry of this.#urgent) {
      if (entry.removed) {
        this.#urgent.delete(entry);
        continue;
      }
      if (!entry.inFlight) return entry;
    }
    return undefined;
  }

  #grantWaiter(now: number): void {
    const waiter = this.#waiters[0];
    if (waiter === undefined || !this.#budget.tryAcquire(now)) return;
    this.#waiters.shift();
    waiter.granted = true;
    waiter.wake();
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
    const now = this.#clock.now();
    const wanted = new Map(devices.map((d) => [d.number, d]));
    for (const [number, entry] of this.#devices) {
      if (!wanted.has(number)) {
        entry.removed = true;
        this.#devices.delete(number);
        this.#urgent.delete(entry);
      }
    }
    const added: DeviceEntry[] = [];
    for (const device of devices) {
      const existing = this.#devices.get(device.number);
      if (existing !== undefined) {
        existing.intervalMs = device.intervalMs;
        continue;
      }
      const entry: DeviceEntry = {
        number: device.number,
        intervalMs: device.intervalMs,
        effectiveMs: device.intervalMs,
        lastCheckAt: device.lastCheckAt,
        firstDueAt: now,
        dueAt: now,
        inFlight: false,
        removed: false,
      };
      this.#devices.set(device.number, entry);
      if (device.lastCheckAt === undefined) added.push(entry);
    }

    const intervals = Array.from(this.#devices.values(), (e) => e.intervalMs);
    const floor = stretchFloorMs(intervals, this.#budget.spacingMs);
    for (const entry of this.#devices.values()) entry.effectiveMs = Math.max(entry.intervalMs, floor);
    // New devices are spread over their first interval: all due at once, they would be checked
    // in one bunch and stay bunched every interval after.
    added.forEach((entry, i) => {
      entry.firstDueAt = now + Math.floor((i * entry.effectiveMs) / added.length);
    });
    for (const entry of this.#devices.values()) {
      entry.dueAt =
        entry.lastCheckAt !== undefined ? entry.lastCheckAt + entry.effectiveMs : entry.firstDueAt;
    }

    // A loop, not Math.min(...intervals): an account may hold 10,000 devices.
    let shortest = Number.POSITIVE_INFINITY;
    for (const interval of intervals) shortest = Math.min(shortest, interval);
    if (intervals.length === 0) shortest = 0;
    this.#effectiveIntervalMs = intervals.length > 0 ? Math.max(shortest, floor) : 0;
    if (floor > shortest) {
      if (this.#warnedIntervalMs !== this.#effectiveIntervalMs) {
        this.#warnedIntervalMs = this.#effectiveIntervalMs;
        this.#warn(
          `account ${this.account}: ${intervals.length} devices cannot each be checked every ` +
            `${formatSeconds(shortest)} within ${this.#budget.ratePerMinute}/min; ` +
            `effective interval is ${formatSeconds(this.#effectiveIntervalMs)}`,
        );
      }
    } else {
      this.#warnedIntervalMs = undefined;
    }
  }
}

export interface PollLoopOptions {
  readonly clock: Clock;
  /** Cycle length when a tick does not say when the next one comes. Default DEFAULT_CYCLE_MS. */
  readonly cycleMs?: number;
  /** Every cycle's report, skipped ones included (metrics, per-cycle notification batching). */
  readonly onCycle?: (report: CycleReport) => void;
  readonly onError?: (account: string, error: unknown) => void;
}

export interface AccountCycleStats {
  readonly account: string;
  readonly running: boolean;
  readonly skippedCycles: number;
  readonly lastCycleDurationMs: number | undefined;
  readonly effectiveIntervalMs: number;
}

/**
 * Fans each tick out to every account's cycle, concurrently. An account whose previous cycle
 * still runs skips the tick (counted by its scheduler), so one slow account never delays the
 * others and never runs two cycles at once.
 */
export class PollLoop {
  readonly #clock: Clock;
  readonly #cycleMs: number;
  readonly #onCycle: (report: CycleReport) => void;
  readonly #onError: (account: string, error: unknown) => void;
  readonly #schedulers = new Map<string, AccountScheduler>();
  readonly #stop = new AbortController();

  constructor(options: PollLoopOptions) {
    this.#clock = options.clock;
    this.#cycleMs = options.cycleMs ?? DEFAULT_CYCLE_MS;
    this.#onCycle = options.onCycle ?? (() => undefined);
    this.#onError = options.onError ?? (() => undefined);
    // Every running account cycle links to this signal for the length of its cycle: 500 accounts
    // mean 500 listeners at once, by design, not a leak.
    setMaxListeners(0, this.#stop.signal);
  }

  add(scheduler: AccountScheduler): void {
    if (this.#schedulers.has(scheduler.account)) {
      throw new Error(`account ${scheduler.account} is already scheduled`);
    }
    this.#schedulers.set(scheduler.account, scheduler);
  }

  get(account: string): AccountScheduler | undefined {
    return this.#schedulers.get(account);
  }

  get accounts(): string[] {
    return [...this.#schedulers.keys()];
  }

  /** Removes an account (reload) and stops its scheduler; resolves when its cycle is over. */
  async remove(account: string): Promise<void> {
    const scheduler = this.#schedulers.get(account);
    if (scheduler === undefined) return;
    this.#schedulers.delete(account);
    await scheduler.stop();
  }

  /**
   * Starts a cycle for every account. `nextTickAt` bounds the cycles. Resolves with the reports
   * when the cycles started by this tick are over; never rejects.
   */
  async tick(nextTickAt?: number): Promise<CycleReport[]> {
    if (this.#stop.signal.aborted) return [];
    const deadline = nextTickAt ?? this.#clock.now() + this.#cycleMs;
    const runs = [...this.#schedulers.values()].map((s) => this.#runOne(s, deadline));
    const reports = await Promise.all(runs);
    return reports.filter((r): r is CycleReport => r !== undefined);
  }

  stats(): AccountCycleStats[] {
    return [...this.#schedulers.values()].map((s) => ({
      account: s.account,
      running: s.isRunning,
      skippedCycles: s.skippedCycles,
      lastCycleDurationMs: s.lastCycleDurationMs,
      effectiveIntervalMs: s.effectiveIntervalMs,
    }));
  }

  /** Stops every account; see AccountScheduler.stop. */
  async stop(options: { readonly graceMs?: number } = {}): Promise<void> {
    await Promise.all([...this.#schedulers.values()].map((s) => s.stop(options)));
    this.#stop.abort();
  }

  async #runOne(scheduler: AccountScheduler, deadline: number): Promise<CycleReport | undefined> {
    try {
      const report = await scheduler.runCycle(this.#stop.signal, { deadline });
      this.#onCycle(report);
      return report;
    } catch (error) {
      this.#onError(scheduler.account, error);
      return undefined;
    }
  }
}
