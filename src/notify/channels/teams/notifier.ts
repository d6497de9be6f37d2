// The Teams channel's sender: one POST of the Adaptive Card message per attempt. A Workflows
// trigger answers 202 once the flow has the request; refusals (a card the flow cannot post, an
// expired or disabled flow) come back as JSON `{"error":{"code","message"}}`, which post-json
// puts in the error after the status.

import { chatWebhookSecrets } from '../../chat/webhook-config.js';
import type { RenderContext } from '../../message.js';
import type { OutgoingMessage, SendResult } from '../../notifier.js';
import { PostNotifier } from '../post-notifier.js';
import type { TeamsChannelConfig } from './config.js';
import { teamsMessage } from './render.js';

export class TeamsNotifier extends PostNotifier<TeamsChannelConfig> {
  readonly type = 'teams';

  constructor(config: TeamsChannelConfig, ctx: RenderContext) {
    super(config, ctx, chatWebhookSecrets(config));
  }

  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const body = JSON.stringify(teamsMessage(message.events, this.ctx));
    return this.post({ url: this.config.url, body }, message, signal);
  }
}
