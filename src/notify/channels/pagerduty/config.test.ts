import { describe, expect, it } from 'vitest';
import { channelProblems, loadChannel } from '../../../config/test-support/channel-config.js';

const KEY = 'R0123456789abcdefghijklmnopqrstu';

const load = (channel: Record<string, unknown>) => loadChannel('pd', channel);
const problems = (channel: Record<string, unknown>) => channelProblems('pd', channel);

describe('pagerduty config', () => {
  it('resolves with the US endpoint by default', () => {
    expect(KEY).toHaveLength(32);
    expect(load({ type: 'pagerduty', routing_key: KEY }).notify.channels['pd']).toEqual({
      type: 'pagerduty',
      name: 'pd',
      routingKey: KEY,
      url: 'https://events.pagerduty.com/v2/enqueue',
      timeoutMs: 10_000,
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no key', {}, 'notify.channels.pd.routing_key: required (or routing_key_file)'],
    ['a short key', { routing_key: 'short-secret-key' }, 'notify.channels.pd.routing_key: not a routing key'],
    ['a key with a space', { routing_key: `${KEY.slice(0, 31)} ` }, 'not a routing key'],
    ['a non-http url', { routing_key: KEY, url: 'events.pagerduty.com' }, 'notify.channels.pd.url'],
  ])('%s is an error at its key, never quoting the key', (_name, over, message) => {
    const text = problems({ type: 'pagerduty', ...over });
    expect(text).toContain(message);
    expect(text).not.toContain('short-secret-key');
    expect(text).not.toContain(KEY.slice(0, 31));
  });
});
