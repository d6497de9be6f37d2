// The Slack channel's sender: one POST of the Block Kit message per attempt. Slack answers
// errors as plain text (`invalid_payload`, `no_service`, `channel_is_archived`), which
// post-json puts in the error after the status.

import { postJson } from '../../../net/post-json.js';
import { VERSION } from '../../../version.js';
import { chatWebhookSecrets } from '../../chat/webhook-config.js';
import type { RenderContext } from '../../message.js';
import type { Notifier, OutgoingMessage, SendResult } from '../../notifier.js';
import type { SlackChannelConfig } from './config.js';
import { slackMessage } from './render.js';

export class SlackNotifier implements Notifier {
  readonly type = 'slack';
  readonly channel: string;
  readonly #config: SlackChannelConfig;
  readonly #ctx: RenderContext;
  readonly #secrets: string[];

  constructor(config: SlackChannelConfig, ctx: RenderContext) {
    this.channel = config.name;
    this.#config = config;
    this.#ctx = ctx;
    this.#secrets = chatWebhookSecrets(config);
  }

  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    return postJson({
      url: this.#config.url,
      body: JSON.stringify(slackMessage(message.events, this.#ctx)),
      headers: { 'Content-Type': 'application/json', 'User-Agent': `whatsgate-monitor/${VERSION}` },
      timeoutMs: this.#config.timeoutMs,
      signal,
      secrets: this.#secrets,
      now: message.now,
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
