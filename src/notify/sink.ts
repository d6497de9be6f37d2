// Where the poller's alerts enter the notification layer: each publish() (one tick's cycles) is
// routed per channel and written to the outbox it is given — the cycle writer's transaction
// handle, so the tick's device rows and its messages commit together — in one savepoint of it.
// It reads and writes only through that handle: a call on the store itself would wait for the
// very transaction it runs in. Nothing is sent here; the OutboxWorker does that.
//
// Most channels get each event as a `held` outbox row: GroupRelease (release.ts) later turns a
// channel's held rows into one message, Alertmanager-style (SPEC §8 group_wait/group_interval).
// Channels that group at the receiver (`groups: false` on their definition: Alertmanager) get
// one message per cycle at once, as before.
//
// Channels whose alerts fire and resolve at the receiver (a `firing` hook on their definition:
// Alertmanager) also keep their firing alerts in the database, so that refreshFiring()
// can post them again (every `resendMs`) while they hold — across restarts.

import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Clock } from '../monitor/clock.js';
import type { FiringAlert, NewOutboxMessage, OutboxStore } from '../store/outbox-store.js';
import type { AuditDelivery, AuditMessage } from '../audit/sender.js';
import { auditChannelProblem, auditNotification } from './audit-sender.js';
import { definitionOf, type ChannelConfig } from './channels/index.js';
import type { FiringHook } from './channels/definition.js';
import type { AlertSink, MonitorAlert } from './events.js';
import {
  PAYLOAD_VERSION,
  parsePayload,
  toNotificationEvent,
  type NotificationEvent,
  type NotificationPayload,
} from './message.js';
import { routeAlert } from './routing.js';

export type SinkConfig = Pick<Config, 'notify' | 'accounts'>;

export interface NotificationSinkOptions {
  /** For the sink's own writes (audit reports, Alertmanager re-sends); publish() is given its outbox. */
  readonly store: OutboxStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: SinkConfig;
  /** Event and delivery ids; random UUIDs unless a test needs them predictable. */
  readonly newId?: () => string;
  /**
   * Called after messages were queued (the worker's wake()); after publish(), before the caller's
   * transaction commits (see Notifications.wake).
   */
  readonly onQueued?: () => void;
}

export class NotificationSink implements AlertSink {
  readonly #store: OutboxStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #newId: () => string;
  readonly #onQueued: () => void;
  #config: SinkConfig;
  /** When each Alertmanager channel last got its firing alerts; empty after a restart, so they go out at once. */
  readonly #lastPosted = new Map<string, number>();
  readonly #unknownWarned = new Set<string>();

