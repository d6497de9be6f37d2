// Which device is checked next (SPEC §3 "Timing" and "Budget"), as data over an injected `now`.
//
// Each device is due one (effective) interval after the start of its last check. When the budget
// cannot check every device at its configured interval, the shorter intervals are stretched to a
// common floor (`stretchFloorMs`). A pass over the queue offers confirmation re-checks first (first
// come, first served), then routine checks most overdue first, ties in configuration order.
//
// Pure: no clock, no timers, no I/O. poll/account-scheduler.ts owns the time and the calls.

export interface ScheduledDevice {
  readonly number: string;
  readonly intervalMs: number;
  /** When the device was last checked (from the store after a restart); absent for a new device. */
  readonly lastCheckAt?: number;
}

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

/** Checked before any state changes, so a rejected reload leaves everything as it was. */
export function validateSchedule(
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

export interface DueEntry {
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

/** What `apply` found about the intervals: the scheduler warns when they are stretched. */
export interface IntervalPlan {
  readonly devices: number;
  /** The shortest configured interval; 0 without devices. */
  readonly shortestMs: number;
  /** How often the most frequently due devices are really checked; 0 without devices. */
  readonly effectiveIntervalMs: number;
  readonly stretched: boolean;
}

/** A device to check next; `urgent` when it is a confirmation re-check. */
export interface DuePick {
  readonly entry: DueEntry;
  readonly urgent: boolean;
}

/** One cycle's walk over the routine work due before `until`, most overdue first. */
export interface DuePass {
  readonly until: number;
  readonly routine: readonly DueEntry[];
  next: number;
}

/** How a check ended, for `finish`. */
export type CheckEnd = 'checked' | 'rate_limited' | 'aborted';

export class DueQueue {
  // Map order is configuration order, which breaks ties between equally overdue devices.
  readonly #devices = new Map<string, DueEntry>();
  // Insertion order: confirmations are served first come, first served.
  readonly #urgent = new Set<DueEntry>();
  #effectiveIntervalMs = 0;

  /** How often the account's most frequently due devices are really checked, given the budget. */
  get effectiveIntervalMs(): number {
    return this.#effectiveIntervalMs;
  }

  /** When the device is next due; undefined if it is not scheduled. */
  dueAt(device: string): number | undefined {
    return this.#devices.get(device)?.dueAt;
  }

  /**
   * Start-up and reload: the device list at `now`. Kept devices keep their last check, removed ones
   * leave (a check in flight for one is forgotten when it ends), new ones are spread over their
   * first interval. Validate with `validateSchedule` first.
   */
  apply(devices: readonly ScheduledDevice[], spacingMs: number, now: number): IntervalPlan {
    const wanted = new Map(devices.map((d) => [d.number, d]));
    for (const [number, entry] of this.#devices) {
      if (!wanted.has(number)) {
        entry.removed = true;
        this.#devices.delete(number);
        this.#urgent.delete(entry);
      }
    }
    const added: DueEntry[] = [];
    for (const device of devices) {
      const existing = this.#devices.get(device.number);
      if (existing !== undefined) {
        existing.intervalMs = device.intervalMs;
        continue;
      }
      const entry: DueEntry = {
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
    const floor = stretchFloorMs(intervals, spacingMs);
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
    return {
      devices: intervals.length,
      shortestMs: shortest,
      effectiveIntervalMs: this.#effectiveIntervalMs,
      stretched: floor > shortest,
    };
  }

  /**
   * Asks for a check of the device ahead of routine work; a check already in flight answers
   * instead. False when the device is not scheduled.
   */
  checkSoon(device: string): boolean {
    const entry = this.#devices.get(device);
    if (entry === undefined) return false;
    if (!entry.inFlight) this.#urgent.add(entry);
    return true;
  }

  /** The routine work due before `until`, most overdue first. O(devices) plus a sort of the due ones. */
  beginPass(now: number, until: number): DuePass {
    const due: DueEntry[] = [];
    for (const entry of this.#devices.values()) {
      if (entry.lastCheckAt !== undefined && entry.lastCheckAt > now) {
        // The wall clock stepped back; without this the device would wait for it to catch up.
        entry.lastCheckAt = now;
        entry.dueAt = now + entry.effectiveMs;
      }
      if (this.#isRoutineCandidate(entry, until)) due.push(entry);
    }
    // Stable: equally overdue devices keep configuration order.
    return { until, routine: due.sort((a, b) => a.dueAt - b.dueAt), next: 0 };
  }

  /** The next device to check: a confirmation first, else the most overdue routine one. */
  peek(pass: DuePass): DuePick | undefined {
    while (
      pass.next < pass.routine.length &&
      !this.#isRoutineCandidate(pass.routine[pass.next]!, pass.until)
    ) {
      pass.next++;
    }
    const urgent = this.#firstUrgent();
    if (urgent !== undefined) return { entry: urgent, urgent: true };
    const routine = pass.routine[pass.next];
    return routine === undefined ? undefined : { entry: routine, urgent: false };
  }

  /** When the pick may start, given when the budget is next free: a routine one not before it is due. */
  startAt(pick: DuePick, freeAt: number): number {
    return pick.urgent ? freeAt : Math.max(freeAt, pick.entry.dueAt);
  }

  /**
   * When the next status check may be wanted, whatever the pass: now-ish (−∞) when a
   * confirmation waits, else the earliest due time; +∞ without devices. O(devices): for spare
   * work that must fit before it (balance reads).
   */
  nextDueAt(): number {
    if (this.#firstUrgent() !== undefined) return Number.NEGATIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.#devices.values()) {
      if (!entry.removed && !entry.inFlight && entry.dueAt < next) next = entry.dueAt;
    }
    return next;
  }

  /** The pick's check starts now. */
  take(pass: DuePass, pick: DuePick): void {
    if (pick.urgent) this.#urgent.delete(pick.entry);
    else pass.next++;
    pick.entry.inFlight = true;
  }

  /**
   * A check started at `startedAt` ended. Checked: due one interval after its start (so the cadence
   * does not drift by its duration), and queued for confirmation when asked. A confirmation met by
   * a 429 went unseen: it keeps its place (a routine one stays overdue).
   */
  finish(pick: DuePick, startedAt: number, end: CheckEnd, recheck: boolean): void {
    const entry = pick.entry;
    entry.inFlight = false;
    if (entry.removed) return;
    if (end === 'checked') {
      entry.lastCheckAt = startedAt;
      entry.dueAt = startedAt + entry.effectiveMs;
      if (recheck) this.#urgent.add(entry);
    } else if (end === 'rate_limited' && pick.urgent) {
      this.#urgent.add(entry);
    }
  }

  /** Devices of the pass due by `finished` that it did not reach, and confirmations still waiting. */
  deferred(pass: DuePass, finished: number): number {
    let deferred = 0;
    for (const entry of pass.routine) {
      if (entry.dueAt <= finished && !entry.removed && !this.#urgent.has(entry)) deferred++;
    }
    return deferred + this.#urgent.size;
  }

  #isRoutineCandidate(entry: DueEntry, until: number): boolean {
    return !entry.removed && !entry.inFlight && !this.#urgent.has(entry) && entry.dueAt < until;
  }

  #firstUrgent(): DueEntry | undefined {
    for (const entry of this.#urgent) {
      if (entry.removed) {
        this.#urgent.delete(entry);
        continue;
      }
      if (!entry.inFlight) return entry;
    }
    return undefined;
  }
}
