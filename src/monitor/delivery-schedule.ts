// When each device's balance is read (SPEC §10 with §3 "Budget"), as data over an injected `now`.
//
// Status checks come first, always: balance reads live on what the budget has left once every
// device is status-checked at its EFFECTIVE status interval, and a read never makes a status
// check wait (poll/account-scheduler.ts gives a read a slot only if the budget is free again
// by the next status check). With R calls a minute (one every s = 60/R seconds) and a status
// load of L calls a minute (Σ 60 / effectiveStatus_i), status checks are spread evenly, one
// every g = 60/L seconds; each call holds the budget for s, so a gap fits ⌊g/s⌋ − 1 reads and
// the spare is S = L · (⌊g/s⌋ − 1) reads a minute (= R − L when g is a whole number of s; less
// otherwise; S = R without status load). The N_up devices read (UP, connected, `check` not off)
// share it: each is read every max(check_i, F), F the floor at which Σ 60 / max(check_i, F) = S
// (for equal checks F = N_up · 60 / S). So the delivery interval stretches, never the status
// one; when status checks leave no gap wide enough (S = 0) no balance is read at all.
//
// Pure: no clock, no timers, no I/O.

import { stretchFloorMs } from './due-queue.js';

/** A device that could be read, and how often its policy wants it. */
export interface DeliveryReadDevice {
  readonly number: string;
  /** `delivery.check` in ms. */
  readonly checkMs: number;
  /** Start of its last read (from the stored reading after a restart); absent when never read. */
  readonly lastReadAt?: number;
}

export interface DeliveryPace {
  /** Devices read (eligible now). */
  readonly devices: number;
  /** Calls a minute left once status checks are served (may be ≤ 0). */
  readonly sparePerMinute: number;
  /**
   * How often the most frequently read devices are really read: max(shortest check, floor).
   * +Infinity when there is no spare budget; 0 without devices.
   */
  readonly effectiveIntervalMs: number;
  /** Longer than the shortest configured `check`. */
  readonly stretched: boolean;
}

/** Status load of the devices at their effective intervals, in calls a minute. */
export function statusLoadPerMinute(statusIntervalsMs: readonly number[], spacingMs: number): number {
  const floor = stretchFloorMs(statusIntervalsMs, spacingMs);
  let load = 0;
  for (const interval of statusIntervalsMs) load += 60_000 / Math.max(interval, floor);
  return load;
}

/** S of the header: reads a minute that fit between evenly spread status checks. */
export function spareReadsPerMinute(statusLoadPerMinute: number, spacingMs: number): number {
  if (statusLoadPerMinute <= 1e-9) return 60_000 / spacingMs;
  const gapMs = 60_000 / statusLoadPerMinute;
  // Float sums of a load that fills the budget come out a hair under: round before flooring.
  const perGap = Math.floor(gapMs / spacingMs + 1e-9) - 1;
  return perGap <= 0 ? 0 : statusLoadPerMinute * perGap;
}

/**
 * The pace of balance reads: `checksMs` of the devices read, `statusIntervalsMs` of every
 * status-checked device, `spacingMs` the budget's least gap between two calls.
 */
export function deliveryPace(
  checksMs: readonly number[],
  statusIntervalsMs: readonly number[],
  spacingMs: number,
): DeliveryPace & { readonly floorMs: number } {
  const sparePerMinute = spareReadsPerMinute(statusLoadPerMinute(statusIntervalsMs, spacingMs), spacingMs);
  let shortest = Number.POSITIVE_INFINITY;
  for (const check of checksMs) shortest = Math.min(shortest, check);
  if (checksMs.length === 0)
    return { devices: 0, sparePerMinute, effectiveIntervalMs: 0, stretched: false, floorMs: 0 };
  if (sparePerMinute === 0) {
    const inf = Number.POSITIVE_INFINITY;
    return {
      devices: checksMs.length,
      sparePerMinute,
      effectiveIntervalMs: inf,
      stretched: true,
      floorMs: inf,
    };
  }
  const floorMs = stretchFloorMs(checksMs, 60_000 / sparePerMinute);
  const effectiveIntervalMs = Math.max(shortest, floorMs);
  return {
    devices: checksMs.length,
    sparePerMinute,
    effectiveIntervalMs,
    stretched: effectiveIntervalMs > shortest,
    floorMs,
  };
}

