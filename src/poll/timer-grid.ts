// Coalesced timers (issue 17): timers due close together fire in ONE wake-up instead of one each.
//
// Time is cut into steps of `stepMs` on the monotonic clock. A timer that may fire up to `slackMs`
// late joins the bucket of the first step boundary at or after its due time, when that boundary
// is within its slack and within one step: every timer of a bucket fires in one callback of the
// underlying timer. A timer that allows no slack, or whose boundary is past its slack, gets an
// exact timer of its own. So a timer never fires before its due time, and never later than
// min(slack, step) after it — plus whatever the underlying timers add (a busy event loop).
//
// 500 account schedulers pacing 10,000 devices over a minute want ~170 wake-ups a second, each
// paying a timer, a promise and an epoll round-trip for one check; on a 250 ms grid they share
// four. The schedulers pass their slack (never past the cycle's dispatch end, see
// dispatch-cycle.ts), the grid caps it at one step.

import type { Timer } from '../monitor/clock.js';

/** The underlying exact timer: `fn` after `ms` (ms ≥ 0), cancellable. */
export type ExactTimer = (ms: number, fn: () => void) => Timer;

interface Entry {
  readonly fn: () => void;
  cancelled: boolean;
}

interface Bucket {
  readonly entries: Entry[];
  live: number;
  readonly timer: Timer;
}

export class TimerGrid {
  readonly stepMs: number;
  readonly #exact: ExactTimer;
  readonly #monotonic: () => number;
  readonly #buckets = new Map<number, Bucket>();

  constructor(stepMs: number, exact: ExactTimer, monotonic: () => number) {
    if (!(stepMs > 0)) throw new RangeError(`grid step must be positive, got ${stepMs}`);
    this.stepMs = stepMs;
    this.#exact = exact;
    this.#monotonic = monotonic;
  }

  /** Buckets waiting to fire (tests, and a look at how well timers coalesce). */
  get pendingBuckets(): number {
    return this.#buckets.size;
  }

  /** `fn` once, `ms` from now, or up to min(`slackMs`, step) later to share a wake-up. */
  timer(ms: number, fn: () => void, slackMs = 0): Timer {
    const now = this.#monotonic();
    const due = now + Math.max(0, ms);
    const slack = Math.min(Math.max(0, slackMs), this.stepMs);
    const boundary = Math.ceil(due / this.stepMs) * this.stepMs;
    if (slack === 0 || boundary > due + slack) return this.#exact(Math.max(0, ms), fn);
    let bucket = this.#buckets.get(boundary);
    if (bucket === undefined) {
      const created: Bucket = {
        entries: [],
        live: 0,
        timer: this.#exact(boundary - now, () => this.#fire(boundary, created)),
      };
      bucket = created;
      this.#buckets.set(boundary, bucket);
    }
    const entry: Entry = { fn, cancelled: false };
    bucket.entries.push(entry);
    bucket.live++;
    const owner = bucket;
    return {
      cancel: () => {
        if (entry.cancelled) return;
        entry.cancelled = true;
        if (--owner.live === 0 && this.#buckets.get(boundary) === owner) {
          this.#buckets.delete(boundary);
          owner.timer.cancel();
        }
      },
    };
  }

  #fire(boundary: number, bucket: Bucket): void {
    if (this.#buckets.get(boundary) === bucket) this.#buckets.delete(boundary);
    for (const entry of bucket.entries) {
      if (entry.cancelled) continue;
      entry.cancelled = true;
      try {
        entry.fn();
      } catch (err) {
        // One timer's failure must not keep the others of its wake-up from firing.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
