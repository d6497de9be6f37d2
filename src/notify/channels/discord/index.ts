// The Discord channel (SPEC §11): a webhook, embeds coloured by severity. The audit report arrives as its
// summary with a link to the status page (or the command that prints it).

import { chatWebhookSecrets } from '../../chat/webhook-config.js';
import { defineChannel } from '../definition.js';
import { checkDiscord, discordSchema, resolveDiscord } from './config.js';
import { DiscordNotifier } from './notifier.js';

export const discord = defineChannel({
  type: 'discord',
  schema: discordSchema,
  check: checkDiscord,
  resolve: resolveDiscord,
  secrets: chatWebhookSecrets,
  createNotifier: (config, ctx) => new DiscordNotifier(config, ctx),
});
