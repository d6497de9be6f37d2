// The ntfy channel's config: the topic's URL (server + topic, as `ntfy publish` takes it), an
// optional access token (or `user:pass@` in the URL for basic auth).

import { z } from 'zod';
import { httpUrlProblem } from '../../../fields/fields.js';
import type { Tree } from '../../../fields/raw-tree.js';
import { channelTimeout, checked, expecting, secret, secretFile } from '../../../fields/schema-kit.js';
import { urlSecrets } from '../../../net/redact.js';
import type { ChannelCheckContext, ChannelResolveContext } from '../definition.js';

/** ntfy's own rule for topic names. */
const TOPIC = /^[-_A-Za-z0-9]{1,64}$/;

/** The server (publishing root, with any sub-path it is served under) and the topic. */
export function splitTopicUrl(url: string): { server: string; topic: string } | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const segments = parsed.pathname.replace(/\/+$/, '').split('/');
  const topic = segments.pop() ?? '';
  if (!TOPIC.test(topic)) return null;
  parsed.pathname = `${segments.join('/')}/`;
  return { server: parsed.href, topic };
}

export function topicUrlProblem(url: string): string | null {
  const problem = httpUrlProblem(url);
  if (problem !== null) return problem;
  return splitTopicUrl(url) === null
    ? 'expected the server and a topic, e.g. https://ntfy.sh/whatsgate-ops (topic: letters, digits, - and _, at most 64)'
    : null;
}

export const ntfySchema = z.strictObject({
  type: z.literal('ntfy'),
  url: checked(
    z.string({ error: expecting('a URL such as https://ntfy.sh/mytopic') }),
    topicUrlProblem,
  ).describe('server + topic, e.g. https://ntfy.sh/whatsgate-ops'),
  token: secret().optional().describe('access token (tk_…), sent as Authorization: Bearer; or token_file'),
  token_file: secretFile().optional(),
  timeout: channelTimeout(),
});

export interface NtfyChannelConfig {
  readonly type: 'ntfy';
  readonly name: string;
  /** Where JSON is published: the server root, ending in `/`. */
  readonly server: string;
  readonly topic: string;
  readonly token: string | null;
  readonly timeoutMs: number;
}

export function checkNtfy(channel: Tree, at: ChannelCheckContext): void {
  const token = at.readSecret('token');
  if (token !== undefined && /\s/.test(token))
    at.issues.add(
      [...at.path, channel['token'] === undefined ? 'token_file' : 'token'],
      'an access token has no spaces (write the token alone, without "Bearer")',
    );
}

export function resolveNtfy(raw: z.output<typeof ntfySchema>, at: ChannelResolveContext): NtfyChannelConfig {
  const split = splitTopicUrl(raw.url);
  if (split === null) throw new Error('invariant: the ntfy url was checked to name a topic');
  return {
    type: 'ntfy',
    name: at.name,
    server: split.server,
    topic: split.topic,
    token: at.secret('token'),
    timeoutMs: at.timeoutMs(raw.timeout),
  };
}

/**
 * The token, the URL's password, and the topic: on a public server such as ntfy.sh whoever
 * knows the topic name can read it, so it is a capability like a webhook path.
 */
export function ntfySecrets(config: Pick<NtfyChannelConfig, 'server' | 'topic' | 'token'>): string[] {
  const out = urlSecrets(config.server);
  if (config.token !== null) out.push(config.token);
  out.push(config.topic);
  return out;
}
