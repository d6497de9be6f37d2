// The real outbox (SQLite) with what another replica or a failing disk can do to it, switched on
// by the test: every write refused as `deposed` (another replica took the lease, SPEC §11), a
// claim lost to another replica (markAttempting answers false), another process acting just
// before a call, or one method failing. Not a mock: whatever is not faulted runs on the real
// store, in its transactions too (a transaction's handle is wrapped with the same faults).

import { StoreError } from '../../store/errors.js';
import type { FiringAlert, NewOutboxMessage, OutboxMessage, OutboxStore } from '../../store/outbox-store.js';

export type OutboxMethod = Exclude<keyof OutboxStore, 'transaction'>;

/** What a fence refuses once another replica holds the lease. */
const WRITES: ReadonlySet<OutboxMethod> = new Set<OutboxMethod>([
  'enqueue',
  'hold',
  'removeHeld',
  'markCancelled',
  'markSent',
  'markRetry',
  'markDropped',
  'markAttempting',
  'setPayload',
  'markMerged',
  'retryNow',
  'prune',
  'putFiring',
  'deleteFiring',
]);

export function deposedError(): StoreError {
  return new StoreError(
    'cannot write to the store: another replica holds the lease now (epoch 8, ours 7) — this one stands by',
    { file: 'postgres://db.example/monitor', reason: 'deposed' },
  );
}

/** Shared by an outbox and every transaction handle it gives out. */
export class OutboxFaults {
  /** Every write fails with a StoreError of reason `deposed`. */
  deposed = false;
  /** Messages (ids) another replica holds a claim on: markAttempting answers false. */
  readonly claimedElsewhere = new Set<number>();
  /** Methods that throw this error instead of running. */
  readonly failing = new Map<OutboxMethod, Error>();
  /**
   * Runs before a call reaches the store, given the store's handle (the transaction's, inside
   * one) and the call's arguments: another process acting first.
   */
  readonly before = new Map<OutboxMethod, (outbox: OutboxStore, args: readonly unknown[]) => Promise<void>>();
  /** Calls per method, faulted ones included. */
  readonly calls = new Map<OutboxMethod, number>();

  count(method: OutboxMethod): number {
    return this.calls.get(method) ?? 0;
  }
}

export class FaultyOutbox implements OutboxStore {
  readonly inner: OutboxStore;
  readonly faults: OutboxFaults;

  constructor(inner: OutboxStore, faults: OutboxFaults = new OutboxFaults()) {
    this.inner = inner;
    this.faults = faults;
  }

  transaction<T>(fn: (tx: OutboxStore) => Promise<T>): Promise<T> {
    return this.inner.transaction((tx) => fn(new FaultyOutbox(tx, this.faults)));
  }

  async #call<T>(method: OutboxMethod, args: readonly unknown[], run: () => Promise<T>): Promise<T> {
    this.faults.calls.set(method, this.faults.count(method) + 1);
    const error = this.faults.failing.get(method);
    if (error !== undefined) throw error;
    if (this.faults.deposed && WRITES.has(method)) throw deposedError();
    await this.faults.before.get(method)?.(this.inner, args);
    return run();
  }

  enqueue(messages: readonly NewOutboxMessage[], options?: { readonly grouped?: boolean }): Promise<void> {
    return this.#call('enqueue', [messages, options], () => this.inner.enqueue(messages, options));
  }
  hold(events: readonly NewOutboxMessage[]): Promise<void> {
    return this.#call('hold', [events], () => this.inner.hold(events));
  }
  held(): Promise<OutboxMessage[]> {
    return this.#call('held', [], () => this.inner.held());
  }
  removeHeld(ids: readonly number[]): Promise<number> {
    return this.#call('removeHeld', [ids], () => this.inner.removeHeld(ids));
  }
  markCancelled(ids: readonly number[], at: number, note: string): Promise<void> {
    return this.#call('markCancelled', [ids, at, note], () => this.inner.markCancelled(ids, at, note));
  }
  lastGroupedAt(): Promise<Map<string, number>> {
    return this.#call('lastGroupedAt', [], () => this.inner.lastGroupedAt());
  }
  heads(): Promise<OutboxMessage[]> {
    return this.#call('heads', [], () => this.inner.heads());
  }
  markSent(id: number, at: number, attempts: number): Promise<void> {
    return this.#call('markSent', [id, at, attempts], () => this.inner.markSent(id, at, attempts));
  }
  markRetry(id: number, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    return this.#call('markRetry', [id, attempts, nextAttemptAt, error], () =>
      this.inner.markRetry(id, attempts, nextAttemptAt, error),
    );
  }
  markDropped(id: number, at: number, attempts: number, error: string): Promise<void> {
    return this.#call('markDropped', [id, at, attempts, error], () =>
      this.inner.markDropped(id, at, attempts, error),
    );
  }
  markAttempting(id: number, attempts: number): Promise<boolean> {
    return this.#call('markAttempting', [id, attempts], () =>
      this.faults.claimedElsewhere.has(id) ? Promise.resolve(false) : this.inner.markAttempting(id, attempts),
    );
  }
  setPayload(id: number, payload: unknown): Promise<void> {
    return this.#call('setPayload', [id, payload], () => this.inner.setPayload(id, payload));
  }
  markMerged(id: number, at: number, intoDeliveryId: string): Promise<void> {
    return this.#call('markMerged', [id, at, intoDeliveryId], () =>
      this.inner.markMerged(id, at, intoDeliveryId),
    );
  }
  retryNow(now: number): Promise<number> {
    return this.#call('retryNow', [now], () => this.inner.retryNow(now));
  }
  unattemptedAfter(channel: string, afterId: number, limit: number): Promise<OutboxMessage[]> {
    return this.#call('unattemptedAfter', [channel, afterId, limit], () =>
      this.inner.unattemptedAfter(channel, afterId, limit),
    );
  }
  head(channel: string): Promise<OutboxMessage | null> {
    return this.#call('head', [channel], () => this.inner.head(channel));
  }
  expired(createdBefore: number): Promise<OutboxMessage[]> {
    return this.#call('expired', [createdBefore], () => this.inner.expired(createdBefore));
  }
  pendingCounts(): Promise<Map<string, number>> {
    return this.#call('pendingCounts', [], () => this.inner.pendingCounts());
  }
  find(deliveryId: string): Promise<OutboxMessage | null> {
    return this.#call('find', [deliveryId], () => this.inner.find(deliveryId));
  }
  prune(before: number): Promise<number> {
    return this.#call('prune', [before], () => this.inner.prune(before));
  }
  putFiring(alert: FiringAlert): Promise<void> {
    return this.#call('putFiring', [alert], () => this.inner.putFiring(alert));
  }
  deleteFiring(channel: string, key: string): Promise<boolean> {
    return this.#call('deleteFiring', [channel, key], () => this.inner.deleteFiring(channel, key));
  }
  firing(): Promise<FiringAlert[]> {
    return this.#call('firing', [], () => this.inner.firing());
  }
}
