// One exchange with the gateway over a pooled connection: the per-call deadline, bounded body
// reads, and the verdicts the HTTP status alone decides (3xx, 401/403, 429, 5xx). Everything that
// goes wrong is thrown as a GatewayError whose message names method, URL and what happened.
// undici is loaded with the first call, so building a client (e.g. in `status`) loads nothing.

import type { Dispatcher, Pool } from 'undici';
import { callDeadline } from '../net/abort.js';
import { BodyTooLarge, bytesReadBefore, readBody } from '../net/body.js';
import { describeNetworkError, isTimeoutError } from '../net/network-error.js';
import { SERVICE_URL } from '../net/redact.js';
import { isRedirect, redirectNotFollowed } from '../net/redirect.js';
import { parseRetryAfter } from '../net/retry-after.js';
import { quote } from '../net/text.js';
import { loadUndici } from '../net/undici.js';
import { GatewayError, describeNonJson } from './errors.js';
import { messageOf, type Reply } from './reply.js';

/** Error answers (401/403/429/5xx) are only read for a message; the rest is discarded. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface TransportOptions {
  readonly origin: string;
  /** The origin as messages show it (no credentials). */
  readonly shownOrigin: string;
  readonly token: string;
  readonly timeoutMs: number;
  readonly connections: number;
  readonly userAgent: string;
  readonly now: () => number;
}

export interface ExchangeOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface Transport {
  exchange(
    method: 'GET' | 'POST',
    path: string,
    payload: string | undefined,
    maxBytes: number,
    opts: ExchangeOptions,
  ): Promise<Reply>;
  /** Closes the sockets once calls in flight have ended. Idempotent. */
  close(): Promise<void>;
}

