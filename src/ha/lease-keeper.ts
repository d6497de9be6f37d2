// Keeps this replica's side of the HA lease (SPEC §11): claims it while standing by, renews it
// while holding it, and tells the daemon when it gained or lost it. The rules are the pure
// monitor/lease.ts; this is the loop and the database calls.
//
// The daemon's transitions run one at a time, in order, on a chain of their own: a replica is
// never starting to lead while it is still stopping from the last time, and renewals never wait
// for a transition (loading state, waiting out a tick) — a slow start must not lose the lease.
//
// Two things end a stint besides a refused renewal: a timer at the lease's deadline on this
// replica's own clock (a renewal may hang on a dead connection for minutes), and a start that
// failed (the lease is let go at once, so another replica leads instead of none).

import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import type { Clock } from '../monitor/clock.js';
import {
  afterAttempt,
  epochAt,
  leads,
  nextAttemptAt,
  nextAttemptKind,
  STANDBY,
  type LeaseAnswer,
  type Leadership,
} from '../monitor/lease.js';
import type { LeaseStore } from '../store/lease.js';

export interface LeaseKeeperOptions {
  readonly store: LeaseStore;
  /** The lease group (monitor/lease.ts `leaseName`). */
  readonly name: string;
  readonly leaseMs: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** This replica now holds the lease at `epoch`: load state, start polling and notifying. */
  readonly onGained: (epoch: number) => Promise<void>;
  /** It no longer does (lapsed on its own clock, taken, or stopping): stop at once. */
  readonly onLost: (why: string) => Promise<void>;
  /** Tests: two keepers in one process need different names. */
  readonly holder?: string;
}

export class LeaseKeeper {
  /** The lease group. */
  readonly name: string;
  readonly holder: string;
  readonly #options: LeaseKeeperOptions;
  #state: Leadership = STANDBY;
  /** What the daemon was last told: it runs its parts only between onGained and onLost. */
  #told: 'gained' | 'lost' = 'lost';
  #stop: AbortController | null = null;
  #loop: Promise<void> | null = null;
  /** The database failed on the last attempt (logged once per failing spell). */
  #failing = false;
  /** The daemon's transitions, in order (see the top). */
  #transitions: Promise<void> = Promise.resolve();
  /** Ends the wait for the current stint's deadline. */
  #deadline: AbortController | null = null;

