// A Clock for tests: time moves only when the test says so. Not part of the build.

import type { Clock } from '../monitor/clock.js';

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted', { cause: reason });
}

interface Sleeper {
  readonly wakeAt: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/** Lets every promise chain that does not wait on real I/O run to its next await. */
function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when told. `advance` wakes sleepers one at a time in (wake time,
 * creation order) and lets the woken code run before the next, so a run is deterministic.
 *
 * Both readings start at `start` and move together; `stepWall` moves the wall clock alone (an NTP
 * step, an operator's `date -s`). Sleeps, `advanceTo` and `nextWakeAt` are on the monotonic one.
 */
export class FakeClock implements Clock {
  #now: number;
  // wall = monotonic + offset
  #wallOffset = 0;
  #seq = 0;
  // Sorted by (wakeAt, seq); small in tests, so insertion into an array is cheap enough.
  #sleepers: Sleeper[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now + this.#wallOffset;
  }

  monotonic(): number {
    return this.#now;
  }

  /** Steps the wall clock by `ms` (negative: back) without any time passing. */
  stepWall(ms: number): void {
    this.#wallOffset += ms;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      if (!(ms > 0)) {
        resolve();
        return;
      }
      const onAbort = (): void => {
        const i = this.#sleepers.indexOf(sleeper);
        if (i >= 0) this.#sleepers.splice(i, 1);
        reject(abortReason(signal));
      };
      const sleeper: Sleeper = {
        wakeAt: this.#now + ms,
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#insert(sleeper);
    });
  }

  /** Number of pending sleeps (aborted ones are gone). */
  get pendingSleeps(): number {
    return this.#sleepers.length;
  }

  /** When the earliest pending sleep ends (monotonic), if any ends at all. */
  nextWakeAt(): number | undefined {
    const first = this.#sleepers[0];
    return first !== undefined && Number.isFinite(first.wakeAt) ? first.wakeAt : undefined;
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.#now + ms);
  }

  /** Advances the monotonic clock (and the wall clock with it) to `target`. */
  async advanceTo(target: number): Promise<void> {
    await flushMicrotasks();
    for (;;) {
      const first = this.#sleepers[0];
      if (first === undefined || first.wakeAt > target) break;
      this.#sleepers.shift();
      this.#now = Math.max(this.#now, first.wakeAt);
      first.resolve();
      await flushMicrotasks();
    }
    this.#now = Math.max(this.#now, target);
    await flushMicrotasks();
  }

  /** Advances sleep by sleep until `promise` settles; fails if nothing is left to wake first. */
  async runUntil<T>(promise: Promise<T>, limitMs = Number.POSITIVE_INFINITY): Promise<T> {
    let settled = false;
    const watched = promise.finally(() => {
      settled = true;
    });
    // The caller awaits `watched`; this keeps a rejection from being reported as unhandled meanwhile.
    watched.catch(() => undefined);
    const limit = this.#now + limitMs;
    await flushMicrotasks();
    while (!settled) {
      const next = this.nextWakeAt();
      if (next === undefined || next > limit) {
        throw new Error(`FakeClock.runUntil: promise still pending at ${this.#now} and no sleeper due`);
      }
      await this.advanceTo(next);
    }
    return watched;
  }

  #insert(sleeper: Sleeper): void {
    const list = this.#sleepers;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = list[mid]!;
      if (other.wakeAt < sleeper.wakeAt || (other.wakeAt === sleeper.wakeAt && other.seq < sleeper.seq)) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    list.splice(lo, 0, sleeper);
  }
}
