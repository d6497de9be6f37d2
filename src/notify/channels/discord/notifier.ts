// The Discord channel's sender: one POST of the embeds per attempt. Discord answers a rate
// limit with 429 and `{"retry_after": 0.5, …}` (seconds, fractional) in the body — read when
// `Retry-After` is absent — and refusals with JSON `{"message","code"}`, which post-json puts
// in the error after the status.

import { chatWebhookSecrets } from '../../chat/webhook-config.js';
import type { RenderContext } from '../../message.js';
import type { OutgoingMessage, SendResult } from '../../notifier.js';
import { PostNotifier } from '../post-notifier.js';
import type { DiscordChannelConfig } from './config.js';
import { discordMessage } from './render.js';

/**
 * `retry_after` of a Discord error body, in ms (rounded up: retrying early earns another 429).
 * Read by pattern, not JSON.parse: the body reaches here as the bounded snippet of an error.
 */
export function discordRetryAfter(body: string): number | undefined {
  const m = /"retry_after"\s*:\s*(\d+(?:\.\d+)?)/.exec(body);
  if (m === null) return undefined;
  return Math.ceil(Number(m[1]) * 1000);
}

export class DiscordNotifier extends PostNotifier<DiscordChannelConfig> {
  readonly type = 'discord';

  constructor(config: DiscordChannelConfig, ctx: RenderContext) {
    super(config, ctx, chatWebhookSecrets(config));
  }

  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const body = JSON.stringify(discordMessage(message.events, this.ctx));
    return this.post({ url: this.config.url, body, retryAfterFromBody: discordRetryAfter }, message, signal);
  }
}
