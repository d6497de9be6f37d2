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
// injected Clock only, so tests drive backoff and expiry with FakeClock. A backlog goes out as
// one message (outbox-fold.ts). A start or a reload retries at once what waits out a backoff
// (the operator fixed something).
//
// Claims: every attempt is preceded by `markAttempting` in the transaction that folds the
// backlog, and a message whose claim answers false is not sent — it is no longer pending, or
// another replica holds it (PostgreSQL: FOR UPDATE SKIP LOCKED); the channel then waits a moment
// rather than spin on it. So within a process a message is sent at most once per attempt, and a
// claim made before a crash still counts (its delivery id may have been seen).
//
// HA (SPEC §11): `canSend` is asked before the release, before every claim and again right
// before every attempt; while it says no (the lease lapsed on this process's own clock) nothing
// is released, claimed or sent, and the loop re-asks every STANDBY_RECHECK_MS. A write refused
// as `deposed` (deposed.ts) leaves that message to the replica that took over: logged once per
// run, not retried by this run, no crash (handover.ts). start() after stop() is a new run (a new
// term).
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
// Over 400 lines with this header (some 370 of code): one pass, whose ordering, claim and HA
// rules read best in one place. Around it: the loop (pass-loop.ts), the backlog merge (outbox-fold.ts), what other replicas took over
// (handover.ts), the metrics' pending counts (pending-counts.ts).

