// The grouping release (SPEC §8): turns each channel's held outbox rows into one message when
// its group is due, as monitor/grouping.ts's planRelease decides. The OutboxWorker runs it at
// the start of every pass (so at start, after a publish wakes it, and at the `wakeAt` it
// returns).
//
// Everything it reads is in the outbox — the held rows and each channel's last grouped message
// (`lastGroupedAt`) — so a restarted daemon, or the replica that took over (SPEC §11), plans
// exactly as the old one would have, and one transaction per step makes the outcome
// all-or-nothing: the plan is made from what that transaction reads, and the released rows are
// deleted in the same transaction that queues the message holding their events, so an event is
// either still held or in exactly one pending message, never both, never neither (a held row
// that another process removed meanwhile fails the step, which is then rolled back). Cancelled
// rows stay, done, as the record of what was not sent (history keeps the transitions anyway).
//
// The mass-outage line: at release, each device.down gets its account's fleet counts as they
// are now (`fleet()`, the poller's state) — "12 of 40 devices of account main down so far".

import { isDeliveryEvent } from './events.js';
import type { Logger } from '../log.js';
import type { Clock } from '../monitor/clock.js';
import {
  compareForMessage,
  planRelease,
  summarizeOutage,
  type AccountFleet,
  type ChannelGroupState,
  type GroupingPolicy,
  type HeldEvent,
} from '../monitor/grouping.js';
import type { NewOutboxMessage, OutboxMessage, OutboxStore } from '../store/outbox-store.js';
import {
  eventAt,
  eventType,
  parsePayload,
  PAYLOAD_VERSION,
  type AccountOutage,
  type NotificationEvent,
  type NotificationPayload,
} from './message.js';

/** Per account: its configured devices and how many are DOWN now. */
export type FleetCounts = () => Readonly<Record<string, AccountFleet>>;

export interface GroupReleaseOptions {
  readonly store: OutboxStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Read at every step, so a reload's new times apply to what is already held. */
  readonly policy: () => GroupingPolicy;
  /** The fleet at release time; absent: no mass-outage line. */
  readonly fleet?: FleetCounts;
  /** Delivery ids of the released messages; random UUIDs unless a test needs them predictable. */
  readonly newId?: () => string;
}

export interface ReleaseOutcome {
  /** Messages queued by this step. */
  readonly queued: number;
  /** Held events cancelled out by this step. */
  readonly cancelled: number;
  /** When held events fall due next; null when nothing stays held. */
  readonly wakeAt: number | null;
}

/** What one step did, logged once it committed. */
interface Step {
  readonly queued: readonly {
    readonly channel: string;
    readonly ids: readonly number[];
    readonly message: NewOutboxMessage;
  }[];
  readonly cancelled: readonly Held[];
  readonly unreadable: readonly OutboxMessage[];
  readonly wakeAt: number | null;
}

/** A held row read back, as the planner sees it. */
interface Held extends HeldEvent {
  readonly row: OutboxMessage;
  readonly event: NotificationEvent;
}

export class GroupRelease {
  readonly #store: OutboxStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #policy: () => GroupingPolicy;
  readonly #fleet: FleetCounts | undefined;
  readonly #newId: () => string;

