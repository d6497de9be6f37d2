// Per-call deadlines without a controller, a timer and a listener per call (issue 17).
//
// `callDeadline` (abort.ts) gives each call an AbortController for its timer, another for the link
// to the caller's signal, a setTimeout and a listener: at 170 calls a second that machinery cost
// more than the call. Here a transport keeps its calls in flight in one set, swept by ONE timer
// armed for the earliest deadline; a call's handle (`InFlightCall`) tells the one listener the
// call has (its dispatch handler: gateway/exchange.ts) — so a call allocates one small object,
// and a timeout or a cancel costs an Error only when it happens. A caller's signal gets one listener however many of its calls
// are in flight (a poll cycle's signal is shared by all its checks), kept for the signal's life.
//
// The semantics are callDeadline's: the call is aborted at `timeoutMs` after it started (the
// sweep fires at the earliest deadline, so not later than a timer would), or when the caller's
// signal aborts, whichever comes first; `timedOut` and `cancelled` tell which.

/** 2^31−1: the longest delay setTimeout honours. */
const MAX_TIMER_MS = 2_147_483_647;

type Listener = (...args: unknown[]) => void;

/** One call in flight: its deadline, and who to tell when it is aborted (one listener). */
export class InFlightCall {
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly caller: AbortSignal | undefined;
  aborted = false;
  reason: unknown = undefined;
  #timedOut = false;
  #listener: Listener | null = null;

  constructor(deadline: number, timeoutMs: number, caller: AbortSignal | undefined) {
    this.deadline = deadline;
    this.timeoutMs = timeoutMs;
    this.caller = caller;
  }

  /** The deadline passed (the caller did not cancel first). */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** The caller's signal aborted. */
  get cancelled(): boolean {
    return this.caller?.aborted === true;
  }

  /** `listener` is told of the abort (once); it replaces any listener before it. */
  onAbort(listener: Listener): void {
    this.#listener = listener;
  }

  offAbort(listener: Listener): void {
    if (this.#listener === listener) this.#listener = null;
  }

  /** Aborts the call (once): the listener, if any, is told. */
  abort(reason: unknown, timedOut: boolean): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.#timedOut = timedOut;
    const listener = this.#listener;
    this.#listener = null;
    listener?.();
  }
}

export class DeadlineSweep {
  readonly #now: () => number;
  readonly #calls = new Set<InFlightCall>();
  /** The calls in flight of each caller signal that has had one; the listener stays with the signal. */
  readonly #byCaller = new WeakMap<AbortSignal, Set<InFlightCall>>();
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Calls in flight (tests). */
  get size(): number {
    return this.#calls.size;
  }

  /**
   * A call starting now with `timeoutMs`, also ended by `caller` aborting. An already aborted
   * caller gives a call aborted at once. `end` it when the call is over, whatever happened.
   */
  start(timeoutMs: number, caller?: AbortSignal): InFlightCall {
    const call = new InFlightCall(this.#now() + timeoutMs, timeoutMs, caller);
    if (caller?.aborted === true) {
      call.abort(caller.reason, false);
      return call;
    }
    this.#calls.add(call);
    if (caller !== undefined) this.#follow(caller, call);
    if (call.deadline < this.#timerAt) this.#arm(call.deadline);
    return call;
  }

  /** The call is over: no abort will reach it any more. */
  end(call: InFlightCall): void {
    this.#calls.delete(call);
    if (call.caller !== undefined) this.#byCaller.get(call.caller)?.delete(call);
    // The timer stays, even with nothing in flight: when it fires it re-arms for what is left,
    // or stops. Calls one after another (the usual) then share one timer per timeout, instead of
    // a setTimeout and a clearTimeout each.
  }

  #follow(caller: AbortSignal, call: InFlightCall): void {
    let calls = this.#byCaller.get(caller);
    if (calls === undefined) {
      const set = new Set<InFlightCall>();
      calls = set;
      this.#byCaller.set(caller, set);
      caller.addEventListener(
        'abort',
        () => {
          for (const c of [...set]) {
            set.delete(c);
            this.#calls.delete(c);
            c.abort(caller.reason, false);
          }
        },
        { once: true },
      );
    }
    calls.add(call);
  }

  #arm(at: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerAt = at;
    // Node fires a longer delay after 1 ms. Config caps timeouts far below (DURATION_MAX); this
    // keeps any other caller from turning a long deadline into an instant one.
    const delay = Math.min(Math.max(0, at - this.#now()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => this.#sweep(), delay);
    this.#timer.unref();
  }

  #sweep(): void {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.#now();
    let next = Number.POSITIVE_INFINITY;
    for (const call of [...this.#calls]) {
      if (call.deadline <= now) {
        this.#calls.delete(call);
        call.abort(new Error(`no answer within ${call.timeoutMs} ms`), true);
      } else if (call.deadline < next) {
        next = call.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  }
}
