// The webhook channel's sender: SPEC §8's JSON, signed per Standard Webhooks 1.0, one POST per attempt.

import type { Dispatcher } from 'undici';
import { VERSION } from '../../../version.js';
import { postJson } from '../../../net/post-json.js';
import type { RenderContext } from '../../message.js';
import type { Notifier, OutgoingMessage, SendResult } from '../../notifier.js';
import { webhookSecrets, type WebhookChannelConfig } from './config.js';
import { webhookRequest } from './render.js';

export class WebhookNotifier implements Notifier {
  readonly type = 'webhook';
  readonly channel: string;
  readonly #config: WebhookChannelConfig;
  readonly #ctx: RenderContext;
  readonly #secrets: string[];
  readonly #dispatcher: Dispatcher | undefined;

  constructor(config: WebhookChannelConfig, ctx: RenderContext, options: { dispatcher?: Dispatcher } = {}) {
    this.channel = config.name;
    this.#config = config;
    this.#ctx = ctx;
    this.#secrets = webhookSecrets(config);
    this.#dispatcher = options.dispatcher;
  }

  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const { body, headers } = webhookRequest(
      {
        deliveryId: message.deliveryId,
        events: message.events,
        sentAt: message.now,
        secret: this.#config.secret,
        secretFormat: this.#config.secretFormat,
        headers: this.#config.headers,
      },
      this.#ctx,
    );
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'user-agent')) {
      headers['user-agent'] = `whatsgate-monitor/${VERSION}`;
    }
    return postJson({
      url: this.#config.url,
      body,
      headers,
      timeoutMs: this.#config.timeoutMs,
      signal,
      secrets: this.#secrets,
      now: message.now,
      ...(this.#dispatcher === undefined ? {} : { dispatcher: this.#dispatcher }),
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
