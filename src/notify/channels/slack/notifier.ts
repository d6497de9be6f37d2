// The Slack channel's sender: one POST of the Block Kit message per attempt. Slack answers
// errors as plain text (`invalid_payload`, `no_service`, `channel_is_archived`), which
// post-json puts in the error after the status.

import { chatWebhookSecrets } from '../../chat/webhook-config.js';
import type { RenderContext } from '../../message.js';
import type { OutgoingMessage, SendResult } from '../../notifier.js';
import { PostNotifier } from '../post-notifier.js';
import type { SlackChannelConfig } from './config.js';
import { slackMessage } from './render.js';

export class SlackNotifier extends PostNotifier<SlackChannelConfig> {
  readonly type = 'slack';

  constructor(config: SlackChannelConfig, ctx: RenderContext) {
    super(config, ctx, chatWebhookSecrets(config));
  }

  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const body = JSON.stringify(slackMessage(message.events, this.ctx));
    return this.post({ url: this.config.url, body }, message, signal);
  }
}
