// The config fragment every chat webhook channel shares (Slack, Teams, Discord): `url` — the
// secret, so it has a `url_file` twin — and `timeout`. Each channel adds only the shape of its
// provider's URL.

import { z } from 'zod';
import type { Problem } from '../../fields/fields.js';
import type { Tree } from '../../fields/raw-tree.js';
import { channelTimeout, secret, secretFile } from '../../fields/schema-kit.js';
import type { ChannelCheckContext, ChannelResolveContext } from '../channels/definition.js';
import { webhookUrlProblem, webhookUrlSecrets } from './webhook-url.js';

export function chatWebhookSchema<T extends string>(type: T, urlHelp: string) {
  return z.strictObject({
    type: z.literal(type),
    url: secret().optional().describe(`${urlHelp}. A secret: set url or url_file`),
    url_file: secretFile().optional().describe('a file holding the url (e.g. a systemd credential)'),
    timeout: channelTimeout(),
  });
}

export interface ChatWebhookConfig<T extends string> {
  readonly type: T;
  readonly name: string;
  /** The webhook URL: a secret as a whole (see webhookUrlSecrets). */
  readonly url: string;
  readonly timeoutMs: number;
}

export interface ProviderUrl {
  readonly isProviderHost: (host: string) => boolean;
  readonly shape: (url: URL) => Problem;
}

/** `url` or `url_file` is required, and must have the provider's shape; the problem names the key set. */
export function checkWebhookUrl(provider: ProviderUrl) {
  return (channel: Tree, at: ChannelCheckContext): void => {
    const url = at.readSecret('url', { required: true });
    if (url === undefined) return;
    const problem = webhookUrlProblem(url, provider);
    if (problem !== null) {
      at.issues.add([...at.path, channel['url'] === undefined ? 'url_file' : 'url'], problem);
    }
  };
}

export function resolveChatWebhook<T extends string>(
  type: T,
  raw: { readonly timeout?: string | number | undefined },
  at: ChannelResolveContext,
): ChatWebhookConfig<T> {
  const url = at.secret('url');
  if (url === null) throw new Error('invariant: url checked before conversion');
  return { type, name: at.name, url, timeoutMs: at.timeoutMs(raw.timeout) };
}

export function chatWebhookSecrets(config: { readonly url: string }): string[] {
  return webhookUrlSecrets(config.url);
}