  constructor(options: GroupReleaseOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'notify' });
    this.#policy = options.policy;
    this.#fleet = options.fleet;
    this.#newId = options.newId ?? (() => crypto.randomUUID());
  }

  /**
   * One step at `now`: queues what is due, cancels what cancelled out. Rejects only on a
   * database failure (nothing changed then).
   */
  async run(now: number = this.#clock.now()): Promise<ReleaseOutcome> {
    // Most passes find nothing held: a read, and no write transaction.
    if ((await this.#store.held()).length === 0) return { queued: 0, cancelled: 0, wakeAt: null };
    const step = await this.#store.transaction((tx) => this.#step(tx, now));
    this.#logStep(step);
    return { queued: step.queued.length, cancelled: step.cancelled.length, wakeAt: step.wakeAt };
  }

  async #step(tx: OutboxStore, now: number): Promise<Step> {
    const rows = await tx.held();
    const held: Held[] = [];
    const unreadable: OutboxMessage[] = [];
    for (const row of rows) {
      const h = toHeld(row);
      if (h === null) unreadable.push(row);
      else held.push(h);
    }
    const channels: Record<string, ChannelGroupState> = {};
    for (const [channel, at] of await tx.lastGroupedAt()) channels[channel] = { lastSentAt: at };
    const plan = planRelease(held, channels, now, this.#policy());
    const fleet = plan.release.length === 0 ? {} : (this.#fleet?.() ?? {});
    const queued = plan.release.map((r) => ({
      channel: r.channel,
      ids: r.events.map((e) => e.row.id),
      message: {
        deliveryId: this.#newId(),
        channel: r.channel,
        payload: payloadOf(r.events, fleet),
        createdAt: now,
      },
    }));
    for (const q of queued) {
      await tx.enqueue([q.message], { grouped: true });
      const removed = await tx.removeHeld(q.ids);
      if (removed !== q.ids.length) {
        // Released by another process since this transaction read them: queuing them again
        // would send them twice. Thrown, so the step is rolled back and planned again.
        throw new Error(`held notifications of channel ${q.channel} were released elsewhere meanwhile`);
      }
    }
    if (plan.cancelled.length > 0) {
      await tx.markCancelled(
        plan.cancelled.map((e) => e.row.id),
        now,
        'cancelled out: its opening and closing were both held (history keeps both)',
      );
    }
    for (const row of unreadable) {
      await tx.markDropped(row.id, now, 0, 'the held event is not readable by this version');
    }
    return { queued, cancelled: plan.cancelled, unreadable, wakeAt: plan.wakeAt };
  }

  /** After the step committed: what it did. */
  #logStep(step: Step): void {
    for (const q of step.queued) {
      this.#log.info(
        { channel: q.channel, delivery_id: q.message.deliveryId, events: q.ids.length },
        'grouped notifications queued',
      );
    }
    if (step.cancelled.length > 0) {
      this.#log.info(
        { events: step.cancelled.map((e) => ({ channel: e.channel, type: e.type, device: e.device })) },
        'held notifications cancelled out',
      );
    }
    for (const row of step.unreadable) {
      this.#log.error(
        { channel: row.channel, delivery_id: row.deliveryId },
        'held notification unreadable; dropped',
      );
    }
  }
}

function toHeld(row: OutboxMessage): Held | null {
  const event = parsePayload(row.payload)?.events[0];
  if (event === undefined) return null;
  const account = event.kind === 'device' || event.kind === 'account' ? event.account : null;
  const downSince =
    event.kind === 'device' && !isDeliveryEvent(event.event) ? event.event.downSince : undefined;
  // The delivery problem an event opens, holds or ends: grouping pairs a stall with its recovery.
  const problem = event.kind === 'device' && isDeliveryEvent(event.event) ? event.event.problem : undefined;
  return {
    row,
    event,
    channel: row.channel,
    id: event.id,
    type: eventType(event),
    heldAt: row.createdAt,
    at: eventAt(event),
    account,
    device: event.kind === 'device' ? event.device.number : null,
    ...(downSince === undefined ? {} : { downSince }),
    ...(problem === undefined ? {} : { problem }),
  };
}

/** The message's events worst first, each device.down carrying its account's outage line. */
function payloadOf(
  events: readonly Held[],
  fleet: Readonly<Record<string, AccountFleet>>,
): NotificationPayload {
  const outages = new Map<string, AccountOutage>(
    summarizeOutage(events, fleet).map((s) => [
      s.account,
      { down: s.down, total: s.total, likelyGatewaySide: s.likelyGatewaySide },
    ]),
  );
  const out = [...events].sort(compareForMessage).map((h): NotificationEvent => {
    const e = h.event;
    if (e.kind !== 'device' || e.event.type !== 'device.down') return e;
    const outage = outages.get(e.account);
    return outage === undefined ? e : { ...e, outage };
  });
  return { version: PAYLOAD_VERSION, events: out };
}
