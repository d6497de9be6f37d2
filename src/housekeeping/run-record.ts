// Keeps the record of when the daemon ran (audit/runs.ts): the audit and the status page show time
// outside it as unknown. Brought up to date about once a minute, and at stop.

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

  constructor(store: Store, log: Logger, start: number) {
    this.#store = store;
    this.#log = log;
    this.#start = start;
  }

  /** Records the run up to `now`, at most once a minute unless `force`; never throws. */
  record(now: number, retentionMs: number, force = false): void {
    if (!force && now - this.#lastRecord < RUN_RECORD_MS) return;
    this.#lastRecord = now;
    try {
      recordRun(this.#store, { start: this.#start, end: now }, { keepAfter: now - retentionMs });
    } catch (err) {
      this.#log.error({ component: 'store', err }, 'could not record the run period');
    }
  }

  /** At stop: records the run up to `now` as ended, so readers no longer count it up to their now. */
  close(now: number, retentionMs: number): void {
    try {
      recordRun(this.#store, { start: this.#start, end: now }, { keepAfter: now - retentionMs, open: false });
    } catch (err) {
      this.#log.error({ component: 'store', err }, 'could not record the run period');
    }
  }

  /** The recorded periods plus this run up to `now`. */
  periods(now: number): Period[] {
    return [...readRuns(this.#store), { start: this.#start, end: now }];
  }
}
