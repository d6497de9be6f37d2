// One exchange with the gateway over a pooled connection: the per-call deadline, bounded body
// reads, and the verdicts the HTTP status alone decides (3xx, 401/403, 429, 5xx). Everything that
// goes wrong is thrown as a GatewayError whose message names method, URL and what happened.
// undici is loaded with the first call, so building a client (e.g. in `status`) loads nothing.
//
// Deadlines: one sweep for the calls in flight of every transport (net/deadline-sweep.ts), not a
// controller, a timer and a listener per call. The answer is read by a dispatch handler
// (exchange.ts), not through request()'s response stream. Sockets: one pool per origin, shared by
// every transport of the process (net/origin-pools.ts), not a pool per account.

import { DeadlineSweep } from '../net/deadline-sweep.js';
import { OriginPools, type PoolLease } from '../net/origin-pools.js';
import { parseRetryAfter } from '../net/retry-after.js';
import { quote } from '../net/text.js';
import { GatewayError, describeNonJson } from './errors.js';
import { ExchangeHandler, headerValue } from './exchange.js';
import { messageOf, type Reply } from './reply.js';

export interface TransportOptions {
  readonly origin: string;
  /** The origin as messages show it (no credentials). */
  readonly shownOrigin: string;
  readonly token: string;
  readonly timeoutMs: number;
  readonly userAgent: string;
  readonly now: () => number;
  /** The deadlines of the calls in flight; default one shared by every transport of the process. */
  readonly deadlines?: DeadlineSweep;
  /** Where the sockets come from; default pools shared by every transport of the process. */
  readonly pools?: OriginPools;
}

// Shared: one timer sweeps the deadlines of every account's calls, and one pool per origin holds
// every account's sockets.
let sharedSweep: DeadlineSweep | undefined;
let sharedPools: OriginPools | undefined;

export interface ExchangeOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface Transport {
  exchange(
    this: void,
    method: 'GET' | 'POST',
    path: string,
    payload: string | undefined,
    maxBytes: number,
    opts: ExchangeOptions,
  ): Promise<Reply>;
  /**
   * Once this transport's calls in flight have ended, gives its pool back: the sockets close
   * when no other transport to the origin is left. Idempotent.
   */
  close(): Promise<void>;
}

export function createTransport(options: TransportOptions): Transport {
  const { token, shownOrigin, userAgent, now } = options;
  let lease: PoolLease | undefined;
  let closing: Promise<void> | undefined;
  /** Calls started and not yet ended, and who waits for there to be none (`close`). */
  let inFlight = 0;
  let whenIdle: (() => void) | undefined;
  const deadlines = options.deadlines ?? (sharedSweep ??= new DeadlineSweep());
  const pools = options.pools ?? (sharedPools ??= new OriginPools());
  const baseHeaders: Record<string, string> = {
    'access-token': token,
    accept: 'application/json',
    'user-agent': userAgent,
  };
  const jsonHeaders: Record<string, string> = { ...baseHeaders, 'content-type': 'application/json' };

  // Taken with the first call, so building a client (e.g. in `status`) holds no pool.
  const leased = (): PoolLease => (lease ??= pools.lease(options.origin, Math.max(options.timeoutMs, 1)));

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
    const call = deadlines.start(timeoutMs, opts.signal);
    inFlight += 1;
    try {
      const dispatcher = await leased().pool();
      return await new Promise<Reply>((resolve, reject) => {
        const handler = new ExchangeHandler(
          {
            where,
            url: `${options.origin}${path}`,
            maxBytes,
            timeoutMs,
            call,
            classify: (statusCode, label, headers, text) =>
              classifyByStatus(statusCode, label, headers, text, headerValue(headers['content-type']), now()),
          },
          resolve,
          reject,
        );
        dispatcher.dispatch(
          {
            method,
            path,
            // Shared, never mutated (undici reads them): no object per call.
            headers: payload === undefined ? baseHeaders : jsonHeaders,
            body: payload ?? null,
            // undici's own timers are a backstop only; the per-call deadline decides.
            headersTimeout: Math.max(timeoutMs, 1),
            bodyTimeout: Math.max(timeoutMs, 1),
          },
          handler,
        );
      });
    } finally {
      deadlines.end(call);
      inFlight -= 1;
      if (inFlight === 0) whenIdle?.();
    }
  }

  async function release(): Promise<void> {
    if (inFlight > 0) await new Promise<void>((resolve) => (whenIdle = resolve));
    await lease?.release();
  }

  return {
    exchange,
    close() {
      closing ??= release().catch(() => undefined);
      return closing;
    },
  };
}

/** 401/403 unauthorized, 429 rate_limited (with Retry-After), 5xx http_5xx. */
function classifyByStatus(
  statusCode: number,
  label: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
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
