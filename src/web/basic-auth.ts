// HTTP basic auth for everything but /healthz (SPEC §6 `web.basic_auth`), checked against a
// bcrypt hash as `htpasswd -nBC 10` writes it (`$2y$`, which bcryptjs reads as it reads `$2a$`
// and `$2b$`: the same algorithm). bcrypt at cost 10 takes ~100 ms, so a successful check is
// remembered briefly (keyed by a SHA-256 of the header, never the password itself), and checks
// of the same header in flight at once share one bcrypt run.

import bcrypt from 'bcryptjs';
import { createHash, timingSafeEqual } from 'node:crypto';

export const BASIC_AUTH_REALM = 'whatsgate-monitor';
export const BASIC_AUTH_CHALLENGE = `Basic realm="${BASIC_AUTH_REALM}"`;
export const DEFAULT_AUTH_CACHE_MS = 2 * 60_000;
const MAX_CACHED = 64;

export interface BasicAuthConfig {
  readonly user: string;
  /** bcrypt: `$2y$10$…` (htpasswd), `$2a$`/`$2b$` also read. */
  readonly passwordHash: string;
}

export interface BasicAuthOptions {
  /** How long a successful check is remembered. Default 2 min; 0 turns caching off. */
  readonly cacheMs?: number;
  readonly now?: () => number;
  /** The bcrypt comparison (tests count calls). Default bcryptjs `compare`. */
  readonly compare?: (password: string, hash: string) => Promise<boolean>;
}

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
  readonly #now: () => number;
  readonly #compare: (password: string, hash: string) => Promise<boolean>;
  /** header digest (hex) → valid until */
  readonly #cache = new Map<string, number>();
  readonly #inFlight = new Map<string, Promise<boolean>>();

  constructor(config: BasicAuthConfig, options: BasicAuthOptions = {}) {
    this.#user = config.user;
    this.#hash = config.passwordHash;
    this.#cacheMs = options.cacheMs ?? DEFAULT_AUTH_CACHE_MS;
    this.#now = options.now ?? Date.now;
    this.#compare = options.compare ?? ((password, hash) => bcrypt.compare(password, hash));
  }

  /** True when the `Authorization` header carries the configured user and password. */
  verify(header: string | undefined): Promise<boolean> {
    const credentials = parseBasicAuth(header);
    if (header === undefined || credentials === null) return Promise.resolve(false);
    const key = digest(header).toString('hex');
    const now = this.#now();
    const until = this.#cache.get(key);
    if (until !== undefined) {
      if (until > now) return Promise.resolve(true);
      this.#cache.delete(key);
    }
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending;
    const check = this.#check(credentials).then((ok) => {
      if (ok && this.#cacheMs > 0) this.#remember(key);
      return ok;
    });
    this.#inFlight.set(key, check);
    void check.finally(() => this.#inFlight.delete(key));
    return check;
  }

  async #check(c: Credentials): Promise<boolean> {
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
    const now = this.#now();
    for (const [k, until] of this.#cache) if (until <= now) this.#cache.delete(k);
    while (this.#cache.size >= MAX_CACHED) {
      const oldest = this.#cache.keys().next();
      if (oldest.done === true) break;
      this.#cache.delete(oldest.value);
    }
    this.#cache.set(key, now + this.#cacheMs);
  }
}
