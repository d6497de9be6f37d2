// The real Clock: Date.now() for the wall, performance.now() for the monotonic reading, and
// timers (themselves monotonic in Node). Everything else takes a Clock as an argument.

import type { Clock } from '../monitor/clock.js';

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted', { cause: reason });
}

// Node clamps longer timer delays to 1 ms, so long sleeps are taken in chunks.
const MAX_TIMER_MS = 2_147_483_647;

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
};
