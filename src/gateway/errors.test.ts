import { describe, expect, it } from 'vitest';
import { GatewayError, describeNonJson, parseRetryAfter, quote, redactSecret, redactUrl } from './errors.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it.each([
    ['30', 30_000],
    [' 0 ', 0],
    ['Sun, 01 Mar 2026 12:00:45 GMT', 45_000],
    ['Sun, 01 Mar 2026 11:00:00 GMT', 0],
    [undefined, undefined],
    ['', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
  ])('%j → %j ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe('redaction', () => {
  it('replaces the secret and its URL-encoded form everywhere', () => {
    expect(redactSecret('a tok/en b tok%2Fen c tok/en', 'tok/en')).toBe(
      'a [REDACTED] b [REDACTED] c [REDACTED]',
    );
    expect(redactSecret('nothing here', '')).toBe('nothing here');
  });

  it('drops user info from URLs', () => {
    expect(redactUrl(new URL('https://user:pw@acme.whatsgate.net/api'))).toBe(
      'https://acme.whatsgate.net/api',
    );
    expect(redactUrl(new URL('http://127.0.0.1:8080/api'))).toBe('http://127.0.0.1:8080/api');
  });

  it('toObservation redacts and omits absent fields', () => {
    const err = new GatewayError('unauthorized', 'HTTP 403 from GET x: bad s3cret', { httpStatus: 403 });
    expect(err.toObservation('s3cret')).toEqual({
      kind: 'probe_error',
      reason: 'unauthorized',
      message: 'HTTP 403 from GET x: bad [REDACTED]',
      httpStatus: 403,
    });
    expect(Object.keys(new GatewayError('timeout', 't').toObservation('s'))).toEqual([
      'kind',
      'reason',
      'message',
    ]);
  });
});

describe('message helpers', () => {
  it('quote flattens whitespace and cuts long text', () => {
    expect(quote('a\n\n b\t c')).toBe('a b c');
    expect(quote('x'.repeat(10), 4)).toBe('xxxx…');
  });

  it.each([
    [
      '<!DOCTYPE html><html><head><title> 503 Service\nUnavailable </title>',
      undefined,
      'an HTML page ("503 Service Unavailable"), likely from a proxy',
    ],
    ['<p>down</p>', 'text/html', 'an HTML page, likely from a proxy'],
    ['<body><h1>Bad <b>Gateway</b></h1>', undefined, 'an HTML page ("Bad Gateway"), likely from a proxy'],
    ['  ', 'application/json', 'an empty body'],
    ['ok', 'text/plain', 'not JSON: "ok"'],
  ])('describeNonJson(%j)', (text, contentType, expected) => {
    expect(describeNonJson(text, contentType)).toBe(expected);
  });
});
