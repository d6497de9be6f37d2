// Writes what the poll cycles of one tick decided, in ONE transaction: device rows, history,
// account states and the outbox messages of their alerts. One tick's alerts of every account
// become one message per channel (SPEC §8), and nothing is recorded as decided without being
// queued.
//
// The pollers' in-memory states move on as soon as a cycle decides, so a write that fails (disk
// full, I/O error, a lock held past the busy timeout) must not lose what was decided: the batch
// is held (coalesced, see held-writes.ts) and written before anything newer at every following
// flush, so once the store works again every history row and every alert is written and queued
// exactly once, in the order decided, with the times they were decided. Meanwhile monitoring and
// the metrics go on from memory; `health()` tells /readyz and the metrics that the store fails.
//
// Only store failures are retried: an error that is not a StoreError, or data the database
// refuses (reason `invalid`), would fail the same way forever and block every later write, so
// that batch is logged and dropped, as is the only way to keep the rest flowing.

import type { Logger } from '../log.js';
import type { MonitorAlert } from '../notify/events.js';
import { StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { HeldWrites, type HeldCommit, type HeldLimits } from './held-writes.js';

/**
 * How long a retry waits for another process's write lock (the first attempt waits the store's
 * full busy timeout). Long enough for a CLI's write of a few milliseconds to finish, short
 * enough not to be felt by checks in flight or a scrape.
 */
export const RETRY_BUSY_TIMEOUT_MS = 100;

/** What one account cycle changed, to be stored and queued together. */
export type CycleCommit = HeldCommit;

export interface CycleWriterOptions {
  readonly store: Store;
  /** Queues the alerts in the outbox; called inside the transaction. */
  readonly publish: (alerts: readonly MonitorAlert[]) => void;
  readonly log: Logger;
  /** Every failed write (for `whatsgate_monitor_store_errors_total`). */
  readonly onFailure?: (err: unknown) => void;
  /** Tests only: smaller caps on what is held while the store fails. */
  readonly limits?: HeldLimits;
}

/** The store as the poll results see it: /readyz and the metrics. */
export interface StoreWriteHealth {
  /** False from a failed write until the next write that succeeds. */
  readonly writable: boolean;
  /** The last failure's one-line message while not writable, else null. */
  readonly error: string | null;
  /** Account cycles, history rows and alerts waiting to be written. */
  readonly held: { readonly cycles: number; readonly history: number; readonly alerts: number };
}

export class CycleWriter {
  readonly #options: CycleWriterOptions;
  /** Everything decided and not yet written: since the last flush, or since the store failed. */
  readonly #held: HeldWrites;
  #error: string | null = null;
  /** Failed attempts in the current failing period (for the recovery log line). */
  #failedAttempts = 0;
  /** The caps were hit in this failing period and that was logged. */
  #droppedLogged = false;

  constructor(options: CycleWriterOptions) {
    this.#options = options;
    this.#held = options.limits === undefined ? new HeldWrites() : new HeldWrites(options.limits);
  }

  /** A finished cycle's changes; written at the next flush. */
  add(commit: CycleCommit): void {
    this.#held.add(commit);
    this.#logDropped();
  }

  health(): StoreWriteHealth {
    return {
      writable: this.#error === null,
      error: this.#error,
      held: {
        cycles: this.#held.cycles,
        history: this.#held.history.length,
        alerts: this.#held.alerts.length,
      },
    };
  }

  /**
   * Writes everything held — what failed before, then what was added since — in one
   * transaction. Never throws: a failure keeps it all for the next flush. True when nothing is
   * left to write.
   */
  flush(): boolean {
    const held = this.#held;
    if (held.empty) return true;
    const { store, publish, log } = this.#options;
    const alerts = held.alerts;
    const write = (): void => {
      store.saveDevices(held.devices.map((row) => ({ row, change: null })));
      for (const change of held.history) store.appendHistory(change);
      store.recordDeliveryProblems(held.deliveryChanges);
      for (const account of held.accounts) store.saveAccount(account);
      if (alerts.length > 0) publish(alerts);
    };
    try {
      // Once failing, a retry does not wait the full busy timeout for a lock: the wait blocks
      // the event loop, and at every tick it would stall checks and /metrics for as long as
      // another process (a VACUUM) holds the lock. Measured: /metrics took 4.8 s per scrape.
      if (this.#error === null) store.transaction(write);
      else store.transaction(write, { busyTimeoutMs: RETRY_BUSY_TIMEOUT_MS });
    } catch (err) {
      this.#options.onFailure?.(err);
      if (err instanceof StoreError && err.reason !== 'invalid') {
        this.#failed(err);
        return false;
      }
      log.error(
        { component: 'store', err, cycles: held.cycles, history: held.history.length, alerts: alerts.length },
        'the poll results were refused (a bug, not a store failure): dropped, not retried',
      );
      held.clear();
      return true;
    }
    if (this.#error !== null) this.#recovered();
    held.clear();
    return true;
  }

  /**
   * The last flush, at stop. What the store still refuses is lost with the process; the devices
   * are then decided again after the restart from the last state the store holds (a DOWN still
   * holding is alerted again, its history row then carries the later time).
   */
  close(): void {
    if (this.flush()) return;
    const held = this.#held;
    this.#options.log.error(
      {
        component: 'store',
        cycles: held.cycles,
        history: held.history.length,
        alerts: held.alerts.length,
        err: this.#error,
      },
      'stopping with poll results the store did not take; they are decided again after the restart',
    );
  }

  #failed(err: StoreError): void {
    this.#failedAttempts++;
    const first = this.#error === null;
    this.#error = err.message;
    const held = this.#held;
    const fields = {
      component: 'store',
      err,
      reason: err.reason,
      cycles: held.cycles,
      history: held.history.length,
      alerts: held.alerts.length,
    };
    // One error line when the store starts failing; later attempts only at debug, so a store
    // down for hours does not write a line per tick.
    if (first) {
      this.#options.log.error(
        fields,
        'cannot write the poll results; holding them and retrying at every tick',
      );
    } else {
      this.#options.log.debug(fields, 'the store still fails; poll results held');
    }
  }

  #recovered(): void {
    const held = this.#held;
    const dropped = held.dropped;
    this.#options.log.info(
      {
        component: 'store',
        failedAttempts: this.#failedAttempts,
        cycles: held.cycles,
        history: held.history.length,
        alerts: held.alerts.length,
        droppedHistory: dropped.history,
        droppedAlerts: dropped.alerts,
      },
      'the store is writable again: wrote the held poll results late',
    );
    this.#error = null;
    this.#failedAttempts = 0;
    this.#droppedLogged = false;
  }

  #logDropped(): void {
    const dropped = this.#held.dropped;
    if (this.#droppedLogged || (dropped.history === 0 && dropped.alerts === 0)) return;
    this.#droppedLogged = true;
    this.#options.log.error(
      {
        component: 'store',
        droppedHistory: dropped.history,
        droppedAlerts: dropped.alerts,
        err: this.#error,
      },
      'the store has failed so long that the oldest held history rows and alerts are being dropped',
    );
  }
}
