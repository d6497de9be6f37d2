// The notification outbox and the firing Alertmanager alerts, as the notify layer sees their
// storage, whichever database holds them (SQLite: outbox.ts; PostgreSQL: postgres-outbox.ts).
// Payloads are opaque JSON here: the notify layer decides what a message holds.
// Times are epoch milliseconds.
//
// Row lifecycle: `held` (one event waiting for its channel's group, SPEC §8) → deleted when a
// release queues it inside a `pending` message (`grouped`), or `cancelled` (done) when it
// cancelled out; `pending` → `sent` | `dropped`. Only pending rows are ever delivered.

export type OutboxState = 'held' | 'pending' | 'sent' | 'dropped' | 'cancelled';

export interface NewOutboxMessage {
  /** Stable across retries; receivers drop duplicates by it. Unique. */
  readonly deliveryId: string;
  readonly channel: string;
  /** Must survive `JSON.stringify`/`JSON.parse`. */
  readonly payload: unknown;
  readonly createdAt: number;
}

export interface OutboxMessage extends NewOutboxMessage {
  readonly id: number;
  /** Attempts made so far. */
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  readonly state: OutboxState;
  /** When it was sent, dropped or cancelled; null while held or pending. */
  readonly doneAt: number | null;
  /** A message released by grouping: its `createdAt` is when its channel last got a group. */
  readonly grouped: boolean;
}

export interface FiringAlert {
  readonly channel: string;
  /** Identifies the alert within the channel (e.g. `device/main/123456789`). */
  readonly key: string;
  /** What the notify layer needs to re-send it; JSON. */
  readonly event: unknown;
  readonly updatedAt: number;
}

/** What the delivery loop and the notification sink need from the outbox's storage. */
export interface OutboxStore {
  /**
   * Runs `fn` in one transaction (nested calls become savepoints), as Store.transaction does;
   * `tx` is this outbox bound to it.
   */
  transaction<T>(fn: (tx: OutboxStore) => Promise<T>): Promise<T>;
  /** Queues messages to deliver; `grouped` marks those a grouping release made. */
  enqueue(messages: readonly NewOutboxMessage[], options?: { readonly grouped?: boolean }): Promise<void>;
  /**
   * Holds events for their channel's group: rows in state `held`, `createdAt` being when each
   * was held. Never delivered as such; a release turns them into a message (see below).
   */
  hold(events: readonly NewOutboxMessage[]): Promise<void>;
  /** Every held row, of every channel, oldest first. */
  held(): Promise<OutboxMessage[]>;
  /** Deletes held rows (their events were queued in a grouped message); returns how many. */
  removeHeld(ids: readonly number[]): Promise<number>;
  /** Held rows that cancelled out: done, state `cancelled`, `note` in `lastError`. */
  markCancelled(ids: readonly number[], at: number, note: string): Promise<void>;
  /** Per channel, when its newest grouped message was queued (group_interval counts from it). */
  lastGroupedAt(): Promise<Map<string, number>>;
  /** The oldest pending message of each channel, ordered by channel. */
  heads(): Promise<OutboxMessage[]>;
  markSent(id: number, at: number, attempts: number): Promise<void>;
  markRetry(id: number, attempts: number, nextAttemptAt: number, error: string): Promise<void>;
  markDropped(id: number, at: number, attempts: number, error: string): Promise<void>;
  /**
   * An attempt is about to be made: claims the message and records its count first, so that a
   * message whose attempt was cut short (stop, crash) is still known as attempted — its delivery
   * id may have been seen. False when it is not there to claim: no longer pending, or locked by
   * another replica's claim (PostgreSQL: `FOR UPDATE SKIP LOCKED`); the caller must not send it.
   * Under an HA fence a deposed holder's claim fails with reason `deposed`.
   */
  markAttempting(id: number, attempts: number): Promise<boolean>;
  /** Replaces a pending message's payload (a backlog merged into it). */
  setPayload(id: number, payload: unknown): Promise<void>;
  /**
   * A message folded into another before it was ever attempted: done, as `sent` (its events go
   * out with the other), with `merged into <delivery id>` as its note in `lastError`.
   */
  markMerged(id: number, at: number, intoDeliveryId: string): Promise<void>;
  /** Pending messages waiting for a later attempt become due at `now` (a restart, a reload); returns how many. */
  retryNow(now: number): Promise<number>;
  /** The channel's pending messages after `afterId` that were never attempted, oldest first. */
  unattemptedAfter(channel: string, afterId: number, limit: number): Promise<OutboxMessage[]>;
  /** The oldest pending message of the channel. */
  head(channel: string): Promise<OutboxMessage | null>;
  /** Pending messages created before `createdBefore`, oldest first. */
  expired(createdBefore: number): Promise<OutboxMessage[]>;
  /** Pending messages per channel; channels with none are left out. */
  pendingCounts(): Promise<Map<string, number>>;
  find(deliveryId: string): Promise<OutboxMessage | null>;
  /** Deletes sent, dropped and cancelled rows finished before `before`; returns how many. */
  prune(before: number): Promise<number>;

  putFiring(alert: FiringAlert): Promise<void>;
  /** False when there was none. */
  deleteFiring(channel: string, key: string): Promise<boolean>;
  /** Ordered by channel, then key. */
  firing(): Promise<FiringAlert[]>;
}
