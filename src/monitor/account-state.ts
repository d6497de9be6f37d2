// Whether the monitor can see an account at all (SPEC §3): "the monitor cannot see" must
// never look like "the device is down", nor be silent. Raises account.unreachable and
// account.recovered from the outcome of whole poll cycles.
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
  /** Cycles in a row with checks but no valid answer. */
  readonly failedCycles: number;
  /** First failed cycle of the current run (null after a valid answer). */
  readonly failingSince: number | null;
  /** Why the current run of failed cycles fails (null after a valid answer). */
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
  /** Checks that produced a status. */
  readonly validAnswers: number;
  /** A check was answered 401/403. */
  readonly unauthorized: boolean;
  readonly lastError: { readonly reason: ProbeErrorReason; readonly message: string } | null;
}

export interface AccountContext {
  readonly failureThreshold: number;
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
    failedCycles: 0,
    failingSince: null,
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
    s = { ...s, reachable: true, failedCycles: 0, failingSince: null, lastError: null };
  } else if (cycle.checks > 0) {
    const failedCycles = s.failedCycles + 1;
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
      failedCycles,
      failingSince: s.failingSince ?? now,
      lastError,
      // No amount of retrying fixes a rejected token, so it is not worth waiting for the threshold.
      reachable: s.reachable && !cycle.unauthorized && failedCycles < ctx.failureThreshold,
    };
  }
  // A cycle with no checks (paused by a 429, nothing due) says nothing about reachability, but
  // may still be the first unmuted moment to deliver what a silence held back.
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
