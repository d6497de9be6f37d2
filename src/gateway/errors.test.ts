import { describe, expect, it } from 'vitest';
import { REDACTED } from '../net/redact.js';
import { GatewayError, describeNonJson } from './errors.js';

describe('redaction (net/redact.ts redactSecrets, the one redaction)', () => {
  it('toObservation redacts and omits absent fields', () => {
    const err = new GatewayError('unauthorized', 'HTTP 403 from GET x: bad s3cret', { httpStatus: 403 });
    expect(err.toObservation('s3cret')).toEqual({
      kind: 'probe_error',
      reason: 'unauthorized',
      message: `HTTP 403 from GET x: bad ${REDACTED}`,
      httpStatus: 403,
    });
    expect(Object.keys(new GatewayError('timeout', 't').toObservation('s'))).toEqual([
      'kind',
      'reason',
      'message',
    ]);
  });

  it('toObservation hides the token in every form, however short', () => {
    const token = 'k9';
    const b64 = Buffer.from(token).toString('base64');
    const err = new GatewayError('api_error', `echo ${token} ${encodeURIComponent(token)} ${b64}`);
    expect(err.toObservation(token).message).toBe(`echo ${REDACTED} ${REDACTED} ${REDACTED}`);
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
