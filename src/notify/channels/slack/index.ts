// The Slack channel (SPEC §11): an incoming webhook, Block Kit. The audit report arrives as its
// summary with a link to the status page (or the command that prints it).

import { chatWebhookSecrets } from '../../chat/webhook-config.js';
import { defineChannel } from '../definition.js';
import { checkSlack, resolveSlack, slackSchema } from './config.js';
import { SlackNotifier } from './notifier.js';

export const slack = defineChannel({
  type: 'slack',
  schema: slackSchema,
  check: checkSlack,
  resolve: resolveSlack,
  secrets: chatWebhookSecrets,
  createNotifier: (config, ctx) => new SlackNotifier(config, ctx),
});
