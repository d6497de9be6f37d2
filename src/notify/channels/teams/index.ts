// The Teams channel (SPEC §11): a Power Automate Workflows webhook, an Adaptive Card. The audit
// report arrives as its summary with a link to the status page (or the command that prints it).

import { chatWebhookSecrets } from '../../chat/webhook-config.js';
import { defineChannel } from '../definition.js';
import { checkTeams, resolveTeams, teamsSchema } from './config.js';
import { TeamsNotifier } from './notifier.js';

export const teams = defineChannel({
  type: 'teams',
  schema: teamsSchema,
  check: checkTeams,
  resolve: resolveTeams,
  secrets: chatWebhookSecrets,
  createNotifier: (config, ctx) => new TeamsNotifier(config, ctx),
});
