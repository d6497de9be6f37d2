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
// that batch is logged and dropped, as is the only way to keep the rest flowing. A write refused
// because another replica took the HA lease (reason `deposed`, SPEC §11) is dropped too: what this
// process decided is no longer the store's to keep, and the new leader decides again from the
// store's last state (so nothing it already alerted is alerted twice, nothing lost is left out).
//
// Flushes run one at a time, in the order asked (a tick's flush may still be writing when the next
// tick's starts). A flush takes what is held when it starts; cycles that end meanwhile are held for
// the next one, and a batch that fails is put back before them, so the order decided is kept.

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
  /**
   * Queues the alerts in the outbox through `tx.outbox`, inside the writer's transaction, so they
   * are queued if and only if the rows that decided them are written. The daemon's:
   * `(tx, alerts) => notifications.publish(alerts, tx.outbox)`.
   */
  readonly publish: (tx: Store, alerts: readonly MonitorAlert[]) => Promise<void>;
  readonly log: Logger;
  /** Every failed write (for `whatsgate_monitor_store_errors_total`); not a `deposed` one. */
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
  /** Account cycles, history rows and alerts waiting to be written (or being written). */
  readonly held: { readonly cycles: number; readonly history: number; readonly alerts: number };
}

export class CycleWriter {
  readonly #options: CycleWriterOptions;
  /** Everything decided and not yet taken by a flush: since the last one, or since the store failed. */
  #held: HeldWrites;
  /** What the flush in progress is writing. */
  #writing: HeldWrites | null = null;
  /** The flush in progress (or the last one): the next waits for it. */
  #flushing: Promise<unknown> = Promise.resolve();
  #error: string | null = null;
  /** Failed attempts in the current failing period (for the recovery log line). */
  #failedAttempts = 0;
  /** The caps were hit in this failing period and that was logged. */
  #droppedLogged = false;
  /** A deposed write was logged; again only after a write succeeded. */
  #deposedLogged = false;

  constructor(options: CycleWriterOptions) {
    this.#options = options;
    this.#held = this.#newHeld();
  }

  /** A finished cycle's changes; written at the next flush. */
  add(commit: CycleCommit): void {
    this.#held.add(commit);
    this.#logDropped();
  }

  /**
   * Another write of the poll path (a gateway call logged, call-log.ts) failed (`failure`) or
   * succeeded after one (null). Routine rows are written only every few minutes, so the call log
   * is often the first to find the store refusing writes; /readyz and the metrics say so at once.
   * A success clears the failure only when nothing is held: a held batch's flush reports the
   * recovery with what it wrote.
   */
  noteOtherWrite(failure: unknown): void {
    if (failure !== null) {
      if (failure instanceof StoreError && failure.reason !== 'deposed' && failure.reason !== 'invalid') {
        this.#options.onFailure?.(failure);
        this.#failed(failure);
      }
      return;
    }
    if (this.#error === null || this.#writing !== null || !this.#held.empty) return;
    this.#recovered(this.#held, 'the store is writable again: a gateway call was logged');
  }

  health(): StoreWriteHealth {
    const parts = this.#writing === null ? [this.#held] : [this.#writing, this.#held];
    const sum = (count: (h: HeldWrites) => number): number => parts.reduce((n, h) => n + count(h), 0);
    return {
      writable: this.#error === null,
      error: this.#error,
      held: {
        cycles: sum((h) => h.cycles),
        history: sum((h) => h.history.length),
        alerts: sum((h) => h.alerts.length),
      },
    };
  }

  /**
   * Writes everything held — what failed before, then what was added since — in one
   * transaction, after any flush still running. Never rejects: a failure keeps it all for the next
   * flush. False when the store refused it and it is held; true when it was written (or dropped:
   * refused as invalid, or the lease was lost).
   */
  flush(): Promise<boolean> {
    const run = this.#flushing.then(() => this.#flushNow());
    // A logger that threw must not stop every later flush.
    this.#flushing = run.catch(() => undefined);
    return run;
  }

  /**
   * Drops everything held, unwritten: this process lost the HA lease, and what it decided must not
   * be written under a lease it may hold again later (the leader meanwhile decided from the
   * store). A flush in progress finishes; its fence refuses it if the lease has moved.
   */
  discard(): void {
    const held = this.#held;
    if (held.empty) return;
    this.#options.log.warn(
      { component: 'store', cycles: held.cycles, history: held.history.length, alerts: held.alerts.length },
      'the lease was lost: dropped the poll results not written yet; the leader decides from the store',
    );
    this.#held = this.#newHeld();
  }

