// The Teams channel's sender: one POST of the Adaptive Card message per attempt. A Workflows
// trigger answers 202 once the flow has the request; refusals (a card the flow cannot post, an
// expired or disabled flow) come back as JSON `{"error":{"code","message"}}`, which post-json
// puts in the error after the status.

import { postJson } from '../../../net/post-json.js';
import { VERSION } from '../../../version.js';
import { chatWebhookSecrets } from '../../chat/webhook-config.js';
import type { RenderContext } from '../../message.js';
import type { Notifier, OutgoingMessage, SendResult } from '../../notifier.js';
import type { TeamsChannelConfig } from './config.js';
import { teamsMessage } from './render.js';

export class TeamsNotifier implements Notifier {
  readonly type = 'teams';
  readonly channel: string;
  readonly #config: TeamsChannelConfig;
  readonly #ctx: RenderContext;
  readonly #secrets: string[];

  constructor(config: TeamsChannelConfig, ctx: RenderContext) {
    this.channel = config.name;
    this.#config = config;
    this.#ctx = ctx;
    this.#secrets = chatWebhookSecrets(config);
  }

  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    return postJson({
      url: this.#config.url,
      body: JSON.stringify(teamsMessage(message.events, this.#ctx)),
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
