import { describe, expect, it } from 'vitest';
import { channelProblems, loadChannel } from '../../../config/test-support/channel-config.js';
import { splitTopicUrl } from './config.js';

const load = (channel: Record<string, unknown>) => loadChannel('push', channel);
const problems = (channel: Record<string, unknown>) => channelProblems('push', channel);

describe('ntfy config', () => {
  it.each([
    ['https://ntfy.sh/whatsgate-ops', 'https://ntfy.sh/', 'whatsgate-ops'],
    ['https://example.com/ntfy/ops_1/', 'https://example.com/ntfy/', 'ops_1'],
    ['http://u:p@127.0.0.1:8080/t', 'http://u:p@127.0.0.1:8080/', 't'],
  ])('%s → server %s, topic %s', (url, server, topic) => {
    expect(splitTopicUrl(url)).toEqual({ server, topic });
  });

  it('resolves: JSON goes to the server root, the topic in the body', () => {
    expect(
      load({ type: 'ntfy', url: 'https://ntfy.sh/whatsgate-ops', token: 'tk_abcdef0123456789' }).notify
        .channels['push'],
    ).toEqual({
      type: 'ntfy',
      name: 'push',
      server: 'https://ntfy.sh/',
      topic: 'whatsgate-ops',
      token: 'tk_abcdef0123456789',
      timeoutMs: 10_000,
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no topic', { url: 'https://ntfy.sh/' }, 'notify.channels.push.url: expected the server and a topic'],
    ['a topic with a dot', { url: 'https://ntfy.sh/a.b' }, 'expected the server and a topic'],
    ['a query string', { url: 'https://ntfy.sh/t?auth=x' }, 'must not have a query string'],
    [
      'a Bearer-prefixed token',
      { url: 'https://ntfy.sh/t', token: 'Bearer tk_secretvalue' },
      'notify.channels.push.token: an access token has no spaces',
    ],
    [
      'token and token_file',
      { url: 'https://ntfy.sh/t', token: 'tk_secretvalue', token_file: '/x' },
      'set either token or token_file',
    ],
  ])('%s is an error at its key', (_name, over, message) => {
    const text = problems({ type: 'ntfy', ...over });
    expect(text).toContain(message);
    expect(text).not.toContain('tk_secretvalue');
  });
});
