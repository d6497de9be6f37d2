import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './http-post.js';
import { channelSecrets, redactSecrets, redactUrl } from './redact.js';

describe('redactUrl', () => {
  it.each([
    ['https://hooks.example.com/wg', 'https://hooks.example.com/wg'],
    ['https://user:pass@hooks.example.com/wg', 'https://hooks.example.com/wg'],
    ['https://hooks.example.com/wg?token=abc#frag', 'https://hooks.example.com/wg?…'],
    ['smtp://mon:pw@mail.example.com:587', 'smtp://mail.example.com:587'],
    ['not a url', 'not a url'],
  ])('%s → %s', (input, output) => {
    expect(redactUrl(input)).toBe(output);
  });
});

describe('redactSecrets', () => {
  it('replaces every occurrence, URL-encoded ones too', () => {
    expect(redactSecrets('a p@ss/w b p%40ss%2Fw c p@ss/w', ['p@ss/w'])).toBe(
      'a [redacted] b [redacted] c [redacted]',
    );
  });

  it('ignores null and very short values', () => {
    expect(redactSecrets('abc abc', [null, 'abc'])).toBe('abc abc');
  });
});

describe('channelSecrets', () => {
  it('collects passwords (also inside the smtp URL), the webhook secret and auth-like headers', () => {
    expect(
      channelSecrets({
        type: 'email',
        smtp: { url: 'smtp://u:p%40ss@h:587', password: 'field-pw' },
      }),
    ).toEqual(['field-pw', 'p%40ss', 'p@ss']);
    expect(
      channelSecrets({ type: 'alertmanager', urls: ['http://a:b1@am:9093', 'http://am2/?t=tok'] }),
    ).toEqual(['b1', 'b1', 'tok']);
    expect(
      channelSecrets({
        type: 'webhook',
        url: 'https://h/x?token=q1&empty=',
        secret: 'whsec_abc',
        headers: { Authorization: 'Bearer t', 'X-Api-Key': 'k1', 'X-Team': 'sales' },
      }),
    ).toEqual(['q1', 'whsec_abc', 'Bearer t', 'k1']);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  it.each<[string | undefined, number | undefined]>([
    [undefined, undefined],
    ['120', 120_000],
    [' 5 ', 5_000],
    ['Thu, 01 Jan 2026 12:01:00 GMT', 60_000],
    ['Thu, 01 Jan 2026 11:00:00 GMT', 0],
    ['soon', undefined],
  ])('%s → %s', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });
});
