// The real Clock: Date.now() for the wall, performance.now() for the monotonic reading, and
// timers (themselves monotonic in Node). Everything else takes a Clock as an argument.
//
// `timer` coalesces (timer-grid.ts): the timers of every account scheduler in the process that
// may fire a little late share the wake-ups of one DISPATCH_GRID_MS grid.

import type { Clock, Timer } from '../monitor/clock.js';
import { TimerGrid } from './timer-grid.js';

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted', { cause: reason });
}

// Node clamps longer timer delays to 1 ms, so long sleeps are taken in chunks.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The step of the shared wake-up grid: a check due within one step of others starts with them,
 * at most this much after its due time (0.4 % of a 60 s interval).
 */
export const DISPATCH_GRID_MS = 250;

/** An exact monotonic timer: chunked past Node's limit, and re-armed if it fired early. */
function exactTimer(ms: number, fn: () => void): Timer {
  const end = performance.now() + ms;
  let handle: NodeJS.Timeout | undefined;
  let done = false;
  const arm = (): void => {
    const left = end - performance.now();
    if (left <= 0) {
      done = true;
      fn();
      return;
    }
    handle = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  handle = setTimeout(arm, Math.min(Math.max(0, ms), MAX_TIMER_MS));
  return {
    cancel: () => {
      if (done) return;
      done = true;
      clearTimeout(handle);
    },
  };
}

const grid = new TimerGrid(DISPATCH_GRID_MS, exactTimer, () => performance.now());

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      if (!(ms > 0)) {
        resolve();
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      // Monotonic: a wall clock stepped back while sleeping must not lengthen the sleep.
      const end = performance.now() + ms;
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortReason(signal));
      };
      const arm = (): void => {
        const left = end - performance.now();
        if (left <= 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
          return;
        }
        timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (Number.isFinite(ms)) arm();
    });
  },
  timer: (ms, fn, slackMs = 0) => grid.timer(ms, fn, slackMs),
};
