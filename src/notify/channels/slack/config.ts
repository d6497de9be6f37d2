// The Slack channel's config: an incoming-webhook `url` (or `url_file`), `timeout`.

import type { z } from 'zod';
import type { Problem } from '../../../fields/fields.js';
import {
  chatWebhookSchema,
  checkWebhookUrl,
  resolveChatWebhook,
  type ChatWebhookConfig,
} from '../../chat/webhook-config.js';
import type { ChannelResolveContext } from '../definition.js';

export const slackSchema = chatWebhookSchema(
  'slack',
  'incoming-webhook URL, https://hooks.slack.com/services/T…/B…/…; any other http(s) URL is taken as a proxy',
);

export type SlackChannelConfig = ChatWebhookConfig<'slack'>;

const SLACK_HOSTS = new Set(['hooks.slack.com', 'hooks.slack-gov.com']);

/** `/services/T…/B…/token`; Workflow Builder's `/triggers/…` URLs take variables, not messages. */
function slackShape(url: URL): Problem {
  const parts = url.pathname.split('/').filter((p) => p !== '');
  if (parts[0] === 'triggers')
    return 'a Workflow Builder URL (/triggers/…) takes no messages: create an incoming webhook (…/services/T…/B…/…)';
  if (parts[0] !== 'services' || parts.length !== 4)
    return 'expected https://hooks.slack.com/services/T…/B…/… (is the URL cut short?)';
  return null;
}

export const checkSlack = checkWebhookUrl({ isProviderHost: (h) => SLACK_HOSTS.has(h), shape: slackShape });

export function resolveSlack(
  raw: z.output<typeof slackSchema>,
  at: ChannelResolveContext,
): SlackChannelConfig {
  return resolveChatWebhook('slack', raw, at);
}
