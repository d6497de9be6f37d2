// The words of a poll cycle, shared by the scheduler, the poller and the loop.

import type { Observation } from '../monitor/model.js';
import type { Slot } from './metered-gateway.js';

export interface CheckResult {
  readonly observation: Observation;
  /** The state machine wants this device confirmed soon (e.g. first non-connected status). */
  readonly recheckSoon: boolean;
}

/** One status check on the slot the cycle took for it. */
export type CheckFn = (device: string, signal: AbortSignal, slot: Slot) => Promise<CheckResult>;

/**
 * Second-priority work of a cycle (balance reads, SPEC §10): started only on a slot no status
 * check wants — when no status check can start now, and the slot leaves the budget free again
 * before the next one may.
 */
export interface SpareWork {
  /** When the next piece is due (−∞ for at once), or null when there is none. */
  nextDueAt(): number | null;
  /**
   * Starts the most overdue piece due by the slot's time on that slot; resolves when it ended,
   * with whether the gateway answered 429. Never rejects. Resolves at once with `ran: false`
   * when nothing is due (the slot is then unused).
   */
  run(slot: Slot, signal: AbortSignal): Promise<{ readonly ran: boolean; readonly rateLimited: boolean }>;
}

/** The budget side of the account's metered gateway, as a cycle plans with it. */
export interface CheckSlots {
  readonly ratePerMinute: number;
  readonly spacingMs: number;
  /** The gap routine checks are planned with (the out-of-band share set aside). */
  readonly plannedSpacingMs: number;
  setRate(ratePerMinute: number): void;
  /** On the clock's monotonic reading, as every time of a cycle. */
  nextFreeAt(now: number): number;
  /**
   * A slot for a check starting now, or null (none free, or given to a call waiting for its own).
   * Asynchronous: the grant is logged in the store first. The slot's `at` is when it was granted.
   */
  takeSlot(now: number): Promise<Slot | null>;
}

export interface CycleOptions {
  /**
   * When the next tick is expected, on the clock's monotonic reading (PollLoop converts the
   * ticker's wall time once). No call is started so late that it would still run then, so a
   * cycle does not push the next tick into a skip. Default: now + DEFAULT_CYCLE_MS.
   */
  readonly deadline?: number;
}

export interface CycleReport {
  readonly account: string;
  /** Monotonic, like every time of a cycle: only `finished - started` means anything. */
  readonly started: number;
  readonly finished: number;
  /** Status checks started in this cycle. */
  readonly checks: number;
  /** Spare work (balance reads) run in this cycle, on slots no status check wanted. */
  readonly spareCalls: number;
  /** Of the status checks, confirmation re-checks. */
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

/** What the poll loop runs once per tick: an account's scheduler, or the poller around it. */
export interface CycleRunner {
  readonly account: string;
  /** Never rejects for a check's trouble; a rejection is a bug the loop logs. */
  runCycle(signal: AbortSignal, options?: CycleOptions): Promise<CycleReport>;
  stop(options?: { readonly graceMs?: number }): Promise<void>;
}

export const DEFAULT_CYCLE_MS = 10_000;
