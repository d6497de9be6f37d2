// A channel that answers what the test scripts, and remembers every attempt.

import type { ChannelConfig } from '../../config/types.js';
import type { Notifier, OutgoingMessage, SendResult } from '../notifier.js';

export interface Attempt {
  readonly at: number;
  readonly deliveryId: string;
  readonly message: OutgoingMessage;
}

export class FakeNotifier implements Notifier {
  readonly attempts: Attempt[] = [];
  closed = false;
  /** Answers in order; the last one repeats. */
  #script: SendResult[];
  /** When set, send() waits for this before answering (an attempt in flight). */
  gate: Promise<void> | null = null;

  constructor(
    readonly channel: string,
    script: SendResult[] = [{ ok: true }],
    readonly type: ChannelConfig['type'] = 'webhook',
  ) {
    this.#script = [...script];
  }

  script(...results: SendResult[]): void {
    this.#script = results;
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    this.attempts.push({ at: message.now, deliveryId: message.deliveryId, message });
    if (this.gate !== null) {
      const gate = this.gate;
      await new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => resolve(), { once: true });
        void gate.then(resolve);
      });
      if (signal.aborted) return { ok: false, retryable: true, error: 'aborted' };
    }
    const result = this.#script.length > 1 ? this.#script.shift()! : this.#script[0]!;
    return result;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
