// The Teams channel's config: a Power Automate Workflows webhook `url` (or `url_file`), with
// its query string — `sig` in it is the credential — and `timeout`.

import type { z } from 'zod';
import type { Problem } from '../../../fields/fields.js';
import {
  chatWebhookSchema,
  checkWebhookUrl,
  resolveChatWebhook,
  type ChatWebhookConfig,
} from '../../chat/webhook-config.js';
import type { ChannelResolveContext } from '../definition.js';

export const teamsSchema = chatWebhookSchema(
  'teams',
  'Workflows webhook URL ("Post to a channel when a webhook request is received"), with its ?api-version=…&sig=… query; any other http(s) URL is taken as a proxy',
);

export type TeamsChannelConfig = ChatWebhookConfig<'teams'>;

/** The retired Office 365 connectors: a clear message rather than a 4xx at the first alert. */
function isConnectorHost(host: string): boolean {
  return (
    host.endsWith('.webhook.office.com') || host === 'outlook.office.com' || host === 'outlook.office365.com'
  );
}

function isTeamsHost(host: string): boolean {
  return (
    host.endsWith('.logic.azure.com') || host.endsWith('.api.powerplatform.com') || isConnectorHost(host)
  );
}

function teamsShape(url: URL): Problem {
  if (isConnectorHost(url.hostname.toLowerCase()))
    return 'an Office 365 connector URL: connectors are retired — in Teams, create a Workflows webhook ("Post to a channel when a webhook request is received") and use its URL';
  if (!url.pathname.includes('/workflows/') || !url.pathname.includes('/triggers/'))
    return 'expected a Workflows URL (…/workflows/…/triggers/manual/paths/invoke?…&sig=…)';
  if ((url.searchParams.get('sig') ?? '') === '')
    return 'the Workflows URL lacks its sig=… query value (is the URL cut short?)';
  return null;
}

export const checkTeams = checkWebhookUrl({ isProviderHost: isTeamsHost, shape: teamsShape });

export function resolveTeams(
  raw: z.output<typeof teamsSchema>,
  at: ChannelResolveContext,
): TeamsChannelConfig {
  return resolveChatWebhook('teams', raw, at);
}
