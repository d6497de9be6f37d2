// A render over a whole fleet written once as a generator that yields after each device, then
// run either at once (the CLI, the tests) or in slices that let the event loop go between them
// (the daemon, which polls on that loop): the same code, so the two cannot drift apart.

import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** A computation that yields wherever it may pause, and returns its result. */
export type Steps<R> = Generator<void, R, void>;

/** Runs `steps` to the end without pausing. */
export function runAtOnce<R>(steps: Steps<R>): R {
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
  }
}

/** How long a slice runs before it lets the event loop go, by default. */
export const SLICE_MS = 10;

/** Runs `steps`, letting the event loop go once a slice has taken `sliceMs`. */
export async function runInSlices<R>(
  steps: Steps<R>,
  letGo: () => Promise<unknown> = () => yieldToLoop(),
  sliceMs = SLICE_MS,
): Promise<R> {
  let sliceStart = performance.now();
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await letGo();
      sliceStart = performance.now();
    }
  }
}
