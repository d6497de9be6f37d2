// One signal that aborts when any of several does, without the leak of AbortSignal.any().

export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Detaches from the sources; call when the work the signal guards is over. */
  dispose(): void;
}

// AbortSignal.any() is kept alive by long-lived sources (nodejs/node#55351), and the stop
// signals here live as long as the process while a cycle links to them every tick.
export function linkSignals(sources: readonly AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  const listeners: [AbortSignal, () => void][] = [];
  for (const source of sources) {
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
      for (const [source, onAbort] of listeners) source.removeEventListener('abort', onAbort);
    },
  };
}
