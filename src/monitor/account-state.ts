// Whether the monitor can see an account at all (SPEC §3): "the monitor cannot see" must
// never look like "the device is down", nor be silent. Raises account.unreachable and
// account.recovered from the outcome of the account's poll cycles.
//
// The rule: the account is unreachable when no device of it gave a valid answer across
// `failure_threshold` full rounds (a round: every device due once, the effective interval), at
// once when the gateway rejects the token (401/403), or when 429 answers have held every call
// back for longer than `failure_threshold` rounds. A probe error of one device is that device's
// (shown, counted, exported); while any other device answers, the account is reachable. A
// `not_found` answer is a valid answer: the gateway is answering.
// Counting rounds rather than cycles matters: under the budget a cycle checks only a few of the
// devices, and a cycle that happened to reach only the failing ones says nothing of the rest.
//
// Pure and JSON-serialisable like device-state.ts, and built the same way: `reachable` is
// what the account IS (muting never touches it, the metric reads it), `unreachableNotified`
// is what receivers were TOLD, and every allowed moment closes the gap between the two.

import type { EventType, ProbeErrorReason } from './model.js';

export interface AccountError {
  readonly reason: ProbeErrorReason;
  readonly message: string;
  readonly at: number;
}

export interface AccountState {
  /** false while account.unreachable holds; whatsgate_account_reachable reads it. */
  readonly reachable: boolean;
  /** The last valid answer from any device of the account; null before the first. */
  readonly lastValidAnswerAt: number | null;
  /** First check without a valid answer since the last valid answer (null after one). */
  readonly failingSince: number | null;
  /** Start of the current round of the failing run (null after a valid answer). */
  readonly roundStartedAt: number | null;
  /** Full rounds in a row with checks and not one valid answer. */
  readonly failedRounds: number;
  /** Why the current run fails (null after a valid answer). */
  readonly lastError: AccountError | null;
  /** An account.unreachable went out and no account.recovered since. */
  readonly unreachableNotified: boolean;
  /** The `since` that account.unreachable carried; account.recovered repeats it. */
  readonly notifiedSince: number | null;
}

export interface AccountCycle {
  readonly now: number;
  /** Status checks of this account made in the cycle. */
  readonly checks: number;
  /** Checks that produced a status (`not_found` included). */
  readonly validAnswers: number;
  /** A check was answered 401/403. */
  readonly unauthorized: boolean;
  readonly lastError: { readonly reason: ProbeErrorReason; readonly message: string } | null;
  /**
   * Since when 429 answers have held the account's calls back without any other answer in
   * between (the pause after a 429 included); null when they do not.
   */
  readonly rateLimitedSince: number | null;
}

export interface AccountContext {
  readonly failureThreshold: number;
  /**
   * How long one round takes: every device of the account due once (its effective interval).
   * 0 degenerates to counting cycles.
   */
  readonly roundMs: number;
  /** A silence or maintenance window covering the whole account holds (decided by the caller). */
  readonly muted: boolean;
}

export type AccountEventType = Extract<EventType, `account.${string}`>;
export interface AccountEvent {
  readonly type: AccountEventType;
  readonly at: number;
  /** The error that made it unreachable; null on account.recovered. */
  readonly reason: ProbeErrorReason | null;
  readonly message: string | null;
  /** When the account stopped answering (the first failed cycle of the episode). */
  readonly since: number;
}

export interface AccountStep {
  readonly state: AccountState;
  readonly events: AccountEvent[];
}

const UNAUTHORIZED_MESSAGE = 'the gateway rejected the access token (HTTP 401/403)';

export function initialAccountState(): AccountState {
  return {
    reachable: true,
    lastValidAnswerAt: null,
    failingSince: null,
    roundStartedAt: null,
    failedRounds: 0,
    lastError: null,
    unreachableNotified: false,
    notifiedSince: null,
  };
}

export function observeAccountCycle(
  state: AccountState,
  cycle: AccountCycle,
  ctx: AccountContext,
): AccountStep {
  const { now } = cycle;
  let s = state;
  if (cycle.checks > 0 && cycle.validAnswers > 0) {
    // One valid answer proves the account is reachable and the token accepted, even if other
    // checks of the cycle failed (a 403 next to a valid answer is a token changed mid-cycle;
    // the next cycle tells).
    s = {
      ...s,
      reachable: true,
      lastValidAnswerAt: now,
      failingSince: null,
      roundStartedAt: null,
      failedRounds: 0,
      lastError: null,
    };
  } else if (cycle.checks > 0) {
    let roundStartedAt = s.roundStartedAt ?? now;
    let failedRounds = s.failedRounds;
    // A round closes at the first failing cycle one round after it began: every device was due
    // in between, and none answered. A gap without checks (a restart) closes one round, no more.
    if (now - roundStartedAt >= ctx.roundMs) {
      failedRounds++;
      roundStartedAt = now;
    }
    const lastError: AccountError | null = cycle.unauthorized
      ? {
          reason: 'unauthorized',
          message:
            cycle.lastError?.reason === 'unauthorized' ? cycle.lastError.message : UNAUTHORIZED_MESSAGE,
          at: now,
        }
      : cycle.lastError !== null
        ? { ...cycle.lastError, at: now }
        : s.lastError;
    s = {
      ...s,
      failingSince: s.failingSince ?? now,
      roundStartedAt,
      failedRounds,
      lastError,
      // No amount of retrying fixes a rejected token, so it is not worth waiting for the threshold.
      reachable: s.reachable && !cycle.unauthorized && failedRounds < ctx.failureThreshold,
    };
  }
  // Held back by 429s: the pause stops the checks, so the rounds above cannot see it.
  const limitedSince = cycle.rateLimitedSince;
  if (s.reachable && limitedSince !== null && now - limitedSince > ctx.failureThreshold * ctx.roundMs) {
    s = {
      ...s,
      reachable: false,
      failingSince: s.failingSince ?? limitedSince,
      lastError: {
        reason: 'rate_limited',
        message: `the gateway has answered only 429 (too many requests) for ${Math.round((now - limitedSince) / 1000)} s: no device can be checked`,
        at: now,
      },
    };
  }
  // A cycle with no checks (paused by a 429, nothing due) says nothing more about reachability,
  // but may still be the first unmuted moment to deliver what a silence held back.
  return notify(s, now, ctx);
}

function notify(s: AccountState, now: number, ctx: AccountContext): AccountStep {
  if (ctx.muted) return { state: s, events: [] };
  if (!s.reachable && !s.unreachableNotified) {
    const since = s.failingSince ?? now;
    return {
      state: { ...s, unreachableNotified: true, notifiedSince: since },
      events: [
        {
          type: 'account.unreachable',
          at: now,
          reason: s.lastError?.reason ?? null,
          message: s.lastError?.message ?? null,
          since,
        },
      ],
    };
  }
  if (s.reachable && s.unreachableNotified) {
    return {
      state: { ...s, unreachableNotified: false, notifiedSince: null },
      events: [
        { type: 'account.recovered', at: now, reason: null, message: null, since: s.notifiedSince ?? now },
      ],
    };
  }
  return { state: s, events: [] };
}
