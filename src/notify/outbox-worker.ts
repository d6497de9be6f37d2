// The one retry loop for every channel (Alertmanager's retry stage): takes each channel's
// oldest pending message from the outbox, lets the channel try once, and records the verdict —
// sent, retry later with exponential backoff, or dropped (refused for good, or given up after a
// day of retries).
//
// Each pass begins with the `release` step (the grouping release, release.ts): held events that
// are due become pending messages, and the loop also wakes when the next group falls due.
//
// Channels are delivered in parallel, each in order: a message waits behind its channel's older
// ones, so a receiver never sees a recovery before the outage it ends. Time comes from the
// injected Clock only, so tests drive backoff and expiry with FakeClock.
//
// A backlog goes out as one message: before a channel's head is first attempted, the messages
// queued behind it that were never attempted either are folded into it (device and account
// events only, up to MAX_MERGED_EVENTS). A message once attempted is never added to: its
// delivery id may have reached the receiver, which would drop the new events as a duplicate.
// A start or a reload retries at once what waits out a backoff (the operator fixed something).
//
// Folding and group_interval: grouping decides when a channel's events are *queued* (one
// message per group_interval at most, counted from the queue time of its last grouped message);
// folding only ever merges queued messages that were never attempted, so it makes fewer
// messages, never more, and never makes a held event due sooner. When a channel fails for a
// while, the groups queued meanwhile wait behind the failing head and go out folded into ONE
// message once it is through — so a receiver may get that backlog less than group_interval after
// the head, but one message for all of it, as Alertmanager does after a failed notify.
//
// Giving up (SPEC §8 "older than 24 h") is decided by attempts, not by the wall clock alone: a
// message is dropped when it is older than `maxAgeMs` by the wall clock AND it has been tried
// `attemptsCovering(maxAgeMs)` times (150 with the default backoff: 24 h of pauses). A forward
// jump of the wall clock therefore drops nothing that was not really retried for a day. Chosen
// over a monotonic age because attempts are stored in the row: they survive restarts (a process's
// monotonic clock does not) and no clock, wall or monotonic, can advance them. The cost is on the
// safe side: a message queued behind a failing head makes no attempts, so after the head gives
// up it is retried (folded with the rest) for up to another day — kept longer, never lost early.
// Messages of a channel no longer configured cannot be attempted; they expire by the wall clock.
//
// Over 350 lines because of this header: the code is one loop with its ordering rules.

