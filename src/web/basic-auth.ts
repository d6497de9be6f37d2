// HTTP basic auth for everything but /healthz (SPEC §6 `web.basic_auth`), checked against a
// bcrypt hash as `htpasswd -nBC 10` writes it (`$2y$`, which bcryptjs reads as it reads `$2a$`
// and `$2b$`: the same algorithm).
//
// bcrypt at cost 10 is ~100 ms of CPU on the main thread (bcryptjs is JavaScript; its async form
// only yields every 100 ms), so unguarded, every guess was a lever on /metrics (issue 11 item 9).
// Hence, in this order:
//  - a header that passed is remembered, keyed by an HMAC with a per-process random key (a
//    memory dump shows neither the password nor a hash one could test guesses against), for
//    `cacheMs` after its last use: a scraper every 15 s costs one bcrypt run in total;
//  - the same header checked by several requests at once shares one run;
//  - a client address gets `failures.max` failed checks per window, then 429 with Retry-After
//    and no bcrypt (checks in flight count, so a burst of guesses is no way around it);
//  - runs go one at a time through a short queue (auth-limits.ts Gate); a full queue answers 503
//    at once. /healthz needs no auth, and a cached header never waits in that queue, so neither
//    the liveness probe nor an authenticated scrape stalls behind guesses.

import bcrypt from 'bcryptjs';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  DEFAULT_FAILURE_LIMITS,
  DEFAULT_GATE_LIMITS,
  FailureLimiter,
  Gate,
  type FailureLimits,
  type GateLimits,
} from './auth-limits.js';

export const BASIC_AUTH_REALM = 'whatsgate-monitor';
export const BASIC_AUTH_CHALLENGE = `Basic realm="${BASIC_AUTH_REALM}"`;
export const DEFAULT_AUTH_CACHE_MS = 5 * 60_000;
const DEFAULT_MAX_CACHED = 256;
/** A client told to come back after a full queue: one bcrypt run or so. */
const BUSY_RETRY_MS = 1_000;

export interface BasicAuthConfig {
  readonly user: string;
  /** bcrypt: `$2y$10$…` (htpasswd), `$2a$`/`$2b$` also read. */
  readonly passwordHash: string;
}

export interface BasicAuthOptions {
  /** How long a successful header is remembered after its last use. Default 5 min; 0: never. */
  readonly cacheMs?: number;
  /** Headers remembered at most (the least recently used goes first). Default 256. */
  readonly maxCached?: number;
  /** Failed checks per client address and window. Default 5 a minute. */
  readonly failures?: FailureLimits;
  /** bcrypt runs at once and waiting. Default 1 and 8. */
  readonly gate?: GateLimits;
  readonly now?: () => number;
  /** The bcrypt comparison (tests count and hold calls). Default bcryptjs `compare`. */
  readonly compare?: (password: string, hash: string) => Promise<boolean>;
}

/** What the server answers: 2xx, 401 with the challenge, 429 or 503 with Retry-After. */
export type AuthOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'denied' }
  | { readonly kind: 'throttled'; readonly retryAfterMs: number }
  | { readonly kind: 'busy'; readonly retryAfterMs: number };

const OK: AuthOutcome = { kind: 'ok' };
const DENIED: AuthOutcome = { kind: 'denied' };

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** The user and password of an `Authorization: Basic …` header; null when absent or malformed. */
export function parseBasicAuth(header: string | undefined): Credentials | null {
  if (header === undefined) return null;
  const m = /^basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header);
  if (m?.[1] === undefined) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Compares in time independent of where the texts differ (and of their lengths). */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export class BasicAuthVerifier {
  readonly #user: string;
  readonly #hash: string;
  readonly #cacheMs: number;
  readonly #maxCached: number;
  readonly #now: () => number;
  readonly #compare: (password: string, hash: string) => Promise<boolean>;
  readonly #key = randomBytes(32);
  /** header HMAC → valid until; in order of last use */
  readonly #cache = new Map<string, number>();
  readonly #inFlight = new Map<string, Promise<AuthOutcome>>();
  readonly #limiter: FailureLimiter;
  readonly #gate: Gate;

  constructor(config: BasicAuthConfig, options: BasicAuthOptions = {}) {
    this.#user = config.user;
    this.#hash = config.passwordHash;
    this.#cacheMs = options.cacheMs ?? DEFAULT_AUTH_CACHE_MS;
    this.#maxCached = options.maxCached ?? DEFAULT_MAX_CACHED;
    this.#now = options.now ?? Date.now;
    this.#compare = options.compare ?? ((password, hash) => bcrypt.compare(password, hash));
    this.#limiter = new FailureLimiter(options.failures ?? DEFAULT_FAILURE_LIMITS);
    this.#gate = new Gate(options.gate ?? DEFAULT_GATE_LIMITS);
  }

  /**
   * Checks the `Authorization` header of a request from `client` (its address). Never rejects:
   * a failing bcrypt (a malformed hash) is a denial.
   */
  check(header: string | undefined, client: string): Promise<AuthOutcome> {
    const credentials = parseBasicAuth(header);
    if (header === undefined || credentials === null) return Promise.resolve(DENIED);
    const key = createHmac('sha256', this.#key).update(header, 'utf8').digest('base64');
    const now = this.#now();
    const until = this.#cache.get(key);
    if (until !== undefined) {
      this.#cache.delete(key);
      if (until > now) {
        this.#cache.set(key, now + this.#cacheMs);
        return Promise.resolve(OK);
      }
    }
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending;
    const waitMs = this.#limiter.admit(client, now);
    if (waitMs !== null) return Promise.resolve({ kind: 'throttled', retryAfterMs: waitMs });
    const run = this.#gate.run(() => this.#matches(credentials));
    if (run === null) {
      this.#limiter.settle(client, 'not_run', now);
      return Promise.resolve({ kind: 'busy', retryAfterMs: BUSY_RETRY_MS });
    }
    const outcome = run.then((ok) => {
      this.#limiter.settle(client, ok ? 'ok' : 'failed', this.#now());
      if (!ok) return DENIED;
      this.#remember(key);
      return OK;
    });
    this.#inFlight.set(key, outcome);
    void outcome.finally(() => this.#inFlight.delete(key));
    return outcome;
  }

  async #matches(c: Credentials): Promise<boolean> {
    const userOk = constantTimeEqual(c.user, this.#user);
    // bcrypt runs whatever the user, so a wrong user takes as long as a wrong password.
    let passwordOk: boolean;
    try {
      passwordOk = await this.#compare(c.password, this.#hash);
    } catch {
      passwordOk = false;
    }
    return userOk && passwordOk;
  }

  #remember(key: string): void {
    if (this.#cacheMs <= 0) return;
    const now = this.#now();
    for (const [k, until] of this.#cache) if (until <= now) this.#cache.delete(k);
    while (this.#cache.size >= this.#maxCached) {
      const stalest = this.#cache.keys().next();
      if (stalest.done === true) break;
      this.#cache.delete(stalest.value);
    }
    this.#cache.set(key, now + this.#cacheMs);
  }
}
