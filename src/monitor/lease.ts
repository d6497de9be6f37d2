// The HA lease as one replica sees it (SPEC §11), pure: what the database answered and when the
// request was sent, in; whether this replica leads now and when to try again, out.
//
// The database sets the lease's expiry by its own clock: `now() + lease` when it runs the claim or
// renewal. The request left this process before that, so `sentAt + lease` on our monotonic clock
// is never later than the database's expiry (clocks tick at the same rate; they need not agree on
// the time). Trusting the lease until then and not a moment longer means a holder stops calling
// the gateway and sending before any other replica can claim — even when it was paused (SIGSTOP,
// a VM migration) and every renewal in between was missed.

/** The shortest lease SPEC §4 allows: renewals every 1.7 s still leave room for a slow database. */
export const MIN_LEASE_MS = 5_000;

export type Leadership =
  | { readonly kind: 'standby' }
  | {
      readonly kind: 'leader';
      readonly epoch: number;
      /** Monotonic: the lease is ours until then (see the top), unless renewed. */
      readonly validUntil: number;
      /** Monotonic: when the last successful claim or renewal was sent. */
      readonly renewedAt: number;
    };

export const STANDBY: Leadership = { kind: 'standby' };

/** What the last attempt to claim or renew got. */
export type LeaseAnswer =
  /** Granted (claimed at this epoch, or renewed at ours). */
  | { readonly kind: 'granted'; readonly epoch: number }
  /** Refused: another replica holds it (or ours lapsed and was taken). */
  | { readonly kind: 'refused' }
  /** No answer (the database is unreachable, the statement failed). */
  | { readonly kind: 'failed' };

/** How often the holder renews, and a standby tries to claim. */
export function renewEveryMs(leaseMs: number): number {
  return leaseMs / 3;
}

/** After a failed attempt, the next one comes sooner: a lease must not lapse for one lost packet. */
export function retryAfterFailureMs(leaseMs: number): number {
  return Math.max(250, leaseMs / 10);
}

/** Whether this replica may poll and notify at monotonic time `now`. */
export function leads(state: Leadership, now: number): boolean {
  return state.kind === 'leader' && now < state.validUntil;
}

/** The epoch writes and calls are made under at `now`; null when this replica does not lead. */
export function epochAt(state: Leadership, now: number): number | null {
  return leads(state, now) && state.kind === 'leader' ? state.epoch : null;
}

/**
 * The state after an attempt sent at `sentAt` (monotonic) got `answer`. A failure changes
 * nothing while the lease holds: a holder keeps it until `validUntil`, then `leads` turns false
 * by itself.
 */
export function afterAttempt(
  state: Leadership,
  answer: LeaseAnswer,
  sentAt: number,
  leaseMs: number,
): Leadership {
  switch (answer.kind) {
    case 'granted':
      return { kind: 'leader', epoch: answer.epoch, validUntil: sentAt + leaseMs, renewedAt: sentAt };
    case 'refused':
      return STANDBY;
    case 'failed':
      // Kept while it holds; a lapsed one is gone for good (the next attempt claims anew).
      return leads(state, sentAt) ? state : STANDBY;
  }
}

/**
 * Whether the next attempt renews the lease held (at its epoch) or claims it anew. A holder whose
 * lease lapsed on its own clock claims anew: it may have been taken meanwhile, and even when not,
 * its parts were stopped and it starts over as a new holder would.
 */
export function nextAttemptKind(state: Leadership, now: number): 'renew' | 'claim' {
  return leads(state, now) ? 'renew' : 'claim';
}

/**
 * When (monotonic) to attempt next, after an attempt sent at `sentAt` that got `answer`: a third
 * of a lease after a granted or refused one; sooner after a failure, and for a holder no later
 * than `validUntil`, to notice it lapsed.
 */
export function nextAttemptAt(
  state: Leadership,
  answer: LeaseAnswer,
  sentAt: number,
  leaseMs: number,
): number {
  if (answer.kind !== 'failed') return sentAt + renewEveryMs(leaseMs);
  const retry = sentAt + retryAfterFailureMs(leaseMs);
  return leads(state, sentAt) && state.kind === 'leader' ? Math.min(retry, state.validUntil) : retry;
}

/**
 * The longest a failover takes, from the holder's last renewal to a standby leading: its lease
 * runs out, then a standby's next try comes within a third of a lease (SPEC §11 docs).
 */
export function worstFailoverMs(leaseMs: number): number {
  return leaseMs + renewEveryMs(leaseMs);
}

/** The lease group a replica competes in: one per shard (SPEC §9 `--shard I/N`). */
export function leaseName(shard: { readonly index: number; readonly count: number } | null): string {
  return shard === null ? 'whatsgate-monitor' : `whatsgate-monitor shard ${shard.index}/${shard.count}`;
}
