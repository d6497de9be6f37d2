import { describe, expect, it } from 'vitest';
import { GatewayError, describeNonJson, redactSecret } from './errors.js';

describe('redaction', () => {
  it('replaces the secret and its URL-encoded form everywhere', () => {
    expect(redactSecret('a tok/en b tok%2Fen c tok/en', 'tok/en')).toBe(
      'a [REDACTED] b [REDACTED] c [REDACTED]',
    );
    expect(redactSecret('nothing here', '')).toBe('nothing here');
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
