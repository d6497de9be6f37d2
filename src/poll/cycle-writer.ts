// Writes what the poll cycles of one tick decided, in ONE transaction: device rows, history,
// account states and the outbox messages of their alerts. One tick's alerts of every account
// become one message per channel (SPEC §8), and nothing is recorded as decided without being
// queued: at worst a failed write loses the tick, which is decided again after a restart.
//
// Kept apart from the poller so the write policy (today: log and drop a failed batch) can change
// on its own — keep and retry a batch, or write to an asynchronous store.

import type { Logger } from '../log.js';
import type { MonitorAlert } from '../notify/events.js';
import type { AccountRow, DeviceSave, Store } from '../store/store.js';

/** What one account cycle changed, to be stored and queued together. */
export interface CycleCommit {
  readonly saves: readonly DeviceSave[];
  readonly account: AccountRow | null;
  readonly alerts: readonly MonitorAlert[];
}

export interface CycleWriterOptions {
  readonly store: Store;
  /** Queues the alerts in the outbox; called inside the transaction. */
  readonly publish: (alerts: readonly MonitorAlert[]) => void;
  readonly log: Logger;
}

export class CycleWriter {
  readonly #options: CycleWriterOptions;
  /** Cycles finished since the last flush. */
  readonly #pending: CycleCommit[] = [];

  constructor(options: CycleWriterOptions) {
    this.#options = options;
  }

  /** A finished cycle's changes; written at the next flush. */
  add(commit: CycleCommit): void {
    this.#pending.push(commit);
  }

  /** Writes every cycle added since the last flush in one transaction. Never throws. */
  flush(): void {
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    const { store, publish, log } = this.#options;
    const alerts = batch.flatMap((c) => c.alerts);
    try {
      store.transaction(() => {
        store.saveDevices(batch.flatMap((c) => c.saves));
        for (const c of batch) if (c.account !== null) store.saveAccount(c.account);
        if (alerts.length > 0) publish(alerts);
      });
    } catch (err) {
      log.error(
        { component: 'store', err, alerts: alerts.length },
        'could not save the poll cycle; its changes and alerts are decided again after a restart',
      );
    }
  }
}
