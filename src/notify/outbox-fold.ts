// A backlog goes out as one message: before a channel's head is first attempted, the messages
// queued behind it that were never attempted either are folded into it (device and account
// events only, up to MAX_MERGED_EVENTS). A message once attempted is never added to: its
// delivery id may have reached the receiver, which would drop the new events as a duplicate.
//
// Folding and group_interval: grouping decides when a channel's events are *queued* (one
// message per group_interval at most, counted from the queue time of its last grouped message);
// folding only ever merges queued messages that were never attempted, so it makes fewer
// messages, never more, and never makes a held event due sooner. When a channel fails for a
// while, the groups queued meanwhile wait behind the failing head and go out folded into ONE
// message once it is through — so a receiver may get that backlog less than group_interval after
// the head, but one message for all of it, as Alertmanager does after a failed notify.
//
// The worker folds inside the transaction that claims the head (outbox-worker.ts), through that
// transaction's handle: the merged payload and the folded messages' `merged into` are stored
// together with the claim, before the attempt, so a retry sends the same events.

import type { OutboxMessage, OutboxStore } from '../store/outbox-store.js';
import {
  PAYLOAD_VERSION,
  parsePayload,
  type NotificationEvent,
  type NotificationPayload,
} from './message.js';

/** A merged message holds at most this many events; the rest go in the next one. */
export const MAX_MERGED_EVENTS = 500;

export interface Folded {
  /** What to send: the head's payload with the backlog appended (or as it was). */
  readonly payload: NotificationPayload;
  /** The messages folded into the head, now done; empty when nothing was folded. */
  readonly folded: readonly OutboxMessage[];
}

/**
 * The head with the never-attempted messages queued behind it appended, in order, until one
 * that cannot be merged (a test, an audit report, an unreadable row) or the size cap. Events
 * already present (same id) are not repeated. Stores the merged payload and marks the folded
 * messages done, through `tx` (the claim's transaction).
 */
export async function foldBacklog(
  tx: OutboxStore,
  head: OutboxMessage,
  payload: NotificationPayload,
  now: number,
): Promise<Folded> {
  if (!mergeable(payload.events) || payload.events.length >= MAX_MERGED_EVENTS) {
    return { payload, folded: [] };
  }
  const events = [...payload.events];
  const ids = new Set(events.map((e) => e.id));
  const folded: OutboxMessage[] = [];
  for (const next of await tx.unattemptedAfter(head.channel, head.id, MAX_MERGED_EVENTS)) {
    const more = parsePayload(next.payload);
    if (more === null || !mergeable(more.events)) break;
    const fresh = more.events.filter((e) => !ids.has(e.id));
    if (events.length + fresh.length > MAX_MERGED_EVENTS) break;
    for (const e of fresh) {
      ids.add(e.id);
      events.push(e);
    }
    folded.push(next);
  }
  if (folded.length === 0) return { payload, folded };
  const merged: NotificationPayload = { version: PAYLOAD_VERSION, events };
  await tx.setPayload(head.id, merged);
  for (const f of folded) await tx.markMerged(f.id, now, head.deliveryId);
  return { payload: merged, folded };
}

/** Device and account events may share a message with those of other cycles; tests and audit reports go alone. */
function mergeable(events: readonly NotificationEvent[]): boolean {
  return events.length > 0 && events.every((e) => e.kind === 'device' || e.kind === 'account');
}