import type { Logger } from '../log.js';
import type { Clock } from '../monitor/clock.js';
import type { OutboxMessage, OutboxStore } from '../store/outbox.js';
import {
  PAYLOAD_VERSION,
  parsePayload,
  type NotificationEvent,
  type NotificationPayload,
} from './message.js';
import { attemptsCovering, backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import type { Notifier, SendResult } from './notifier.js';

export { attemptsCovering, backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';

export type DeliveryOutcome = 'sent' | 'failed' | 'dropped';

export const DEFAULT_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** After a database error the loop pauses this long rather than spin. */
const STORE_ERROR_PAUSE_MS = 10_000;
/** A merged message holds at most this many events; the rest go in the next one. */
export const MAX_MERGED_EVENTS = 500;

export interface OutboxWorkerOptions {
  readonly store: OutboxStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly notifiers: ReadonlyMap<string, Notifier>;
  /** Every attempt (`sent`/`failed`) and every message given up (`dropped`): for the metrics. */
  readonly onOutcome?: (channel: string, outcome: DeliveryOutcome) => void;
  readonly backoff?: BackoffPolicy;
  readonly maxAgeMs?: number;
  /**
   * Run at the start of every pass (the grouping release): returns when it wants to run again,
   * null when it has nothing waiting. A throw is logged and retried after a short pause.
   */
  readonly release?: (now: number) => number | null;
}

export interface ChannelPending {
  readonly channel: string;
  readonly pending: number;
}

export class OutboxWorker {
  readonly #store: OutboxStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #onOutcome: (channel: string, outcome: DeliveryOutcome) => void;
  readonly #backoff: BackoffPolicy;
  readonly #maxAgeMs: number;
  /** Attempts that span `maxAgeMs` of backoff: fewer, and a message is not given up. */
  readonly #minAttempts: number;
  readonly #release: (now: number) => number | null;
  #notifiers: ReadonlyMap<string, Notifier>;
  #pending = new Map<string, number>();
  /** Channels already warned about as no longer configured (warned once each). */
  readonly #orphanWarned = new Set<string>();

  readonly #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #pass: Promise<number | null> | null = null;
  #woken = false;
  #sleep: AbortController | null = null;

  constructor(options: OutboxWorkerOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'notify' });
    this.#onOutcome = options.onOutcome ?? (() => undefined);
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.#minAttempts = attemptsCovering(this.#maxAgeMs, this.#backoff);
    this.#release = options.release ?? (() => null);
    this.#notifiers = options.notifiers;
    this.refreshPending();
  }

  /**
   * Starts the loop; it first delivers whatever an earlier run left pending, at once, even the
   * messages an earlier run had put off for a backoff. Idempotent.
   */
  start(): void {
    if (this.#loop !== null || this.#stop.signal.aborted) return;
    this.#retryNow('start');
    this.#loop = this.#run();
  }

  /** New messages are queued: deliver now rather than at the next scheduled wake-up. */
  wake(): void {
    this.refreshPending();
    this.#woken = true;
    this.#sleep?.abort();
  }

  /** A reload: messages for the new set of channels, and pending ones retried at once. */
  setNotifiers(notifiers: ReadonlyMap<string, Notifier>): void {
    this.#notifiers = notifiers;
    this.#orphanWarned.clear();
    this.#retryNow('reload');
    this.wake();
  }

  /**
   * Ends the loop. Attempts in flight are aborted and their outcome not recorded: their messages
   * stay pending and go out at the next start (at least once), with the same delivery id.
   */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#sleep?.abort();
    await this.#loop;
    await this.#pass?.catch(() => undefined);
  }

  /** Pending messages per channel, as of the last change: cheap enough for every scrape. */
  pending(): ChannelPending[] {
    return [...this.#pending].map(([channel, pending]) => ({ channel, pending }));
  }

  refreshPending(): void {
    try {
      this.#pending = this.#store.pendingCounts();
    } catch (err) {
      this.#log.error({ err }, 'could not count pending notifications');
    }
  }

  /**
   * One pass: drops what expired, delivers every channel's due messages in order. Returns when
   * the next message falls due (or expires), null when nothing is pending. The loop calls this;
   * tests may too, without starting the loop. A call during a pass joins that pass.
   */
  deliverDue(): Promise<number | null> {
    if (this.#pass !== null) {
      this.#woken = true;
      return this.#pass;
    }
    const pass = this.#deliverDue().finally(() => {
      this.#pass = null;
      this.refreshPending();
    });
    this.#pass = pass;
    return pass;
  }

  /** Pending messages waiting out a backoff become due now. */
  #retryNow(why: 'start' | 'reload'): void {
    try {
      const n = this.#store.retryNow(this.#clock.now());
      if (n > 0) this.#log.info({ messages: n, after: why }, 'retrying pending notifications now');
    } catch (err) {
      // The loop's next pass meets the same database and says so; backoff just runs its course.
      this.#log.error({ err }, 'could not reschedule pending notifications');
    }
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      this.#woken = false;
      let wakeAt: number | null;
      try {
        wakeAt = await this.deliverDue();
      } catch (err) {
        this.#log.error({ err }, 'notification delivery pass failed; retrying shortly');
        wakeAt = this.#clock.now() + STORE_ERROR_PAUSE_MS;
      }
      if (stop.aborted) break;
      if (this.#woken) continue;
      const sleep = new AbortController();
      this.#sleep = sleep;
      const ms = wakeAt === null ? Number.POSITIVE_INFINITY : Math.max(0, wakeAt - this.#clock.now());
      try {
        await this.#clock.sleep(ms, sleep.signal);
      } catch {
        // woken early: new messages, a reload, or stop
      } finally {
        this.#sleep = null;
      }
    }
  }

  async #deliverDue(): Promise<number | null> {
    const releaseAt = this.#runRelease();
    this.#expire();
    const heads = this.#store.heads();
    await Promise.all(heads.map((head) => this.#drainChannel(head.channel)));
    const next = this.#nextWake();
    return releaseAt === null ? next : next === null ? releaseAt : Math.min(next, releaseAt);
  }

  #runRelease(): number | null {
    try {
      return this.#release(this.#clock.now());
    } catch (err) {
      // Delivery of what is already queued goes on; the held events wait for the next try.
      this.#log.error({ err }, 'could not release grouped notifications; retrying shortly');
      return this.#clock.now() + STORE_ERROR_PAUSE_MS;
    }
  }

  /** Old by the wall clock and retried for that long (see the header); or its channel is gone. */
  #givenUp(m: OutboxMessage, now: number): boolean {
    if (m.createdAt >= now - this.#maxAgeMs) return false;
    return m.attempts >= this.#minAttempts || !this.#notifiers.has(m.channel);
  }

  #expire(): void {
    const now = this.#clock.now();
    for (const m of this.#store.expired(now - this.#maxAgeMs)) {
      if (!this.#givenUp(m, now)) continue;
      const error = `not delivered within ${this.#maxAgeMs / 3_600_000} h (${m.attempts} attempts)${m.lastError === null ? '' : `; last error: ${m.lastError}`}`;
      this.#store.markDropped(m.id, now, m.attempts, error);
      this.#onOutcome(m.channel, 'dropped');
      this.#log.error(
        { channel: m.channel, delivery_id: m.deliveryId, attempts: m.attempts, err: error },
        'notification dropped: too old',
      );
    }
  }

  async #drainChannel(channel: string): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      const now = this.#clock.now();
      const m = this.#store.head(channel);
      if (m === null || m.nextAttemptAt > now) return;
      if (this.#givenUp(m, now)) {
        this.#expire();
        continue;
      }
      const notifier = this.#notifiers.get(channel);
      if (notifier === undefined) {
        // Kept until it expires: a reload that brings the channel back still delivers it.
        if (!this.#orphanWarned.has(channel)) {
          this.#orphanWarned.add(channel);
          this.#log.warn({ channel }, 'notifications pending for a channel that is no longer configured');
        }
        return;
      }
      const payload = this.#prepare(m, now);
      const result = await this.#attempt(notifier, m, payload, now);
      if (stop.aborted) return;
      if (!this.#record(m, result)) return;
    }
  }

  /**
   * Before an attempt, in one transaction: folds the channel's backlog into a head never
   * attempted, and records the attempt as made (see markAttempting). Returns what to send.
   */
  #prepare(m: OutboxMessage, now: number): NotificationPayload | null {
    const payload = parsePayload(m.payload);
    return this.#store.transaction(() => {
      const merged = m.attempts === 0 && payload !== null ? this.#fold(m, payload, now) : payload;
      this.#store.markAttempting(m.id, m.attempts + 1);
      return merged;
    });
  }

  /**
   * The head with the never-attempted messages queued behind it appended, in order, until one
   * that cannot be merged (a test, an audit report, an unreadable row) or the size cap. Events
   * already present (same id) are not repeated. The folded messages are marked done.
   */
  #fold(head: OutboxMessage, payload: NotificationPayload, now: number): NotificationPayload {
    if (!mergeable(payload.events) || payload.events.length >= MAX_MERGED_EVENTS) return payload;
    const events = [...payload.events];
    const ids = new Set(events.map((e) => e.id));
    const folded: OutboxMessage[] = [];
    for (const next of this.#store.unattemptedAfter(head.channel, head.id, MAX_MERGED_EVENTS)) {
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
    if (folded.length === 0) return payload;
    const merged: NotificationPayload = { version: PAYLOAD_VERSION, events };
    this.#store.setPayload(head.id, merged);
    for (const f of folded) this.#store.markMerged(f.id, now, head.deliveryId);
    this.#log.info(
      {
        channel: head.channel,
        delivery_id: head.deliveryId,
        merged: folded.map((f) => f.deliveryId),
        events: events.length,
      },
      'queued notifications merged into one message',
    );
    return merged;
  }

  async #attempt(
    notifier: Notifier,
    m: OutboxMessage,
    payload: NotificationPayload | null,
    now: number,
  ): Promise<SendResult> {
    if (payload === null) {
      return { ok: false, retryable: false, error: 'the stored message is not readable by this version' };
    }
    try {
      return await notifier.send(
        { deliveryId: m.deliveryId, events: payload.events, now },
        this.#stop.signal,
      );
    } catch (err) {
      // A channel must not throw; if one does, the message gets the benefit of the doubt.
      return { ok: false, retryable: true, error: `channel failed unexpectedly: ${String(err)}` };
    }
  }

  /** Stores the verdict; true when the channel may go on with its next message. */
  #record(m: OutboxMessage, result: SendResult): boolean {
    const now = this.#clock.now();
    const attempts = m.attempts + 1;
    const fields = { channel: m.channel, delivery_id: m.deliveryId, attempts };
    if (result.ok) {
      this.#store.markSent(m.id, now, attempts);
      this.#onOutcome(m.channel, 'sent');
      this.#log.info(fields, 'notification sent');
      return true;
    }
    this.#onOutcome(m.channel, 'failed');
    if (!result.retryable) {
      this.#store.markDropped(m.id, now, attempts, result.error);
      this.#onOutcome(m.channel, 'dropped');
      this.#log.error({ ...fields, err: result.error }, 'notification dropped: refused for good');
      return true;
    }
    const delay = Math.min(
      this.#backoff.maxMs,
      Math.max(backoffDelay(attempts, this.#backoff), result.retryAfterMs ?? 0),
    );
    this.#store.markRetry(m.id, attempts, now + delay, result.error);
    if (this.#givenUp({ ...m, attempts }, now)) {
      // The attempt that completed a day of retries: given up now, not one backoff later.
      this.#expire();
      return true;
    }
    this.#log.warn({ ...fields, err: result.error, retry_in_ms: delay }, 'notification failed; will retry');
    return false;
  }

  #nextWake(): number | null {
    let next: number | null = null;
    const consider = (at: number): void => {
      if (next === null || at < next) next = at;
    };
    for (const head of this.#store.heads()) {
      // A configured channel's head is given up at an attempt time; an orphan's by the clock.
      if (this.#notifiers.has(head.channel)) consider(head.nextAttemptAt);
      else consider(head.createdAt + this.#maxAgeMs + 1);
    }
    return next;
  }
}

/** Device and account events may share a message with those of other cycles; tests and audit reports go alone. */
function mergeable(events: readonly NotificationEvent[]): boolean {
  return events.length > 0 && events.every((e) => e.kind === 'device' || e.kind === 'account');
}
