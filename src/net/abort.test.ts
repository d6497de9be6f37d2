import { describe, expect, it } from 'vitest';
import { callDeadline, linkSignals } from './abort.js';

describe('callDeadline', () => {
  it('aborts at the deadline and says it timed out', async () => {
    const d = callDeadline(20);
    await new Promise((resolve) => d.signal.addEventListener('abort', resolve, { once: true }));
    expect(d.timedOut).toBe(true);
    expect(d.cancelled).toBe(false);
    d.dispose();
  });

  it("follows the caller's signal, which is not the deadline", () => {
    const caller = new AbortController();
    const d = callDeadline(10_000, caller.signal);
    caller.abort();
    expect(d.signal.aborted).toBe(true);
    expect(d.timedOut).toBe(false);
    expect(d.cancelled).toBe(true);
    d.dispose();
  });

  it('leaves no listener on a long-lived caller signal once disposed (nodejs/node#55351)', () => {
    const caller = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = caller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = (...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    };
    signal.removeEventListener = (...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    };
    for (let i = 0; i < 100; i++) callDeadline(10_000, signal).dispose();
    expect(added).toBe(100);
    expect(removed).toBe(100);
  });
});

describe('linkSignals', () => {
  it('is aborted at once when a source already is, with its reason', () => {
    const reason = new Error('stopped');
    const linked = linkSignals([undefined, AbortSignal.abort(reason)]);
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe(reason);
  });
});
