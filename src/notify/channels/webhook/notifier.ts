// The webhook channel's sender: SPEC §8's JSON, signed per Standard Webhooks 1.0, one POST per attempt.

import type { Dispatcher } from 'undici';
import type { RenderContext } from '../../message.js';
import type { OutgoingMessage, SendResult } from '../../notifier.js';
import { PostNotifier, USER_AGENT } from '../post-notifier.js';
import { webhookSecrets, type WebhookChannelConfig } from './config.js';
import { webhookRequest } from './render.js';

export class WebhookNotifier extends PostNotifier<WebhookChannelConfig> {
  readonly type = 'webhook';

  constructor(config: WebhookChannelConfig, ctx: RenderContext, options: { dispatcher?: Dispatcher } = {}) {
    super(config, ctx, webhookSecrets(config), options);
  }

  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const { body, headers } = webhookRequest(
      {
        deliveryId: message.deliveryId,
        events: message.events,
        sentAt: message.now,
        secret: this.config.secret,
        secretFormat: this.config.secretFormat,
        headers: this.config.headers,
      },
      this.ctx,
    );
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'user-agent')) {
      headers['user-agent'] = USER_AGENT;
    }
    return this.post({ url: this.config.url, body, headers }, message, signal);
  }
}
