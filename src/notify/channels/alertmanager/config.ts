// The Alertmanager channel's config: one URL or a cluster's list.

import { z } from 'zod';
import { stripTrailingSlash } from '../../../fields/fields.js';
import { channelTimeout, expecting, httpUrl } from '../../../fields/schema-kit.js';
import { ALERTMANAGER_URL, urlSecrets } from '../../../net/redact.js';
import type { ChannelResolveContext } from '../definition.js';

export const alertmanagerSchema = z.strictObject({
  type: z.literal('alertmanager'),
  url: z.union([httpUrl(), z.array(httpUrl()).min(1)], {
    error: expecting('a URL or a list of URLs (an Alertmanager cluster)'),
  }),
  timeout: channelTimeout(),
});

export interface AlertmanagerChannelConfig {
  readonly type: 'alertmanager';
  readonly name: string;
  readonly urls: readonly string[];
  readonly timeoutMs: number;
}

export function resolveAlertmanager(
  raw: z.output<typeof alertmanagerSchema>,
  at: ChannelResolveContext,
): AlertmanagerChannelConfig {
  const urls = typeof raw.url === 'string' ? [raw.url] : raw.url;
  return {
    type: 'alertmanager',
    name: at.name,
    urls: urls.map(stripTrailingSlash),
    timeoutMs: at.timeoutMs(raw.timeout),
  };
}

/** Passwords, query values and hidden path segments of every member's URL (net/redact.ts). */
export function alertmanagerSecrets(config: Pick<AlertmanagerChannelConfig, 'urls'>): string[] {
  return [...new Set(config.urls.flatMap((url) => urlSecrets(url, ALERTMANAGER_URL)))];
}
