// What one run of the outbox worker knows about the other replicas (SPEC §11): the messages a
// write refused as `deposed` left to the replica that took over (never touched again by this
// run, logged once), and the channels whose head another replica holds a claim on (left alone
// for a moment rather than asked again at once). Forgotten at every start: a new term, in which
// the store is the truth again.

import type { Logger } from '../log.js';
import type { OutboxMessage } from '../store/outbox-store.js';
import { isDeposed } from './deposed.js';

export class Handover {
  readonly #log: Logger;
  readonly #left = new Set<number>();
  readonly #contended = new Map<string, number>();
  #logged = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** A new run. */
  reset(): void {
    this.#left.clear();
    this.#contended.clear();
    this.#logged = false;
  }

  /** Left to the replica that took over: not claimed, sent, dropped or waited for by this run. */
  isLeft(m: OutboxMessage): boolean {
    return this.#left.has(m.id);
  }

  /**
   * True when `err` says another replica took the lease: `m` (when given) is left to it for the
   * rest of this run. Logged at warn once per run, the rest at debug.
   */
  deposed(err: unknown, m: OutboxMessage | null): boolean {
    if (!isDeposed(err)) return false;
    if (m !== null) this.#left.add(m.id);
    const fields = m === null ? { err } : { err, channel: m.channel, delivery_id: m.deliveryId };
    if (this.#logged) {
      this.#log.debug(fields, 'outbox write refused: another replica delivers it');
    } else {
      this.#logged = true;
      this.#log.warn(
        fields,
        'another replica took over the lease: its outbox is left to it, not retried here',
      );
    }
    return true;
  }

  /** Another replica holds a claim on the channel's head: leave the channel alone until `until`. */
  contend(channel: string, until: number): void {
    this.#contended.set(channel, until);
  }

  /** Until when the channel is left alone; 0 when it is not. */
  contendedUntil(channel: string): number {
    return this.#contended.get(channel) ?? 0;
  }
}
