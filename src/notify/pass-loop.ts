// The loop under the outbox worker, apart from what a pass does: each pass says when it wants to
// run again (null: only when woken), and the loop sleeps on the injected clock until then or
// until wake(). A pass that throws is logged and tried again after a pause, so the loop never
// dies of a database error.
//
// Restartable, because an HA replica stops delivering when it loses the lease and may lead again
// later (SPEC §11): every run has its own abort signal, stop() aborts it and waits for the pass
// in flight, and a start() after stop() is a new run that begins only once the old one has
// ended, so two runs never overlap.

import type { Logger } from '../log.js';
import type { Clock } from '../monitor/clock.js';

export interface PassLoopOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** One pass under the run's signal; resolves to when to run again, null: only when woken. */
  readonly pass: (signal: AbortSignal) => Promise<number | null>;
  /** After a pass threw, the loop pauses this long rather than spin. */
  readonly errorPauseMs: number;
}

export class PassLoop {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #passFn: (signal: AbortSignal) => Promise<number | null>;
  readonly #errorPauseMs: number;
  /** The current run's: aborted by stop(), replaced by the next start(). */
  #controller = new AbortController();
  #loop: Promise<void> | null = null;
  /** The last run started, running or ended: a new one waits for it. */
  #lastLoop: Promise<void> = Promise.resolve();
  #pass: Promise<number | null> | null = null;
  #woken = false;
  #sleep: AbortController | null = null;

  constructor(options: PassLoopOptions) {
    this.#clock = options.clock;
    this.#log = options.log;
    this.#passFn = options.pass;
    this.#errorPauseMs = options.errorPauseMs;
  }

  get running(): boolean {
    return this.#loop !== null;
  }

  /** Starts a run unless one is running. */
  start(): void {
    if (this.#loop !== null) return;
    if (this.#controller.signal.aborted) this.#controller = new AbortController();
    const loop = this.#run(this.#controller.signal, this.#lastLoop);
    this.#loop = loop;
    this.#lastLoop = loop;
  }

  /** Runs a pass now rather than at the scheduled wake-up (or again, if one is in flight). */
  wake(): void {
    this.#woken = true;
    this.#sleep?.abort();
  }

  /** Ends the run: its signal is aborted; resolves once its pass in flight has settled. */
  async stop(): Promise<void> {
    this.#controller.abort();
    this.#sleep?.abort();
    const loop = this.#loop;
    this.#loop = null;
    await loop;
    await this.#pass?.catch(() => undefined);
  }

  /**
   * One pass, outside the schedule (tests, or the loop itself). A call during a pass joins that
   * pass, and the loop runs another right after it.
   */
  runPass(): Promise<number | null> {
    if (this.#pass !== null) {
      this.#woken = true;
      return this.#pass;
    }
    const pass = this.#passFn(this.#controller.signal).finally(() => {
      this.#pass = null;
    });
    this.#pass = pass;
    return pass;
  }

  async #run(signal: AbortSignal, previous: Promise<void>): Promise<void> {
    await previous;
    while (!signal.aborted) {
      this.#woken = false;
      let wakeAt: number | null;
      try {
        wakeAt = await this.runPass();
      } catch (err) {
        this.#log.error({ err }, 'notification delivery pass failed; retrying shortly');
        wakeAt = this.#clock.now() + this.#errorPauseMs;
      }
      if (signal.aborted) break;
      if (this.#woken) continue;
      const sleep = new AbortController();
      this.#sleep = sleep;
      const ms = wakeAt === null ? Number.POSITIVE_INFINITY : Math.max(0, wakeAt - this.#clock.now());
      try {
        await this.#clock.sleep(ms, sleep.signal);
      } catch {
        // woken early: new messages, a reload, or stop
      } finally {
        this.#sleep = null;
      }
    }
  }
}