  /**
   * The last flush, at stop. What the store still refuses is lost with the process; the devices
   * are then decided again after the restart from the last state the store holds (a DOWN still
   * holding is alerted again, its history row then carries the later time).
   */
  async close(): Promise<void> {
    if (await this.flush()) return;
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

  async #flushNow(): Promise<boolean> {
    const batch = this.#held;
    if (batch.empty) return true;
    this.#held = this.#newHeld();
    this.#writing = batch;
    const { store, publish, log } = this.#options;
    const alerts = batch.alerts;
    const write = async (tx: Store): Promise<void> => {
      await tx.saveDevices(batch.devices.map((row) => ({ row, change: null })));
      for (const change of batch.history) await tx.appendHistory(change);
      await tx.recordDeliveryProblems(batch.deliveryChanges);
      for (const account of batch.accounts) await tx.saveAccount(account);
      if (alerts.length > 0) await publish(tx, alerts);
    };
    try {
      // Once failing, a retry does not wait the full busy timeout for a lock: the wait blocks
      // the event loop, and at every tick it would stall checks and /metrics for as long as
      // another process (a VACUUM) holds the lock. Measured: /metrics took 4.8 s per scrape.
      if (this.#error === null) await store.transaction(write);
      else await store.transaction(write, { busyTimeoutMs: RETRY_BUSY_TIMEOUT_MS });
    } catch (err) {
      if (err instanceof StoreError && err.reason === 'deposed') {
        this.#deposed(err, batch);
        return true;
      }
      this.#options.onFailure?.(err);
      if (err instanceof StoreError && err.reason !== 'invalid') {
        // Before what was added while it was being written: the order decided.
        batch.absorb(this.#held);
        this.#held = batch;
        this.#failed(err);
        this.#logDropped();
        return false;
      }
      log.error(
        {
          component: 'store',
          err,
          cycles: batch.cycles,
          history: batch.history.length,
          alerts: alerts.length,
        },
        'the poll results were refused (a bug, not a store failure): dropped, not retried',
      );
      return true;
    } finally {
      this.#writing = null;
    }
    if (this.#error !== null) this.#recovered(batch);
    this.#deposedLogged = false;
    return true;
  }

  #newHeld(): HeldWrites {
    const limits = this.#options.limits;
    return limits === undefined ? new HeldWrites() : new HeldWrites(limits);
  }

  /** Another replica holds the lease: this batch, and what came after it, are not ours to write. */
  #deposed(err: StoreError, batch: HeldWrites): void {
    batch.absorb(this.#held);
    this.#held = this.#newHeld();
    // Not a failing store: /readyz and the store error count have nothing to say about it.
    this.#error = null;
    this.#failedAttempts = 0;
    this.#droppedLogged = false;
    const fields = {
      component: 'store',
      err,
      reason: err.reason,
      cycles: batch.cycles,
      history: batch.history.length,
      alerts: batch.alerts.length,
    };
    const message =
      'another replica holds the lease: dropped the poll results; the leader decides from the store';
    if (this.#deposedLogged) {
      this.#options.log.debug(fields, message);
      return;
    }
    this.#deposedLogged = true;
    this.#options.log.warn(fields, message);
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

  #recovered(
    written: HeldWrites,
    message = 'the store is writable again: wrote the held poll results late',
  ): void {
    const dropped = written.dropped;
    this.#options.log.info(
      {
        component: 'store',
        failedAttempts: this.#failedAttempts,
        cycles: written.cycles,
        history: written.history.length,
        alerts: written.alerts.length,
        droppedHistory: dropped.history,
        droppedAlerts: dropped.alerts,
      },
      message,
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
