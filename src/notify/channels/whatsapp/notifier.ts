// The whatsapp channel's sender (SPEC §11): one `POST /send/text` per recipient through the
// account's gateway (the daemon's metered gateway: every message is a call in the account's
// budget and its call log), from the first device in `from` that the monitor holds UP.
//
// Per recipient, senders are tried in `from` order among those UP:
//   sent                                   → done
//   "sender device is not connected",
//   "insufficient balance"                 → that sender is skipped for the rest of the attempt,
//                                            the next one is tried (retryable if none is left)
//   "The selected sender device is invalid." (422)
//                                          → skipped too; permanent if every sender was invalid
//   any other refusal (phone, message)     → permanent for that recipient, with the gateway's text
//   no answer (timeout, 5xx, 401/403, …)   → the attempt ends, retryable; a 429 with Retry-After
// With no sender UP, nothing is called: retryable "no healthy sender device (from: …)", so the
// message waits in the outbox, whose one retry loop backs off (never this channel).
//
// Several recipients: the recipients a delivery has reached are remembered per delivery id, so a
// retry sends only to those still missing it. The memory is this process's: after a restart or a
// reload a retry may reach some recipients twice (at least once, as the outbox promises).

import type { RenderContext } from '../../message.js';
import {
  permanent,
  retryable,
  SENT,
  type Notifier,
  type OutgoingMessage,
  type SendResult,
} from '../../notifier.js';
import type { AccountSender, ChannelServices } from '../definition.js';
import type { WhatsappChannelConfig } from './config.js';
import { whatsappText } from './render.js';

/** How long one `/send/text` may wait for the account's budget before the attempt is retried later. */
export const BUDGET_WAIT_MS = 60_000;
/** Deliveries whose reached recipients are remembered (oldest forgotten first). */
const REMEMBERED_DELIVERIES = 1_000;

type SenderTrouble = 'down' | 'invalid';

/** How a refusal reads: about the sender (try the next one), or about this message (give up). */
export function refusalKind(message: string): SenderTrouble | 'message' {
  if (/not connected|insufficient balance|balance/i.test(message)) return 'down';
  if (/sender device/i.test(message)) return 'invalid';
  return 'message';
}

/** One recipient's outcome in an attempt. */
type Outcome =
  | { readonly kind: 'sent' }
  | { readonly kind: 'permanent'; readonly error: string }
  | {
      readonly kind: 'retry';
      readonly error: string;
      readonly retryAfterMs?: number;
      readonly stop: boolean;
    };

export class WhatsappNotifier implements Notifier {
  readonly type = 'whatsapp';
  readonly channel: string;
  readonly #config: WhatsappChannelConfig;
  readonly #ctx: RenderContext;
  readonly #services: ChannelServices;
  /** Delivery id → recipients it reached (null) or that were refused for good (why): not sent to again. */
  readonly #done = new Map<string, Map<string, string | null>>();

  constructor(config: WhatsappChannelConfig, ctx: RenderContext, services: ChannelServices = {}) {
    this.channel = config.name;
    this.#config = config;
    this.#ctx = ctx;
    this.#services = services;
  }

  sendersUp(): number {
    const sender = this.#sender();
    return sender === null ? 0 : this.#config.from.filter((d) => sender.isUp(d)).length;
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const sender = this.#sender();
    if (sender === null) {
      return permanent(
        `no WhatsGate gateway for account ${this.#config.account} in this process (the whatsapp channel sends through the daemon's)`,
      );
    }
    const text = whatsappText(message.events, this.#ctx);
    const done = this.#reached(message.deliveryId);
    // Senders found not connected, out of balance or invalid during this attempt: not tried again.
    const troubled = new Map<string, SenderTrouble>();
    const retries: string[] = [];
    let retryAfterMs: number | undefined;
    for (const phone of this.#config.to) {
      if (done.has(phone)) continue;
      const outcome = await this.#sendTo(sender, phone, text, troubled, signal);
      if (outcome.kind === 'sent') done.set(phone, null);
      else if (outcome.kind === 'permanent') done.set(phone, this.#about(phone, outcome.error));
      else {
        retries.push(this.#about(phone, outcome.error));
        retryAfterMs = outcome.retryAfterMs ?? retryAfterMs;
        if (outcome.stop) break;
      }
    }
    const refusedForGood = [...done.values()].filter((e): e is string => e !== null);
    if (retries.length === 0 && refusedForGood.length === 0) {
      this.#done.delete(message.deliveryId);
      return SENT;
    }
    const sent = [...done.values()].filter((e) => e === null).length;
    const tally = sent > 0 ? ` (sent to ${sent} of ${this.#config.to.length} recipients)` : '';
    const error = `${[...retries, ...refusedForGood].join('; ')}${tally}`;
    if (retries.length > 0) return retryable(error, retryAfterMs);
    this.#done.delete(message.deliveryId);
    return permanent(error);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** One recipient: the senders UP in `from` order, skipping those already troubled. */
  async #sendTo(
    sender: AccountSender,
    phone: string,
    text: string,
    troubled: Map<string, SenderTrouble>,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const refusals: string[] = [];
    for (const device of this.#config.from) {
      if (troubled.has(device) || !sender.isUp(device)) continue;
      const result = await sender.sendText(device, phone, text, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(BUDGET_WAIT_MS + this.#config.timeoutMs)]),
        timeoutMs: this.#config.timeoutMs,
      });
      if (result === null) {
        const why = signal.aborted
          ? 'cancelled'
          : `no slot in the API budget of account ${this.#config.account} within ${BUDGET_WAIT_MS / 1000} s`;
        return { kind: 'retry', error: why, stop: true };
      }
      switch (result.kind) {
        case 'sent':
          return { kind: 'sent' };
        case 'probe_error': {
          const error = `from ${device}: ${result.reason}: ${result.message}`;
          return result.retryAfterMs === undefined
            ? { kind: 'retry', error, stop: true }
            : { kind: 'retry', error, retryAfterMs: result.retryAfterMs, stop: true };
        }
        case 'refused': {
          const kind = refusalKind(result.message);
          const said = `from ${device}: ${result.message} (HTTP ${result.httpStatus})`;
          if (kind === 'message') return { kind: 'permanent', error: said };
          troubled.set(device, kind);
          refusals.push(said);
        }
      }
    }
    const tried = refusals.length === 0 ? '' : `; ${refusals.join('; ')}`;
    const none = `no healthy sender device (from: ${this.#config.from.join(', ')})${tried}`;
    // Every sender refused as invalid: no retry will help. Else one may come back (UP, topped up);
    // the next recipient would find no sender either, so the attempt ends here.
    const allInvalid = this.#config.from.every((d) => troubled.get(d) === 'invalid');
    return allInvalid ? { kind: 'permanent', error: none } : { kind: 'retry', error: none, stop: true };
  }

  /** An error about one recipient; with a single one, the recipient goes without saying. */
  #about(phone: string, error: string): string {
    return this.#config.to.length === 1 ? error : `to ${phone}: ${error}`;
  }

  #sender(): AccountSender | null {
    return this.#services.gateways?.sender(this.#config.account) ?? null;
  }

  #reached(deliveryId: string): Map<string, string | null> {
    let done = this.#done.get(deliveryId);
    if (done === undefined) {
      if (this.#done.size >= REMEMBERED_DELIVERIES) {
        const oldest = this.#done.keys().next().value;
        if (oldest !== undefined) this.#done.delete(oldest);
      }
      done = new Map();
      this.#done.set(deliveryId, done);
    }
    return done;
  }
}
