// The HA lease (SPEC §11) as a store offers it: one row per lease group, claimed and renewed with
// one conditional UPDATE … RETURNING epoch, its expiry set by the database's clock. No
// session-level advisory locks: they are lost or shared behind a pooler (PgBouncer).
//
// The epoch is a fencing token: it grows by one at every claim, and a store fenced at an epoch
// refuses every write once a newer epoch exists, so a holder that was paused or cut off past its
// lease cannot write device rows, history or outbox claims after another took over.

import type { Store } from './store.js';

/** Who holds a lease, as the database sees it now. */
export interface LeaseHolder {
  readonly holder: string;
  readonly epoch: number;
  /** Milliseconds until it lapses by the database's clock; 0 or less when it has lapsed. */
  readonly expiresInMs: number;
}

/** What a store's writes are checked against: null epoch refuses every write (a standby). */
export interface Fence {
  readonly lease: string;
  readonly epoch: number | null;
}

export interface LeaseStore {
  /**
   * Claims lease `name` for `holder` when nobody holds it or its holder's time has lapsed (by
   * the database's clock): the epoch grows by one and is returned. Null when it is held.
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<number | null>;
  /**
   * Extends the lease by `ttlMs` from the database's now, while `holder` holds it at `epoch` and
   * it has not lapsed. False when it did lapse or another holds it.
   */
  renewLease(name: string, holder: string, epoch: number, ttlMs: number): Promise<boolean>;
  /** Lets the lease lapse now (a clean stop), if `holder` still holds it at `epoch`. */
  releaseLease(name: string, holder: string, epoch: number): Promise<void>;
  leaseHolder(name: string): Promise<LeaseHolder | null>;
  /**
   * From now on, every write through this store — its transactions and its outbox included —
   * first checks that lease `fence.lease` is still at `fence.epoch`, and fails with a StoreError
   * of reason `deposed` when it is not. Null: no check (a single node, the CLI).
   */
  setFence(fence: Fence | null): void;
}

/** A store that can run several replicas against one database. */
export type HaStore = Store & LeaseStore;

export function isHaStore(store: Store): store is HaStore {
  return typeof (store as Partial<LeaseStore>).acquireLease === 'function';
}
