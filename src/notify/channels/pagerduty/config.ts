// The PagerDuty channel's config: an Events API v2 integration's routing key, the endpoint
// (overridable for the EU region, a proxy or tests).

import { z } from 'zod';
import type { Tree } from '../../../fields/raw-tree.js';
import { channelTimeout, httpUrl, secret, secretFile } from '../../../fields/schema-kit.js';
import { urlSecrets } from '../../../net/redact.js';
import type { ChannelCheckContext, ChannelResolveContext } from '../definition.js';

export const PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';

export const pagerdutySchema = z.strictObject({
  type: z.literal('pagerduty'),
  routing_key: secret()
    .optional()
    .describe('the Integration Key of an Events API v2 integration (32 characters); or routing_key_file'),
  routing_key_file: secretFile().optional(),
  url: httpUrl()
    .optional()
    .meta({ default: PAGERDUTY_URL })
    .describe('the Events API v2 endpoint (https://events.eu.pagerduty.com/v2/enqueue for the EU region)'),
  timeout: channelTimeout(),
});

export interface PagerdutyChannelConfig {
  readonly type: 'pagerduty';
  readonly name: string;
  readonly routingKey: string;
  readonly url: string;
  readonly timeoutMs: number;
}

export function checkPagerduty(channel: Tree, at: ChannelCheckContext): void {
  const key = at.readSecret('routing_key', { required: true });
  if (key !== undefined && !/^[A-Za-z0-9]{32}$/.test(key)) {
    at.issues.add(
      [...at.path, channel['routing_key'] === undefined ? 'routing_key_file' : 'routing_key'],
      'not a routing key: expected the 32 letters and digits of an Events API v2 Integration Key',
    );
  }
}

export function resolvePagerduty(
  raw: z.output<typeof pagerdutySchema>,
  at: ChannelResolveContext,
): PagerdutyChannelConfig {
  const routingKey = at.secret('routing_key');
  if (routingKey === null) throw new Error('invariant: routing_key was checked to be set');
  return {
    type: 'pagerduty',
    name: at.name,
    routingKey,
    url: raw.url ?? PAGERDUTY_URL,
    timeoutMs: at.timeoutMs(raw.timeout),
  };
}

export function pagerdutySecrets(config: Pick<PagerdutyChannelConfig, 'routingKey' | 'url'>): string[] {
  return [config.routingKey, ...urlSecrets(config.url)];
}