  constructor(options: LeaseKeeperOptions) {
    this.#options = options;
    this.name = options.name;
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /** Whether this replica may call the gateway and send now, by its own monotonic clock. */
  leading(): boolean {
    return leads(this.#state, this.#options.clock.monotonic());
  }

  /** The epoch to log calls and fence writes with now; null when not leading. */
  epoch(): number | null {
    return epochAt(this.#state, this.#options.clock.monotonic());
  }

  start(): void {
    if (this.#loop !== null) return;
    const stop = new AbortController();
    this.#stop = stop;
    this.#loop = this.#run(stop.signal);
  }

  /** Stops the loop; a holder stops its parts and lets the lease go, so a standby takes over at once. */
  async stop(): Promise<void> {
    this.#stop?.abort();
    this.#deadline?.abort();
    await this.#loop;
    this.#loop = null;
    const state = this.#state;
    this.#state = STANDBY;
    this.#tell('lost', 'stopping');
    await this.#transitions;
    if (state.kind !== 'leader') return;
    await this.#release(state.epoch);
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { clock, leaseMs } = this.#options;
    while (!signal.aborted) {
      const sentAt = clock.monotonic();
      const kind = nextAttemptKind(this.#state, sentAt);
      // Lapsed on our own clock before we could renew: stop first, claim anew after.
      if (kind === 'claim') this.#tell('lost', 'the lease lapsed before it could be renewed');
      const answer = await this.#attempt(kind);
      if (signal.aborted) return;
      const before = this.#state;
      this.#state = afterAttempt(before, answer, sentAt, leaseMs);
      this.#follow(before, answer);
      const wakeAt = nextAttemptAt(this.#state, answer, sentAt, leaseMs);
      try {
        await clock.sleep(wakeAt - clock.monotonic(), signal);
      } catch {
        return; // stopped
      }
    }
  }

  async #attempt(kind: 'renew' | 'claim'): Promise<LeaseAnswer> {
    const { store, name, leaseMs, log } = this.#options;
    try {
      if (kind === 'renew' && this.#state.kind === 'leader') {
        const epoch = this.#state.epoch;
        const renewed = await store.renewLease(name, this.holder, epoch, leaseMs);
        this.#recovered();
        return renewed ? { kind: 'granted', epoch } : { kind: 'refused' };
      }
      const epoch = await store.acquireLease(name, this.holder, leaseMs);
      this.#recovered();
      return epoch === null ? { kind: 'refused' } : { kind: 'granted', epoch };
    } catch (err) {
      if (!this.#failing) log.error({ component: 'ha', err, lease: name }, `could not ${kind} the lease`);
      this.#failing = true;
      return { kind: 'failed' };
    }
  }

  #recovered(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#options.log.info({ component: 'ha', lease: this.#options.name }, 'the lease is reachable again');
  }

  /** Tells the daemon what changed with this attempt: gained only on a grant, lost once not leading. */
  #follow(before: Leadership, answer: LeaseAnswer): void {
    const state = this.#state;
    if (answer.kind === 'granted' && state.kind === 'leader') {
      if (before.kind === 'leader' && before.epoch !== state.epoch) this.#tell('lost', 'a new epoch');
      this.#armDeadline(state.validUntil);
      this.#tell('gained', `epoch ${state.epoch}`);
    } else if (!leads(state, this.#options.clock.monotonic())) {
      this.#tell('lost', answer.kind === 'refused' ? 'another replica holds the lease' : 'the lease lapsed');
    }
  }

  /** At `validUntil` (monotonic), unless renewed by then: stand down, even while a renewal hangs. */
  #armDeadline(validUntil: number): void {
    this.#deadline?.abort();
    const deadline = new AbortController();
    this.#deadline = deadline;
    const clock = this.#options.clock;
    clock.sleep(validUntil - clock.monotonic(), deadline.signal).then(
      () => {
        if (!this.leading()) this.#tell('lost', 'the lease lapsed before it could be renewed');
      },
      () => undefined, // renewed, or stopping
    );
  }

  /** Queues the daemon's transition; `what` is recorded at once, so each is told once, in order. */
  #tell(what: 'gained' | 'lost', why: string): void {
    if (this.#told === what) return;
    this.#told = what;
    const { log, name } = this.#options;
    const epoch = this.#state.kind === 'leader' ? this.#state.epoch : 0;
    this.#transitions = this.#transitions.then(async () => {
      if (what === 'lost') {
        log.warn(
          { component: 'ha', lease: name, holder: this.holder, reason: why },
          'not holding the lease: standing by',
        );
        try {
          await this.#options.onLost(why);
        } catch (err) {
          log.error({ component: 'ha', err }, 'the daemon failed to stand by');
        }
        return;
      }
      // Superseded while queued (lost again, or a newer grant): nothing to start.
      if (this.#told !== 'gained' || !this.leading() || this.epoch() !== epoch) return;
      log.info(
        { component: 'ha', lease: name, holder: this.holder, epoch },
        'holding the lease: this replica polls and notifies',
      );
      try {
        await this.#options.onGained(epoch);
      } catch (err) {
        // Holding the lease while doing nothing would leave no replica polling: let it go.
        log.error({ component: 'ha', err, epoch }, 'could not start leading: letting the lease go');
        this.#state = STANDBY;
        this.#told = 'lost';
        this.#deadline?.abort();
        try {
          await this.#options.onLost('could not start leading');
        } catch (stopErr) {
          log.error({ component: 'ha', err: stopErr }, 'the daemon failed to stand by');
        }
        await this.#release(epoch);
      }
    });
  }

  async #release(epoch: number): Promise<void> {
    try {
      await this.#options.store.releaseLease(this.#options.name, this.holder, epoch);
    } catch (err) {
      this.#options.log.warn({ component: 'ha', err }, 'could not release the lease; it lapses on its own');
    }
  }
}
