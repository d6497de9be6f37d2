// Keeps the record of when the daemon ran (audit/runs.ts): the audit and the status page show time
// outside it as unknown. Brought up to date about once a minute, and at stop.
//
// The recorded periods are read from the store at `load()` and kept with every record, so
// `periods()` — asked by every status page and the audit — answers from memory. Each record is
// one transaction that reads the stored list and writes it back with this run, so the runs of
// other processes recorded meanwhile (another replica before a failover) are kept.

import type { Period } from '../audit/compute.js';
import { readRuns, recordRun } from '../audit/runs.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';

// How often the record of when the daemon ran is brought up to date (audit: down-time is unknown).
const RUN_RECORD_MS = 60_000;

export class RunRecord {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #start: number;
  #lastRecord = 0;
  /** The stored periods, as of the last load or record. */
  #recorded: Period[] = [];

  /** Reads nothing: `load()` before the first `periods()`. */
  constructor(store: Store, log: Logger, start: number) {
    this.#store = store;
    this.#log = log;
    this.#start = start;
  }

  /**
   * Reads the recorded periods for `periods()`: at start, and again to catch up with the runs other
   * processes recorded (a standby, which records none). Never rejects: a failure is logged, and
   * `periods()` goes on with what it had.
   */
  async load(): Promise<void> {
    try {
      this.#recorded = await readRuns(this.#store);
    } catch (err) {
      this.#log.error({ component: 'store', err }, 'could not read the run periods');
    }
  }

  /** Records the run up to `now`, at most once a minute unless `force`; never rejects. */
  async record(now: number, retentionMs: number, force = false): Promise<void> {
    if (!force && now - this.#lastRecord < RUN_RECORD_MS) return;
    this.#lastRecord = now;
    await this.#write(now, { keepAfter: now - retentionMs });
  }

  /** At stop: records the run up to `now` as ended, so readers no longer count it up to their now. */
  async close(now: number, retentionMs: number): Promise<void> {
    await this.#write(now, { keepAfter: now - retentionMs, open: false });
  }

  /** The recorded periods plus this run up to `now`. */
  periods(now: number): Period[] {
    return [...this.#recorded, { start: this.#start, end: now }];
  }

  async #write(now: number, options: { readonly keepAfter: number; readonly open?: boolean }): Promise<void> {
    try {
      this.#recorded = await this.#store.transaction(async (tx) => {
        await recordRun(tx, { start: this.#start, end: now }, options);
        return readRuns(tx);
      });
    } catch (err) {
      this.#log.error({ component: 'store', err }, 'could not record the run period');
    }
  }
}
