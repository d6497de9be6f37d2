import { describe, expect, it } from 'vitest';
import { redactSecrets, redactUrl, urlSecrets } from './redact.js';

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

  it('takes URL objects too (the gateway client), dropping user info', () => {
    expect(redactUrl(new URL('https://user:pw@acme.whatsgate.net/api'))).toBe(
      'https://acme.whatsgate.net/api',
    );
    expect(redactUrl(new URL('http://127.0.0.1:8080/api'))).toBe('http://127.0.0.1:8080/api');
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

describe('urlSecrets', () => {
  it('the password (as written and decoded) and every non-empty query value', () => {
    expect(urlSecrets('smtp://u:p%40ss@h:587')).toEqual(['p%40ss', 'p@ss']);
    expect(urlSecrets('https://h/x?token=q1&empty=')).toEqual(['q1']);
    expect(urlSecrets('not a url')).toEqual([]);
  });
});