  constructor(options: NotificationSinkOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'notify' });
    this.#newId = options.newId ?? (() => crypto.randomUUID());
    this.#onQueued = options.onQueued ?? (() => undefined);
    this.#config = options.config;
  }

  setConfig(config: SinkConfig): void {
    this.#config = config;
    this.#unknownWarned.clear();
  }

  /** Routes and writes the alerts through `outbox` (all or nothing); rejects if the database fails. */
  async publish(alerts: readonly MonitorAlert[], outbox: OutboxStore): Promise<void> {
    if (alerts.length === 0) return;
    const now = this.#clock.now();
    const channels = this.#config.notify.channels;
    const byChannel = new Map<string, NotificationEvent[]>();
    for (const alert of alerts) {
      const event = toNotificationEvent(alert, this.#newId());
      for (const name of routeAlert(alert, this.#config.notify)) {
        const channel = channels[name];
        if (channel === undefined) {
          this.#warnUnknown(name);
          continue;
        }
        if (definitionOf(channel.type).takesEvent?.(event) === false) continue;
        let list = byChannel.get(name);
        if (list === undefined) byChannel.set(name, (list = []));
        list.push(event);
      }
    }
    if (byChannel.size === 0) return;

    const posted: string[] = [];
    await outbox.transaction(async (tx) => {
      const firing = new Map((await tx.firing()).map((f) => [`${f.channel}\n${f.key}`, f]));
      const messages: NewOutboxMessage[] = [];
      const held: NewOutboxMessage[] = [];
      for (const [name, events] of byChannel) {
        const hook = firingHook(channels[name]);
        const payloadEvents: NotificationEvent[] = [];
        for (const e of events) {
          payloadEvents.push(
            hook === undefined ? e : await this.#trackFiring(tx, name, hook, e, now, firing),
          );
        }
        if (groups(channels[name])) {
          for (const e of payloadEvents) held.push(this.#message(name, [e], now));
        } else {
          messages.push(this.#message(name, payloadEvents, now));
        }
        if (hook !== undefined) posted.push(name);
      }
      await tx.hold(held);
      await tx.enqueue(messages);
    });
    for (const name of posted) this.#lastPosted.set(name, now);
    this.#log.debug({ alerts: alerts.length, channels: [...byChannel.keys()] }, 'notifications queued');
    this.#onQueued();
  }

  /**
   * Queues the audit report for each channel (one message each). Channels that cannot take it
   * (unknown, or refusing reports: Alertmanager) are reported back, not queued.
   */
  async queueAudit(message: AuditMessage, channels: readonly string[]): Promise<AuditDelivery[]> {
    const now = this.#clock.now();
    const deliveries: AuditDelivery[] = [];
    const messages: NewOutboxMessage[] = [];
    const event = auditNotification(message, this.#newId(), now);
    for (const channel of new Set(channels)) {
      const problem = auditChannelProblem(this.#config, channel);
      if (problem !== null) {
        deliveries.push({ channel, outcome: 'failed', error: problem });
        continue;
      }
      messages.push(this.#message(channel, [event], now));
      deliveries.push({ channel, outcome: 'queued' });
    }
    await this.#store.enqueue(messages);
    if (messages.length > 0) this.#onQueued();
    return deliveries;
  }

  /**
   * The per-tick hook: queues, for each channel with a firing hook (Alertmanager), its firing
   * alerts again once its `resendMs` (a minute) has passed since they last went out
   * (Alertmanager expects them every 30 s to 3 min).
   * Skipped while the channel still has messages pending: they go first, and the refresh
   * follows a minute after. Firing alerts of devices, accounts or channels no longer
   * configured are forgotten; Alertmanager resolves them at their `endsAt`.
   */
  async refreshFiring(now: number = this.#clock.now()): Promise<void> {
    const channels = this.#config.notify.channels;
    const known = new Set<string>();
    for (const account of this.#config.accounts) {
      known.add(`account/${account.name}`);
      for (const d of account.devices) known.add(`device/${account.name}/${d.number}`);
    }
    // One transaction, reads included: a publish that resolves an alert meanwhile must not be
    // followed by a re-send of it firing (Alertmanager would fire it again).
    const done = await this.#store.transaction(async (tx) => {
      const due = new Map<string, NotificationEvent[]>();
      const stale: FiringAlert[] = [];
      for (const f of await tx.firing()) {
        const event = parseEvent(f.event);
        const hook = firingHook(channels[f.channel]);
        if (hook === undefined || !known.has(f.key) || event === null) {
          stale.push(f);
          continue;
        }
        const last = this.#lastPosted.get(f.channel);
        if (last !== undefined && now - last < hook.resendMs) continue;
        let list = due.get(f.channel);
        if (list === undefined) due.set(f.channel, (list = []));
        list.push(event);
      }
      const pending = due.size === 0 ? new Map<string, number>() : await tx.pendingCounts();
      const messages: NewOutboxMessage[] = [];
      for (const [name, events] of due) {
        if ((pending.get(name) ?? 0) > 0) continue;
        messages.push(this.#message(name, events, now));
      }
      for (const f of stale) await tx.deleteFiring(f.channel, f.key);
      await tx.enqueue(messages);
      return { stale, messages };
    });
    for (const m of done.messages) this.#lastPosted.set(m.channel, now);
    for (const f of done.stale) {
      this.#log.info(
        { channel: f.channel, alert: f.key },
        'stopped re-sending an alert no longer configured',
      );
    }
    if (done.messages.length > 0) this.#onQueued();
  }

  /**
   * Records the event's effect on its firing alert and returns the event to send. A resolve is
   * sent with the identity the alert fired with: Alertmanager finds the alert by its labels, and
   * a reload may have changed the device's name or labels since.
   */
  async #trackFiring(
    tx: OutboxStore,
    channel: string,
    hook: FiringHook,
    event: NotificationEvent,
    now: number,
    firing: ReadonlyMap<string, FiringAlert>,
  ): Promise<NotificationEvent> {
    const key = hook.key(event);
    const effect = hook.effect(event);
    if (key === null || effect === null) return event;
    if (effect === 'fire') {
      // The QR code is for people; a receiver keeping alerts gets no image.
      const stored = event.kind === 'device' ? { ...event, qrCode: null } : event;
      await tx.putFiring({ channel, key, event: stored, updatedAt: now });
      return event;
    }
    const fired = firing.get(`${channel}\n${key}`);
    await tx.deleteFiring(channel, key);
    const before = fired === undefined ? null : parseEvent(fired.event);
    if (before?.kind === 'device' && event.kind === 'device') return { ...event, device: before.device };
    return event;
  }

  #message(channel: string, events: readonly NotificationEvent[], now: number): NewOutboxMessage {
    const payload: NotificationPayload = { version: PAYLOAD_VERSION, events };
    return { deliveryId: this.#newId(), channel, payload, createdAt: now };
  }

  #warnUnknown(name: string): void {
    if (this.#unknownWarned.has(name)) return;
    this.#unknownWarned.add(name);
    this.#log.warn({ channel: name }, 'alert routed to a channel that is not configured');
  }
}

/** Whether the channel's events are held for grouping (every channel but those grouping themselves). */
function groups(channel: ChannelConfig | undefined): boolean {
  return channel === undefined || definitionOf(channel.type).groups !== false;
}

function firingHook(channel: ChannelConfig | undefined): FiringHook | undefined {
  return channel === undefined ? undefined : definitionOf(channel.type).firing;
}

function parseEvent(value: unknown): NotificationEvent | null {
  return parsePayload({ version: PAYLOAD_VERSION, events: [value] })?.events[0] ?? null;
}
