// The retry policy of the one retry loop (SPEC §8): 10 s doubling, capped at 10 minutes.

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 10_000, maxMs: 600_000 };

/** The pause after the `failedAttempts`-th failure in a row: 10 s, 20 s, 40 s, … capped at 10 min. */
export function backoffDelay(failedAttempts: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const exponent = Math.max(0, failedAttempts - 1);
  // 2^30 already exceeds any sane cap; keeps the arithmetic finite.
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(exponent, 30));
}

/**
 * The fewest attempts whose backoff pauses add up to `ms`: with the default policy, 150 attempts
 * span 24 h (10 + 20 + … + 320 s, then 10 min each). A message tried that often has been retried
 * for `ms` of real time, whatever the wall clock did meanwhile.
 */
export function attemptsCovering(ms: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  let attempts = 1;
  for (let covered = 0; covered < ms; attempts++) covered += backoffDelay(attempts, policy);
  return attempts;
}
