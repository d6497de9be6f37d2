// The one interface every channel implements (Alertmanager's notify.Notifier in TypeScript): a
// channel sends once and only classifies the outcome; retries and backoff live in the outbox.

import type { NotificationEvent } from './message.js';

export type SendResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** 5xx, 429, network errors and timeouts: try again later. Anything else: give up. */
      readonly retryable: boolean;
      /** One line, secret-free (URLs without credentials), e.g. `HTTP 500 from https://…`. */
      readonly error: string;
      /** The receiver asked for this pause (`Retry-After`). */
      readonly retryAfterMs?: number;
    };

export interface OutgoingMessage {
  /** Stable across retries: `webhook-id`, the email's Message-ID. */
  readonly deliveryId: string;
  readonly events: readonly NotificationEvent[];
  /** When this attempt is made: signatures, `sent_at`, Alertmanager's `endsAt`. */
  readonly now: number;
}

export interface Notifier {
  readonly channel: string;
  /** The channel type (`email`, `webhook`, …): its definition in channels/index.ts. */
  readonly type: string;
  /**
   * One attempt. Never rejects: every failure is a result. `signal` aborts it when the daemon
   * stops (the channel's own timeout applies besides).
   */
  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult>;
  /** Releases connections; idempotent. */
  close(): Promise<void>;
  /**
   * Channels that send through devices the monitor watches (whatsapp): how many of those are UP
   * now. At 0 the channel's messages wait in the outbox (`whatsgate_notification_senders_up`).
   * Cheap, no I/O: read at every scrape.
   */
  sendersUp?(): number;
}

export const SENT: SendResult = { ok: true };

export function retryable(error: string, retryAfterMs?: number): SendResult {
  return retryAfterMs === undefined
    ? { ok: false, retryable: true, error }
    : { ok: false, retryable: true, error, retryAfterMs };
}

export function permanent(error: string): SendResult {
  return { ok: false, retryable: false, error };
}
