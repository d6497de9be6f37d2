import { describe, expect, it } from 'vitest';
import { describeNetworkError, isTimeoutError } from './network-error.js';

const coded = (code: string): Error => Object.assign(new Error('x'), { code });

describe('describeNetworkError', () => {
  it.each([
    [coded('ECONNREFUSED'), 'connection refused (ECONNREFUSED)'],
    [new Error('fetch failed', { cause: coded('ENOTFOUND') }), 'host not found (DNS)'],
    [new AggregateError([coded('ECONNREFUSED')]), 'connection refused (ECONNREFUSED)'],
    [coded('CERT_HAS_EXPIRED'), 'TLS certificate expired (CERT_HAS_EXPIRED)'],
    [coded('ERR_TLS_HANDSHAKE_WEIRD'), 'TLS failure (ERR_TLS_HANDSHAKE_WEIRD)'],
    [coded('EWHATEVER'), 'network error (EWHATEVER)'],
    [new TypeError('bad\nthing'), 'network error (TypeError: bad thing)'],
  ])('%s → %s', (err, text) => {
    expect(describeNetworkError(err)).toContain(text);
  });

  it('knows undici timeouts', () => {
    expect(isTimeoutError(coded('UND_ERR_HEADERS_TIMEOUT'))).toBe(true);
    expect(isTimeoutError(coded('ECONNRESET'))).toBe(false);
  });
});