export function createTransport(options: TransportOptions): Transport {
  const { token, shownOrigin, userAgent, now } = options;
  let pool: Promise<Pool> | undefined;
  let closing: Promise<void> | undefined;

  const poolOf = (): Promise<Pool> =>
    (pool ??= loadUndici().then(
      ({ Pool }) =>
        new Pool(options.origin, {
          connections: options.connections,
          pipelining: 1,
          // undici's own timers are a backstop only (set per call below); the per-call deadline decides.
          connect: { timeout: Math.max(options.timeoutMs, 1) },
        }),
    ));

  async function exchange(
    method: 'GET' | 'POST',
    path: string,
    payload: string | undefined,
    maxBytes: number,
    opts: ExchangeOptions,
  ): Promise<Reply> {
    const where = `${method} ${shownOrigin}${path}`;
    const timeoutMs = opts.timeoutMs ?? options.timeoutMs;
    if (opts.signal?.aborted === true) {
      throw new GatewayError('timeout', `${where}: cancelled before it was sent`);
    }
    if (closing !== undefined) {
      // As undici answers a closed pool; a client closed before its first call has no pool.
      throw new GatewayError('connection', `${where}: client closed (UND_ERR_CLOSED)`);
    }
    const deadline = callDeadline(timeoutMs, opts.signal);
    const signal = deadline.signal;
    const whyStopped = (phase: string): string =>
      deadline.timedOut || !deadline.cancelled
        ? `no complete ${phase} within ${timeoutMs} ms`
        : `cancelled while waiting for the ${phase}`;

    try {
      let res: Dispatcher.ResponseData;
      try {
        const headers: Record<string, string> = {
          'access-token': token,
          accept: 'application/json',
          'user-agent': userAgent,
        };
        if (payload !== undefined) headers['content-type'] = 'application/json';
        res = await (
          await poolOf()
        ).request({
          method,
          path,
          headers,
          body: payload ?? null,
          signal,
          headersTimeout: Math.max(timeoutMs, 1),
          bodyTimeout: Math.max(timeoutMs, 1),
        });
      } catch (err) {
        if (signal.aborted || isTimeoutError(err)) {
          throw new GatewayError('timeout', `${where}: ${whyStopped('response')}`);
        }
        throw new GatewayError('connection', `${where}: ${describeNetworkError(err)}`, { cause: err });
      }

      const statusCode = res.statusCode;
      const label = `HTTP ${statusCode} from ${where}`;
      const contentType = headerValue(res.headers['content-type']);
      const decidedByStatus =
        statusCode === 401 || statusCode === 403 || statusCode === 429 || statusCode >= 500;

      let text: string;
      if (decidedByStatus) {
        // The status alone classifies these; the body only lends a message, so any trouble
        // reading it (too big, truncated, hanging) must not change the verdict.
        text = await readBody(res.body, MAX_ERROR_BODY_BYTES, 'prefix').catch(() => '');
        throw classifyByStatus(statusCode, label, res.headers, text, contentType, now());
      }

      if (isRedirect(statusCode)) {
        // Never followed (the token header would go along); its body, if any, says nothing.
        await res.body.dump().catch(() => undefined);
        const location = redirectNotFollowed(
          headerValue(res.headers['location']),
          `${options.origin}${path}`,
          SERVICE_URL,
        );
        throw new GatewayError('invalid_response', `${label}: ${location}`, { httpStatus: statusCode });
      }

      const declared = Number(headerValue(res.headers['content-length']) ?? Number.NaN);
      if (Number.isFinite(declared) && declared > maxBytes) {
        res.body.destroy();
        throw new GatewayError(
          'invalid_response',
          `${label}: body of ${declared} bytes exceeds the ${maxBytes}-byte limit`,
          { httpStatus: statusCode },
        );
      }
      try {
        text = await readBody(res.body, maxBytes, 'whole');
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          throw new GatewayError('invalid_response', `${label}: body exceeds the ${maxBytes}-byte limit`, {
            httpStatus: statusCode,
          });
        }
        if (signal.aborted || isTimeoutError(err)) {
          throw new GatewayError('timeout', `${label}: ${whyStopped('body')}`, { httpStatus: statusCode });
        }
        const promised = Number.isFinite(declared) ? ` of the ${declared} promised` : '';
        throw new GatewayError(
          'invalid_response',
          `${label}: body truncated (connection closed after ${bytesReadBefore(err)} bytes${promised})`,
          { httpStatus: statusCode, cause: err },
        );
      }
      return { statusCode, contentType, text, label };
    } finally {
      deadline.dispose();
    }
  }

  return {
    exchange,
    close() {
      closing ??= (pool === undefined ? Promise.resolve() : pool.then((p) => p.close())).catch(
        () => undefined,
      );
      return closing;
    },
  };
}

/** 401/403 unauthorized, 429 rate_limited (with Retry-After), 5xx http_5xx. */
function classifyByStatus(
  statusCode: number,
  label: string,
  headers: Dispatcher.ResponseData['headers'],
  text: string,
  contentType: string | undefined,
  nowMs: number,
): GatewayError {
  const gatewayMessage = messageOf(text);
  if (statusCode === 429) {
    const retryAfterMs = parseRetryAfter(headerValue(headers['retry-after']), nowMs);
    const wait =
      retryAfterMs === undefined
        ? 'no usable Retry-After'
        : `retry after ${Math.ceil(retryAfterMs / 1000)} s`;
    return new GatewayError('rate_limited', `${label}: rate limited, ${wait}`, {
      httpStatus: statusCode,
      retryAfterMs,
    });
  }
  if (statusCode === 401 || statusCode === 403) {
    const detail = gatewayMessage === undefined ? 'access denied' : quote(gatewayMessage);
    return new GatewayError('unauthorized', `${label}: ${detail}`, { httpStatus: statusCode });
  }
  const detail =
    gatewayMessage !== undefined
      ? quote(gatewayMessage)
      : text.trim() === ''
        ? ''
        : describeNonJson(text, contentType);
  return new GatewayError('http_5xx', detail === '' ? label : `${label}: ${detail}`, {
    httpStatus: statusCode,
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
