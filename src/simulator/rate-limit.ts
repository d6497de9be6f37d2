// The gateway's per-token rate limit (SPEC §5: 60 calls a minute, 429 past it) as the simulator
// enforces it: a sliding window of exactly 60 s over the calls it accepted, each counted at its
// arrival. A monitor that paces by its own send times with no margin for transit gets a 429
// here, as it would from the real gateway. Refused calls do not count, so a client that waits
// out Retry-After gets through.

export const RATE_WINDOW_MS = 60_000;

export type Admission = { ok: true; remaining: number } | { ok: false; retryAfterS: number };

export class RateLimiter {
  private readonly windows = new Map<string, number[]>();

  /** `limit` is the calls a key may make in any 60 s window; the caller skips 0 (unlimited). */
  constructor(private readonly limit: number) {}

  /** A call is refused while `limit` accepted calls lie within the last 60 s before `t`. */
  admit(key: string, t: number): Admission {
    const window = (this.windows.get(key) ?? []).filter((at) => at > t - RATE_WINDOW_MS);
    this.windows.set(key, window);
    const oldest = window[0];
    if (oldest !== undefined && window.length >= this.limit) {
      return { ok: false, retryAfterS: Math.max(1, Math.ceil((oldest + RATE_WINDOW_MS - t) / 1000)) };
    }
    window.push(t);
    return { ok: true, remaining: this.limit - window.length };
  }

  /** Forgets every counted call (the control API's `rate-limit/reset`). */
  reset(): void {
    this.windows.clear();
  }
}