interface ReadEntry {
  checkMs: number;
  lastReadAt: number | undefined;
  inFlight: boolean;
}

/** The devices to read and when each is next due. One per account, owned by its poller. */
export class DeliveryReadQueue {
  // Map order is configuration order: it breaks ties between equally overdue devices.
  readonly #entries = new Map<string, ReadEntry>();
  #floorMs = 0;
  #pace: DeliveryPace = { devices: 0, sparePerMinute: 0, effectiveIntervalMs: 0, stretched: false };

  get pace(): DeliveryPace {
    return this.#pace;
  }

  /**
   * The devices read now (eligible: UP, connected, `check` not off) and the status side of the
   * budget. Kept devices keep their last read; a device leaving forgets nothing it needs (its
   * next read after coming back is due at once: a fresh baseline).
   */
  apply(
    devices: readonly DeliveryReadDevice[],
    statusIntervalsMs: readonly number[],
    spacingMs: number,
  ): DeliveryPace {
    const wanted = new Map(devices.map((d) => [d.number, d]));
    for (const number of this.#entries.keys()) if (!wanted.has(number)) this.#entries.delete(number);
    for (const d of devices) {
      const existing = this.#entries.get(d.number);
      if (existing !== undefined) existing.checkMs = d.checkMs;
      else this.#entries.set(d.number, { checkMs: d.checkMs, lastReadAt: d.lastReadAt, inFlight: false });
    }
    const pace = deliveryPace(
      devices.map((d) => d.checkMs),
      statusIntervalsMs,
      spacingMs,
    );
    this.#floorMs = pace.floorMs;
    this.#pace = {
      devices: pace.devices,
      sparePerMinute: pace.sparePerMinute,
      effectiveIntervalMs: pace.effectiveIntervalMs,
      stretched: pace.stretched,
    };
    return this.#pace;
  }

  /** When the most overdue device not in flight is due; null when none can be read. */
  nextDueAt(): number | null {
    return this.#mostOverdue()?.[1] ?? null;
  }

  /** The most overdue device if it is due by `now`, marked in flight; null otherwise. */
  take(now: number): string | null {
    const next = this.#mostOverdue();
    if (next === undefined || next[1] > now) return null;
    const entry = this.#entries.get(next[0])!;
    entry.inFlight = true;
    return next[0];
  }

  /**
   * A read started at `startedAt` ended. `called` false only when it was cut short before the
   * call (a stop): due again at once. A call that got no answer (429, timeout) counts as a read
   * for the pace — the next reading is one interval later — or a failing device would eat every
   * spare slot.
   */
  finish(number: string, startedAt: number, called: boolean): void {
    const entry = this.#entries.get(number);
    if (entry === undefined) return;
    entry.inFlight = false;
    if (called) entry.lastReadAt = startedAt;
  }

  #dueAt(entry: ReadEntry): number {
    if (entry.lastReadAt === undefined) return Number.NEGATIVE_INFINITY;
    return entry.lastReadAt + Math.max(entry.checkMs, this.#floorMs);
  }

  #mostOverdue(): [string, number] | undefined {
    if (!Number.isFinite(this.#floorMs)) return undefined;
    let best: [string, number] | undefined;
    for (const [number, entry] of this.#entries) {
      if (entry.inFlight) continue;
      const due = this.#dueAt(entry);
      if (best === undefined || due < best[1]) best = [number, due];
    }
    return best;
  }
}
