// The webhook channel (SPEC §8): JSON signed per Standard Webhooks 1.0.

import { defineChannel } from '../definition.js';
import { checkWebhook, resolveWebhook, webhookSchema, webhookSecrets } from './config.js';
import { WebhookNotifier } from './notifier.js';

export const webhook = defineChannel({
  type: 'webhook',
  schema: webhookSchema,
  check: checkWebhook,
  resolve: resolveWebhook,
  secrets: webhookSecrets,
  createNotifier: (config, ctx) => new WebhookNotifier(config, ctx),
});
