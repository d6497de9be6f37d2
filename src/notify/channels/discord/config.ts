// The Discord channel's config: a webhook `url` (or `url_file`) — …/api/webhooks/{id}/{token} —
// and `timeout`.

import type { z } from 'zod';
import type { Problem } from '../../../fields/fields.js';
import {
  chatWebhookSchema,
  checkWebhookUrl,
  resolveChatWebhook,
  type ChatWebhookConfig,
} from '../../chat/webhook-config.js';
import type { ChannelResolveContext } from '../definition.js';

export const discordSchema = chatWebhookSchema(
  'discord',
  'webhook URL, https://discord.com/api/webhooks/{id}/{token}; any other http(s) URL is taken as a proxy',
);

export type DiscordChannelConfig = ChatWebhookConfig<'discord'>;

const DISCORD_HOSTS = new Set(['discord.com', 'discordapp.com', 'canary.discord.com', 'ptb.discord.com']);

/** `/api/webhooks/{id}/{token}`, or with an API version: `/api/v10/webhooks/…`. */
function discordShape(url: URL): Problem {
  const parts = url.pathname.split('/').filter((p) => p !== '');
  const at = parts[1] === 'webhooks' ? 2 : parts[2] === 'webhooks' && /^v\d+$/.test(parts[1] ?? '') ? 3 : -1;
  if (parts[0] !== 'api' || at === -1 || parts.length !== at + 2)
    return 'expected https://discord.com/api/webhooks/{id}/{token} (is the URL cut short?)';
  if (!/^\d+$/.test(parts[at] ?? '')) return 'the webhook id in …/webhooks/{id}/{token} must be digits';
  return null;
}

export const checkDiscord = checkWebhookUrl({
  isProviderHost: (h) => DISCORD_HOSTS.has(h),
  shape: discordShape,
});

export function resolveDiscord(
  raw: z.output<typeof discordSchema>,
  at: ChannelResolveContext,
): DiscordChannelConfig {
  return resolveChatWebhook('discord', raw, at);
}
