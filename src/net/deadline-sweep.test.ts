import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { DeadlineSweep, type InFlightCall } from './deadline-sweep.js';

/** What a dispatch handler does with the handle: one abort listener, removed at the end. */
function listen(call: InFlightCall): { aborted: () => boolean; remove: () => void } {
  let aborted = false;
  const listener = (): void => {
    aborted = true;
  };
  call.onAbort(listener);
  return { aborted: () => aborted, remove: () => call.offAbort(listener) };
}

describe('DeadlineSweep', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts each call at its own deadline, with one timer for all of them', () => {
    const sweep = new DeadlineSweep();
    const long = sweep.start(1_000);
    const short = sweep.start(300);
    const ended = sweep.start(100);
    const [l, s, e] = [listen(long), listen(short), listen(ended)];
    sweep.end(ended);
    e.remove();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(299);
    expect([l.aborted(), s.aborted()]).toEqual([false, false]);
    vi.advanceTimersByTime(1);
    expect([l.aborted(), s.aborted(), e.aborted()]).toEqual([false, true, false]);
    expect(short.timedOut).toBe(true);
    expect(short.cancelled).toBe(false);
    expect(short.reason).toEqual(new Error('no answer within 300 ms'));
    vi.advanceTimersByTime(700);
    expect(l.aborted()).toBe(true);
    expect(sweep.size).toBe(0);
    // Nothing left: the timer stops rather than ticking on.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('calls one after another share the armed timer: no timer per call', () => {
    const sweep = new DeadlineSweep();
    for (let i = 0; i < 100; i++) {
      const call = sweep.start(10_000);
      listen(call);
      vi.advanceTimersByTime(5);
      sweep.end(call);
    }
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("aborts every call of a caller's signal when it aborts, through one listener", () => {
    const sweep = new DeadlineSweep();
    const controller = new AbortController();
    const added = vi.spyOn(controller.signal, 'addEventListener');
    const calls = [sweep.start(10_000, controller.signal), sweep.start(10_000, controller.signal)];
    const other = sweep.start(10_000);
    const seen = calls.map(listen);
    expect(added).toHaveBeenCalledTimes(1);
    controller.abort(new Error('stopping'));
    expect(seen.map((s) => s.aborted())).toEqual([true, true]);
    expect(calls.map((c) => [c.cancelled, c.timedOut])).toEqual([
      [true, false],
      [true, false],
    ]);
    expect(calls[0]!.reason).toEqual(new Error('stopping'));
    expect(other.aborted).toBe(false);
    // Started on a signal already aborted: aborted at once, never in flight.
    const late = sweep.start(10_000, controller.signal);
    expect(late.aborted && late.cancelled).toBe(true);
    expect(sweep.size).toBe(1);
  });

  it('a call ended before its deadline is never aborted', () => {
    const sweep = new DeadlineSweep();
    const call = sweep.start(50);
    const l = listen(call);
    sweep.end(call);
    vi.advanceTimersByTime(100);
    expect(l.aborted()).toBe(false);
    expect(call.aborted).toBe(false);
  });
});
