// One undici Pool per gateway origin, shared by every account's transport (issue 17). A pool per
// account cost 20 KB of heap before its first socket (its request queue alone has 2,048 slots):
// 10 MB at 500 accounts, for nothing, since the token travels in each request's headers and
// nothing on a connection belongs to one account. A shared pool hands each call the first idle
// socket, so it opens only as many as there are calls in flight at once, and an idle one closes
// after the gateway's keep-alive timeout.
//
// The pool's sockets are not capped. The callers bound them: each account's scheduled checks
// are capped at its `concurrency`, and every other call spends the account's rate budget. A cap on
// the pool would make one account's hung calls hold up the others'; at 10,000 devices a cap of 64
// saved no memory and made checks later (p99 165 ms instead of 95), since accounts whose cycles
// start together send their first checks at the same moment.

import type { Pool } from 'undici';
import { loadUndici } from './undici.js';

/** A transport's hold on its origin's pool. */
export interface PoolLease {
  /** The pool; undici is loaded on the first call, not when the lease is taken. */
  pool(): Promise<Pool>;
  /**
   * Gives the pool back. The last lease of a pool closes it, once its requests have ended.
   * Idempotent.
   */
  release(): Promise<void>;
}

interface Entry {
  pool: Promise<Pool> | undefined;
  leases: number;
}

export class OriginPools {
  readonly #entries = new Map<string, Entry>();

  /** Pools open now (for tests). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * A lease on the pool for `origin`. Calls with another connect timeout get a pool of their
   * own: undici takes that timeout per pool, not per request.
   */
  lease(origin: string, connectTimeoutMs: number): PoolLease {
    const key = `${connectTimeoutMs} ${origin}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { pool: undefined, leases: 0 };
      this.#entries.set(key, entry);
    }
    entry.leases += 1;
    const held = entry;
    let released: Promise<void> | undefined;
    return {
      pool: () =>
        (held.pool ??= loadUndici().then(
          ({ Pool }) =>
            new Pool(origin, {
              connections: null,
              pipelining: 1,
              // undici's own timers are a backstop only; the per-call deadline decides.
              connect: { timeout: connectTimeoutMs },
            }),
        )),
      release: () => {
        released ??= this.#release(key, held);
        return released;
      },
    };
  }

  async #release(key: string, entry: Entry): Promise<void> {
    entry.leases -= 1;
    if (entry.leases > 0) return;
    // A lease taken from now on makes a new pool; this one closes once its requests have ended.
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
    if (entry.pool !== undefined) await (await entry.pool).close();
  }
}