import type { Logger } from '../log.js';
import type { Clock } from '../monitor/clock.js';
import type { OutboxMessage, OutboxStore } from '../store/outbox-store.js';
import { ALWAYS } from './deposed.js';
import { parsePayload, type NotificationPayload } from './message.js';
import { attemptsCovering, backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import type { Notifier, SendResult } from './notifier.js';
import { Handover } from './handover.js';
import { foldBacklog } from './outbox-fold.js';
import { PassLoop } from './pass-loop.js';
import { PendingCounts, type ChannelPending } from './pending-counts.js';

export { attemptsCovering, backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
export { MAX_MERGED_EVENTS } from './outbox-fold.js';
export type { ChannelPending } from './pending-counts.js';

export type DeliveryOutcome = 'sent' | 'failed' | 'dropped';

export const DEFAULT_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** After a database error the loop pauses this long rather than spin. */
const STORE_ERROR_PAUSE_MS = 10_000;
/** While `canSend` says no, the loop asks again this often (no I/O meanwhile). */
export const STANDBY_RECHECK_MS = 1_000;
/** A head another replica holds a claim on is left alone this long before it is tried again. */
export const CLAIM_CONFLICT_PAUSE_MS = 5_000;

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
   * Run at the start of every pass (the grouping release): resolves to when it wants to run
   * again, null when it has nothing waiting. A rejection is logged and retried after a short pause.
   */
  readonly release?: (now: number) => Promise<number | null>;
  /**
   * Whether this process may deliver now (HA: it holds the lease by its own clock). Asked before
   * the release, before every claim and right before every attempt. Default: always.
   */
  readonly canSend?: () => boolean;
}

/** A claimed head and what to send; `claimed: false`: not ours to send. */
type Claim =
  { readonly claimed: true; readonly payload: NotificationPayload | null } | { readonly claimed: false };

export class OutboxWorker {
  readonly #store: OutboxStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #onOutcome: (channel: string, outcome: DeliveryOutcome) => void;
  readonly #backoff: BackoffPolicy;
  readonly #maxAgeMs: number;
  /** Attempts that span `maxAgeMs` of backoff: fewer, and a message is not given up. */
  readonly #minAttempts: number;
  readonly #release: (now: number) => Promise<number | null>;
  readonly #canSend: () => boolean;
  #notifiers: ReadonlyMap<string, Notifier>;
  readonly #pending: PendingCounts;
  /** Channels already warned about as no longer configured (warned once each). */
  readonly #orphanWarned = new Set<string>();

  readonly #loop: PassLoop;
  /** Pending messages waiting out a backoff are made due at the next pass, and why. */
  #retryDue: 'start' | 'reload' | null = null;

  /** Per run: what the other replicas took over or hold. */
  readonly #handover: Handover;

  constructor(options: OutboxWorkerOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'notify' });
    this.#onOutcome = options.onOutcome ?? (() => undefined);
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.#minAttempts = attemptsCovering(this.#maxAgeMs, this.#backoff);
    this.#release = options.release ?? (() => Promise.resolve(null));
    this.#canSend = options.canSend ?? ALWAYS;
    this.#notifiers = options.notifiers;
    this.#handover = new Handover(this.#log);
    this.#pending = new PendingCounts(this.#store, this.#log);
    this.#loop = new PassLoop({
      clock: this.#clock,
      log: this.#log,
      pass: (signal) => this.#deliverDue(signal),
      errorPauseMs: STORE_ERROR_PAUSE_MS,
    });
  }

  /**
   * Starts the loop; it first delivers whatever an earlier run left pending, at once, even the
   * messages an earlier run had put off for a backoff. Idempotent while running; after stop()
   * it starts a new run (a replica leading again), which forgets what the last one left to others.
   */
  start(): void {
    if (this.#loop.running) return;
    this.#handover.reset();
    this.#retryDue = 'start';
    this.#loop.start();
  }

  /** New messages are queued: deliver now rather than at the next scheduled wake-up. */
  wake(): void {
    void this.refreshPending();
    this.#loop.wake();
  }

  /** A reload: messages for the new set of channels, and pending ones retried at once. */
  setNotifiers(notifiers: ReadonlyMap<string, Notifier>): void {
    this.#notifiers = notifiers;
    this.#orphanWarned.clear();
    this.#retryDue ??= 'reload';
    this.wake();
  }

  /**
   * Ends the loop. Attempts in flight are aborted and their outcome not recorded: their messages
   * stay pending and go out at the next start (at least once), with the same delivery id.
   */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Pending messages per channel as last read (after every pass, at wake()): no I/O. */
  pending(): ChannelPending[] {
    return this.#pending.get();
  }

  /** Reads the pending counts again (pending-counts.ts). Never rejects. */
  refreshPending(): Promise<void> {
    return this.#pending.refresh();
  }

  /**
   * One pass: drops what expired, delivers every channel's due messages in order. Returns when
   * the next message falls due (or expires), null when nothing is pending. The loop calls this;
   * tests may too, without starting the loop. A call during a pass joins that pass.
   */
  deliverDue(): Promise<number | null> {
    return this.#loop.runPass();
  }

  async #deliverDue(signal: AbortSignal): Promise<number | null> {
    // Standing by: nothing is read or written, only asked again shortly.
    if (!this.#canSend()) return this.#clock.now() + STANDBY_RECHECK_MS;
    try {
      await this.#retryIfDue();
      const releaseAt = await this.#runRelease();
      await this.#expire();
      const heads = await this.#store.heads();
      await Promise.all(heads.map((head) => this.#drainChannel(head.channel, signal)));
      const next = await this.#nextWake();
      return releaseAt === null ? next : next === null ? releaseAt : Math.min(next, releaseAt);
    } finally {
      await this.refreshPending();
    }
  }

  /** After a start or a reload: pending messages waiting out a backoff become due now. */
  async #retryIfDue(): Promise<void> {
    const why = this.#retryDue;
    if (why === null) return;
    this.#retryDue = null;
    try {
      const n = await this.#store.retryNow(this.#clock.now());
      if (n > 0) this.#log.info({ messages: n, after: why }, 'retrying pending notifications now');
    } catch (err) {
      // The pass meets the same database and says so; backoff just runs its course.
      if (!this.#handover.deposed(err, null))
        this.#log.error({ err }, 'could not reschedule pending notifications');
    }
  }

  async #runRelease(): Promise<number | null> {
    try {
      return await this.#release(this.#clock.now());
    } catch (err) {
      // The held events are the other replica's now: nothing to come back for.
      if (this.#handover.deposed(err, null)) return null;
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

  async #expire(): Promise<void> {
    const now = this.#clock.now();
    for (const m of await this.#store.expired(now - this.#maxAgeMs)) {
      if (this.#handover.isLeft(m) || !this.#givenUp(m, now)) continue;
      const error = `${this.#tooOld(m.attempts)}${m.lastError === null ? '' : `; last error: ${m.lastError}`}`;
      try {
        await this.#store.markDropped(m.id, now, m.attempts, error);
      } catch (err) {
        if (this.#handover.deposed(err, m)) continue;
        throw err;
      }
      this.#onOutcome(m.channel, 'dropped');
      this.#log.error(
        { channel: m.channel, delivery_id: m.deliveryId, attempts: m.attempts, err: error },
        'notification dropped: too old',
      );
    }
  }

  async #drainChannel(channel: string, signal: AbortSignal): Promise<void> {
    /** The head whose claim just answered false: if it is still the head, another replica holds it. */
    let unclaimed: number | null = null;
    while (!signal.aborted) {
      const now = this.#clock.now();
      if (this.#handover.contendedUntil(channel) > now) return;
      const m = await this.#store.head(channel);
      if (m === null || m.nextAttemptAt > now || this.#handover.isLeft(m)) return;
      if (this.#givenUp(m, now)) {
        await this.#expire();
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
      if (!this.#canSend()) return;
      const claim = await this.#claim(m, now);
      if (claim === null) return;
      if (!claim.claimed) {
        if (unclaimed === m.id) {
          this.#handover.contend(channel, now + CLAIM_CONFLICT_PAUSE_MS);
          this.#log.debug({ channel, delivery_id: m.deliveryId }, 'message claimed elsewhere; waiting');
          return;
        }
        unclaimed = m.id;
        continue;
      }
      // The lease may have lapsed during the claim: claimed (counted as attempted) but not sent.
      if (signal.aborted || !this.#canSend()) return;
      const result = await this.#attempt(notifier, m, claim.payload, now, signal);
      if (signal.aborted) return;
      if (!(await this.#record(m, result))) return;
    }
  }

  /**
   * Claims the head (markAttempting) and, on its first attempt, folds the channel's backlog into
   * it, in one transaction. Null when the store refused as `deposed` (the message is left).
   */
  async #claim(m: OutboxMessage, now: number): Promise<Claim | null> {
    const payload = parsePayload(m.payload);
    let claim: Claim;
    let folded: readonly OutboxMessage[] = [];
    try {
      claim = await this.#store.transaction(async (tx): Promise<Claim> => {
        if (!(await tx.markAttempting(m.id, m.attempts + 1))) return { claimed: false };
        if (m.attempts > 0 || payload === null) return { claimed: true, payload };
        const result = await foldBacklog(tx, m, payload, now);
        folded = result.folded;
        return { claimed: true, payload: result.payload };
      });
    } catch (err) {
      if (this.#handover.deposed(err, m)) return null;
      throw err;
    }
    if (claim.claimed && folded.length > 0) {
      this.#log.info(
        {
          channel: m.channel,
          delivery_id: m.deliveryId,
          merged: folded.map((f) => f.deliveryId),
          events: claim.payload?.events.length,
        },
        'queued notifications merged into one message',
      );
    }
    return claim;
  }

  async #attempt(
    notifier: Notifier,
    m: OutboxMessage,
    payload: NotificationPayload | null,
    now: number,
    signal: AbortSignal,
  ): Promise<SendResult> {
    if (payload === null) {
      return { ok: false, retryable: false, error: 'the stored message is not readable by this version' };
    }
    try {
      return await notifier.send({ deliveryId: m.deliveryId, events: payload.events, now }, signal);
    } catch (err) {
      // A channel must not throw; if one does, the message gets the benefit of the doubt.
      return { ok: false, retryable: true, error: `channel failed unexpectedly: ${String(err)}` };
    }
  }

  /**
   * Stores the verdict (one write); true when the channel may go on with its next message. The
   * attempt's outcome is counted first: it happened at the receiver whatever the store does next.
   */
  async #record(m: OutboxMessage, result: SendResult): Promise<boolean> {
    const now = this.#clock.now();
    const attempts = m.attempts + 1;
    const fields = { channel: m.channel, delivery_id: m.deliveryId, attempts };
    this.#onOutcome(m.channel, result.ok ? 'sent' : 'failed');
    try {
      if (result.ok) {
        await this.#store.markSent(m.id, now, attempts);
        this.#log.info(fields, 'notification sent');
        return true;
      }
      if (!result.retryable) {
        await this.#store.markDropped(m.id, now, attempts, result.error);
        this.#onOutcome(m.channel, 'dropped');
        this.#log.error({ ...fields, err: result.error }, 'notification dropped: refused for good');
        return true;
      }
      if (this.#givenUp({ ...m, attempts }, now)) {
        // The attempt that completed a day of retries: given up now, not one backoff later.
        const error = `${this.#tooOld(attempts)}; last error: ${result.error}`;
        await this.#store.markDropped(m.id, now, attempts, error);
        this.#onOutcome(m.channel, 'dropped');
        this.#log.error({ ...fields, err: error }, 'notification dropped: too old');
        return true;
      }
      const delay = Math.min(
        this.#backoff.maxMs,
        Math.max(backoffDelay(attempts, this.#backoff), result.retryAfterMs ?? 0),
      );
      await this.#store.markRetry(m.id, attempts, now + delay, result.error);
      this.#log.warn({ ...fields, err: result.error, retry_in_ms: delay }, 'notification failed; will retry');
      return false;
    } catch (err) {
      // Sent (or not) and not recorded: the replica that took over finds it pending and attempted,
      // and sends it again with the same delivery id (at least once; receivers drop duplicates).
      if (this.#handover.deposed(err, m)) return false;
      throw err;
    }
  }

  #tooOld(attempts: number): string {
    return `not delivered within ${this.#maxAgeMs / 3_600_000} h (${attempts} attempts)`;
  }

  async #nextWake(): Promise<number | null> {
    let next: number | null = null;
    const consider = (at: number): void => {
      if (next === null || at < next) next = at;
    };
    for (const head of await this.#store.heads()) {
      if (this.#handover.isLeft(head)) continue;
      // A configured channel's head is given up at an attempt time; an orphan's by the clock.
      if (this.#notifiers.has(head.channel)) {
        consider(Math.max(head.nextAttemptAt, this.#handover.contendedUntil(head.channel)));
      } else {
        consider(head.createdAt + this.#maxAgeMs + 1);
      }
    }
    return next;
  }
}
