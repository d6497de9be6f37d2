// The webhook channel's config: a URL, an optional Standard Webhooks secret, extra headers.

import { z } from 'zod';
import { headerNameProblem, headerValueProblem, webhookSecretProblem } from '../../../fields/fields.js';
import type { Tree } from '../../../fields/raw-tree.js';
import {
  channelTimeout,
  checked,
  expecting,
  httpUrl,
  secret,
  secretFile,
} from '../../../fields/schema-kit.js';
import { isSecretHeader, urlSecrets } from '../../../net/redact.js';
import type { ChannelCheckContext, ChannelResolveContext } from '../definition.js';

export const WEBHOOK_SECRET_FORMATS = ['whsec', 'raw'] as const;
export type WebhookSecretFormat = (typeof WEBHOOK_SECRET_FORMATS)[number];

export const webhookSchema = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrl(),
  secret: secret()
    .optional()
    .describe(
      'Standard Webhooks signing key: whsec_ + base64 of at least 24 bytes (`whatsgate-monitor webhook-secret` makes one); plain text only with secret_format: raw',
    ),
  secret_file: secretFile().optional(),
  secret_format: z
    .enum(WEBHOOK_SECRET_FORMATS, { error: expecting('whsec or raw') })
    .optional()
    .describe(
      'whsec (default): the secret is whsec_ + base64, as the Standard Webhooks libraries expect; raw: its UTF-8 bytes are the key',
    ),
  headers: z
    .record(
      checked(z.string(), headerNameProblem),
      checked(z.string({ error: expecting('a string') }), headerValueProblem),
    )
    .optional(),
  timeout: channelTimeout(),
});

export interface WebhookChannelConfig {
  readonly type: 'webhook';
  readonly name: string;
  readonly url: string;
  readonly secret: string | null;
  /** How `secret` becomes the HMAC key: base64 after `whsec_`, or the text's UTF-8 bytes. */
  readonly secretFormat: WebhookSecretFormat;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export function checkWebhook(channel: Tree, at: ChannelCheckContext): void {
  const secret = at.readSecret('secret');
  const format = channel['secret_format'];
  if (format !== undefined && channel['secret'] === undefined && channel['secret_file'] === undefined) {
    at.issues.add([...at.path, 'secret_format'], 'only with secret or secret_file');
  }
  // Raw text is the operator's explicit choice; its receivers must give their library the bytes.
  if (format === 'raw') return;
  const problem = secret === undefined ? null : webhookSecretProblem(secret);
  if (problem !== null)
    at.issues.add([...at.path, channel['secret'] === undefined ? 'secret_file' : 'secret'], problem);
}

export function resolveWebhook(
  raw: z.output<typeof webhookSchema>,
  at: ChannelResolveContext,
): WebhookChannelConfig {
  return {
    type: 'webhook',
    name: at.name,
    url: raw.url,
    secret: at.secret('secret'),
    secretFormat: raw.secret_format ?? 'whsec',
    headers: { ...raw.headers },
    timeoutMs: at.timeoutMs(raw.timeout),
  };
}

/** Query values of the URL, its password, the signing secret, auth-like headers (`Authorization: Bearer …`). */
export function webhookSecrets(config: Pick<WebhookChannelConfig, 'url' | 'secret' | 'headers'>): string[] {
  const out = urlSecrets(config.url);
  if (config.secret !== null) out.push(config.secret);
  for (const [name, value] of Object.entries(config.headers)) if (isSecretHeader(name)) out.push(value);
  return out;
}
