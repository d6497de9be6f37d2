// Pending messages per channel for `whatsgate_notifications_pending`. The metrics read it on
// every scrape, synchronously, and the outbox is asynchronous (PostgreSQL), so this keeps the
// last counts read: the worker reads them again after every pass and at every wake, and
// prune() after it deletes. Empty until the first read.

import type { Logger } from '../log.js';
import type { OutboxStore } from '../store/outbox-store.js';

export interface ChannelPending {
  readonly channel: string;
  readonly pending: number;
}

export class PendingCounts {
  readonly #store: OutboxStore;
  readonly #log: Logger;
  #counts = new Map<string, number>();
  #reads = 0;

  constructor(store: OutboxStore, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  /** As last read; no I/O. */
  get(): ChannelPending[] {
    return [...this.#counts].map(([channel, pending]) => ({ channel, pending }));
  }

  /** Reads them again. Never rejects: a failure is logged and the old counts kept. */
  async refresh(): Promise<void> {
    const read = ++this.#reads;
    try {
      const counts = await this.#store.pendingCounts();
      // Reads may settle out of order (PostgreSQL): an older one must not overwrite a newer one.
      if (read === this.#reads) this.#counts = counts;
    } catch (err) {
      this.#log.error({ err }, 'could not count pending notifications');
    }
  }
}
