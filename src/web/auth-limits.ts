// The two brakes on bcrypt (issue 11 item 9): every guess costs ~100 ms of CPU on the one thread
// that also answers /metrics, so guesses are limited per client address, and the checks that do
// run go one at a time through a short queue. A full queue answers at once (503) instead of
// queueing without bound: waiting guesses hold sockets and memory and would delay a real user's
// check behind all of them.

export interface FailureLimits {
  /** Failed checks a client address may make per window, counting checks still running. */
  readonly max: number;
  readonly windowMs: number;
}

export const DEFAULT_FAILURE_LIMITS: FailureLimits = { max: 5, windowMs: 60_000 };

/** Clients remembered at most; past it the least recently failing one is forgotten. */
const MAX_CLIENTS = 10_000;

interface ClientRecord {
  /** When each failure within the window happened, oldest first. */
  failures: number[];
  /** Checks admitted and not settled yet: counted so that 100 guesses sent at once are 5. */
  pending: number;
}

/** Failed checks per client address in a sliding window. */
export class FailureLimiter {
  readonly #limits: FailureLimits;
  readonly #clients = new Map<string, ClientRecord>();

  constructor(limits: FailureLimits = DEFAULT_FAILURE_LIMITS) {
    this.#limits = limits;
  }

  /**
   * Admits one check for `client` (settle() it later) and returns null, or returns how many ms
   * to wait before the next attempt may be admitted.
   */
  admit(client: string, now: number): number | null {
    const record = this.#clients.get(client) ?? { failures: [], pending: 0 };
    record.failures = record.failures.filter((at) => at > now - this.#limits.windowMs);
    if (record.failures.length + record.pending >= this.#limits.max) {
      const oldest = record.failures[0];
      // All slots in flight: one settles within a bcrypt run, so a second is a fair hint.
      return record.failures.length >= this.#limits.max && oldest !== undefined
        ? Math.max(1_000, oldest + this.#limits.windowMs - now)
        : 1_000;
    }
    record.pending++;
    this.#store(client, record);
    return null;
  }

  /** The admitted check ended: a failure counts against the client, a success clears its record. */
  settle(client: string, outcome: 'ok' | 'failed' | 'not_run', now: number): void {
    const record = this.#clients.get(client);
    if (record === undefined) return;
    record.pending = Math.max(0, record.pending - 1);
    if (outcome === 'failed') record.failures.push(now);
    if (outcome === 'ok') record.failures = [];
    if (record.failures.length === 0 && record.pending === 0) this.#clients.delete(client);
  }

  get clients(): number {
    return this.#clients.size;
  }

  #store(client: string, record: ClientRecord): void {
    // Re-inserted so the map's order is by last activity: eviction drops the stalest client.
    this.#clients.delete(client);
    this.#clients.set(client, record);
    if (this.#clients.size > MAX_CLIENTS) {
      const stalest = this.#clients.keys().next();
      if (stalest.done !== true) this.#clients.delete(stalest.value);
    }
  }
}

export interface GateLimits {
  /** Checks running at once. bcryptjs is JavaScript on the main thread: 1 keeps a core free. */
  readonly running: number;
  /** Checks waiting for a turn; more are refused. */
  readonly waiting: number;
}

export const DEFAULT_GATE_LIMITS: GateLimits = { running: 1, waiting: 8 };

/** Runs at most `running` tasks at once with a bounded queue behind them. */
export class Gate {
  readonly #limits: GateLimits;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limits: GateLimits = DEFAULT_GATE_LIMITS) {
    this.#limits = limits;
  }

  /** The task's result, or null at once when the gate and its queue are full (the task never runs). */
  run<T>(task: () => Promise<T>): Promise<T> | null {
    if (this.#running < this.#limits.running) {
      this.#running++;
      return this.#execute(task);
    }
    if (this.#waiting.length >= this.#limits.waiting) return null;
    return new Promise<void>((turn) => this.#waiting.push(turn)).then(() => this.#execute(task));
  }

  async #execute<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await task();
    } finally {
      // The slot passes straight to the next in line, so no newcomer can slip in between.
      const next = this.#waiting.shift();
      if (next === undefined) this.#running--;
      else next();
    }
  }
}
