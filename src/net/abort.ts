// Abort handling for outbound calls, written once.
//
// AbortSignal.any() on Node 20 keeps every derived signal alive as long as its longest-lived
// source (nodejs/node#55351): a daemon that links each call to its stop signal would leak one
// listener per call. So signals are linked by hand here, and the link is undone when the call
// ends (dispose). Everything that links to a long-lived signal uses this module.

export interface LinkedSignal {
  /** Aborts as soon as any source does, with that source's reason. */
  readonly signal: AbortSignal;
  /** Detaches from the sources; call when the work the signal guards is over. */
  dispose(): void;
}

export function linkSignals(sources: readonly (AbortSignal | undefined)[]): LinkedSignal {
  const controller = new AbortController();
  const listeners: [AbortSignal, () => void][] = [];
  for (const source of sources) {
    if (source === undefined) continue;
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    const onAbort = (): void => controller.abort(source.reason);
    source.addEventListener('abort', onAbort, { once: true });
    listeners.push([source, onAbort]);
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [source, onAbort] of listeners.splice(0)) source.removeEventListener('abort', onAbort);
    },
  };
}

/** 2^31−1: the longest delay setTimeout honours. */
const MAX_TIMER_MS = 2_147_483_647;

export interface CallDeadline extends LinkedSignal {
  /** The deadline passed (the caller did not cancel first). */
  readonly timedOut: boolean;
  /** The caller's signal aborted. */
  readonly cancelled: boolean;
}

/**
 * A per-call deadline of `timeoutMs` linked to the caller's signal: `signal` aborts at whichever
 * comes first. dispose() clears the timer and the link; call it once the call is over.
 */
export function callDeadline(timeoutMs: number, caller?: AbortSignal): CallDeadline {
  const timer = new AbortController();
  let timedOut = false;
  const handle = setTimeout(
    () => {
      timedOut = true;
      timer.abort(new Error(`no answer within ${timeoutMs} ms`));
    },
    // Node fires a longer delay after 1 ms. Config caps timeouts far below (DURATION_MAX); this
    // keeps any other caller from turning a long deadline into an instant one.
    Math.min(timeoutMs, MAX_TIMER_MS),
  );
  const linked = linkSignals([caller, timer.signal]);
  return {
    signal: linked.signal,
    get timedOut() {
      return timedOut;
    },
    get cancelled() {
      return caller?.aborted === true;
    },
    dispose() {
      clearTimeout(handle);
      linked.dispose();
    },
  };
}
