// The WhatsGate device API client (SPEC §2, §3). Every call resolves — a failed check is an
// observation (`probe_error`), not an exception — because the poller must count and export
// failures, never crash on them. The account's token goes into one header and nowhere else.

import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { statusFromGatewayText, type Observation, type ProbeErrorObservation } from '../monitor/model.js';
import { VERSION } from '../version.js';
import {
  GatewayError,
  describeNonJson,
  parseRetryAfter,
  probeError,
  quote,
  redactSecret,
  redactUrl,
} from './errors.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** A QR PNG as a data URL is ~10 kB; 4 MiB leaves room for a gateway that renders it large. */
export const DEFAULT_MAX_CONNECT_BODY_BYTES = 4 * 1024 * 1024;
export const DEFAULT_CONNECTIONS = 4;
/** Error answers (401/403/429/5xx) are only read for a message; the rest is discarded. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Gateway-supplied texts returned verbatim (api_error, unknown status) are cut beyond this. */
const MAX_VERBATIM_CHARS = 1000;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_DATA_URL_PREFIX = 'data:image/png;base64,';

export interface GatewayClientOptions {
  /** e.g. `https://acme.whatsgate.net/api`; a path prefix is kept, a query string is ignored. */
  readonly baseUrl: string;
  readonly token: string;
  /** Whole-call deadline: connect, response headers and body. Overridable per call. */
  readonly timeoutMs: number;
  /** Sockets kept to the gateway (the account's `concurrency`). Default 4. */
  readonly connections?: number;
  /** Largest body accepted from `/status` and `/delete`. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Largest body accepted from `/connect` (it carries a PNG). Default 4 MiB. */
  readonly maxConnectBodyBytes?: number;
  /** Default `whatsgate-monitor/{version}`. */
  readonly userAgent?: string;
  /** Clock for `Retry-After` HTTP-dates. Default `Date.now`. */
  readonly now?: () => number;
}

export interface CallOptions {
  /** Aborting it ends the call early; the result is then a `timeout` probe error. */
  readonly signal?: AbortSignal;
  /** Overrides the client's `timeoutMs` for this call (a device's own `timeout`). */
  readonly timeoutMs?: number;
}

export interface QrCode {
  readonly kind: 'qr';
  /** `data:image/png;base64,…` as the gateway sent it. */
  readonly dataUrl: string;
  /** The decoded image; its PNG signature has been checked. */
  readonly png: Buffer;
}

export type ConnectResult =
  | QrCode
  | { readonly kind: 'already_connected'; readonly message: string }
  | { readonly kind: 'not_found'; readonly message: string }
  | ProbeErrorObservation;

export type DeleteResult =
  | { readonly kind: 'deleted'; readonly message: string }
  | { readonly kind: 'refused'; readonly message: string }
  | ProbeErrorObservation;

export interface GatewayClient {
  /** `GET /status/{device}`. Never rejects. */
  status(device: string, opts?: CallOptions): Promise<Observation>;
  /** `GET /connect/{device}`: a fresh QR code to link the device. Never rejects. */
  connect(device: string, opts?: CallOptions): Promise<ConnectResult>;
  /** `POST /delete`. Never rejects. */
  delete(device: string, opts?: CallOptions): Promise<DeleteResult>;
  /** Closes the sockets once calls in flight have ended. Idempotent. */
  close(): Promise<void>;
}

/** What came back from one exchange whose HTTP status did not already decide the outcome. */
interface Reply {
  readonly statusCode: number;
  readonly contentType: string | undefined;
  readonly text: string;
  /** `HTTP 200 from GET http://…/status/123`, for messages. */
  readonly label: string;
}

type JsonObject = Readonly<Record<string, unknown>>;

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const token = options.token;
  const base = parseBaseUrl(options.baseUrl, token);
  const prefix = base.pathname.replace(/\/+$/, '');
  const shownOrigin = redactUrl(new URL(base.origin)).replace(/\/$/, '');
  const defaultTimeoutMs = options.timeoutMs;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxConnectBodyBytes = options.maxConnectBodyBytes ?? DEFAULT_MAX_CONNECT_BODY_BYTES;
  const userAgent = options.userAgent ?? `whatsgate-monitor/${VERSION}`;
  const now = options.now ?? Date.now;

  const pool = new Pool(base.origin, {
    connections: options.connections ?? DEFAULT_CONNECTIONS,
    pipelining: 1,
    // undici's own timers are a backstop only (set per call below); the per-call deadline decides.
    connect: { timeout: Math.max(defaultTimeoutMs, 1) },
  });
  let closing: Promise<void> | undefined;

  async function exchange(
    method: 'GET' | 'POST',
    path: string,
    payload: string | undefined,
    maxBytes: number,
    opts: CallOptions,
  ): Promise<Reply> {
    const where = `${method} ${shownOrigin}${path}`;
    const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
    if (opts.signal?.aborted === true) {
      throw new GatewayError('timeout', `${where}: cancelled before it was sent`);
    }
    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort();
    }, timeoutMs);
    // Linked by hand: AbortSignal.any() on Node 20 keeps every derived signal alive as long as the
    // caller's long-lived signal (nodejs/node#55351), a leak of one listener per call.
    const callerSignal = opts.signal;
    const onCallerAbort = (): void => deadline.abort();
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    const signal = deadline.signal;
    const whyStopped = (phase: string): string =>
      timedOut || opts.signal?.aborted !== true
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
        res = await pool.request({
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
        text = await readBody(res.body, MAX_ERROR_BODY_BYTES, true).catch(() => '');
        throw classifyByStatus(statusCode, label, res.headers, text, contentType);
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
        text = await readBody(res.body, maxBytes, false);
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
          `${label}: body truncated (connection closed after ${bodyBytesRead(err)} bytes${promised})`,
          { httpStatus: statusCode, cause: err },
        );
      }
      return { statusCode, contentType, text, label };
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  function classifyByStatus(
    statusCode: number,
    label: string,
    headers: Dispatcher.ResponseData['headers'],
    text: string,
    contentType: string | undefined,
  ): GatewayError {
    const gatewayMessage = messageOf(text);
    if (statusCode === 429) {
      const retryAfterMs = parseRetryAfter(headerValue(headers['retry-after']), now());
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

  /** Turns any failure into an observation whose message cannot carry the token. */
  function failure(err: unknown, fallbackWhere: string): ProbeErrorObservation {
    if (err instanceof GatewayError) return err.toObservation(token);
    // Not expected: every path above throws GatewayError. Still never reject, never leak.
    return probeError('connection', redactSecret(`${fallbackWhere}: ${describeNetworkError(err)}`, token));
  }

  function pathFor(endpoint: string, device?: string): string {
    return device === undefined
      ? `${prefix}/${endpoint}`
      : `${prefix}/${endpoint}/${encodeURIComponent(device)}`;
  }

  return {
    async status(device, opts = {}) {
      const path = pathFor('status', device);
      try {
        const reply = await exchange('GET', path, undefined, maxBodyBytes, opts);
        const body = jsonObject(reply);
        if (body['success'] === true && isOk(reply)) {
          const message = body['message'];
          if (typeof message !== 'string') {
            throw invalid(reply, 'success:true without a string "message"');
          }
          const status = statusFromGatewayText(message);
          const raw = status === 'unknown' ? verbatim(redactSecret(message, token)) : message;
          return { kind: 'status', status, raw };
        }
        throw apiFailure(reply, body);
      } catch (err) {
        return failure(err, `GET ${shownOrigin}${path}`);
      }
    },

    async connect(device, opts = {}) {
      const path = pathFor('connect', device);
      try {
        const reply = await exchange('GET', path, undefined, maxConnectBodyBytes, opts);
        const body = jsonObject(reply);
        if (body['success'] === true && isOk(reply)) return decodeQr(reply, body['qrCode']);
        if (body['success'] === false && typeof body['message'] === 'string') {
          const message = verbatim(redactSecret(body['message'], token));
          if (/already connected/i.test(message)) return { kind: 'already_connected', message };
          if (/not found/i.test(message)) return { kind: 'not_found', message };
        }
        throw apiFailure(reply, body);
      } catch (err) {
        return failure(err, `GET ${shownOrigin}${path}`);
      }
    },

    async delete(device, opts = {}) {
      const path = pathFor('delete');
      try {
        const payload = JSON.stringify({ sender_device: device });
        const reply = await exchange('POST', path, payload, maxBodyBytes, opts);
        const body = jsonObject(reply);
        const message =
          typeof body['message'] === 'string' ? verbatim(redactSecret(body['message'], token)) : undefined;
        if (body['success'] === true && isOk(reply))
          return { kind: 'deleted', message: message ?? 'deleted' };
        if (body['success'] === false) return { kind: 'refused', message: message ?? reply.label };
        // Laravel's validation answer (`{"message": …, "errors": {…}}`, 422) has no `success`.
        if (reply.statusCode === 422 && message !== undefined) return { kind: 'refused', message };
        throw apiFailure(reply, body);
      } catch (err) {
        return failure(err, `POST ${shownOrigin}${path}`);
      }
    },

    close() {
      closing ??= pool.close().catch(() => undefined);
      return closing;
    },
  };
}

function parseBaseUrl(baseUrl: string, token: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(redactSecret(`invalid gateway base URL: ${quote(baseUrl, 200)}`, token));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(redactSecret(`gateway base URL must be http or https: ${redactUrl(url)}`, token));
  }
  return url;
}

function isOk(reply: Reply): boolean {
  return reply.statusCode >= 200 && reply.statusCode < 300;
}

function invalid(reply: Reply, detail: string): GatewayError {
  return new GatewayError('invalid_response', `${reply.label}: ${detail}`, { httpStatus: reply.statusCode });
}

function jsonObject(reply: Reply): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(reply.text.replace(/^\uFEFF/, ''));
  } catch {
    throw invalid(reply, describeNonJson(reply.text, reply.contentType));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(reply, `expected a JSON object, got ${quote(reply.text, 80)}`);
  }
  return value as JsonObject;
}

/** `success:false` is the gateway speaking: its message is kept verbatim. Anything else is off-contract. */
function apiFailure(reply: Reply, body: JsonObject): GatewayError {
  if (body['success'] === false) {
    const message = body['message'];
    const text =
      typeof message === 'string' && message.trim() !== ''
        ? verbatim(message)
        : `${reply.label}: success:false without a message`;
    return new GatewayError('api_error', text, { httpStatus: reply.statusCode });
  }
  if (body['success'] === true) return invalid(reply, 'success:true on a non-2xx answer');
  return invalid(reply, `unexpected JSON without a boolean "success": ${quote(reply.text, 80)}`);
}

function decodeQr(reply: Reply, qrCode: unknown): QrCode {
  if (typeof qrCode !== 'string') throw invalid(reply, 'success:true without a string "qrCode"');
  if (!qrCode.startsWith(PNG_DATA_URL_PREFIX)) {
    throw invalid(reply, `qrCode is not a ${PNG_DATA_URL_PREFIX}… data URL: ${quote(qrCode, 40)}`);
  }
  const b64 = qrCode.slice(PNG_DATA_URL_PREFIX.length).replace(/\s+/g, '');
  if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw invalid(reply, 'qrCode is not valid base64');
  }
  const png = Buffer.from(b64, 'base64');
  if (png.length <= PNG_SIGNATURE.length || !png.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) {
    throw invalid(reply, 'qrCode does not decode to a PNG image');
  }
  return { kind: 'qr', dataUrl: qrCode, png };
}

/** The gateway's own `message`, when the body is a JSON object carrying one. */
function messageOf(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const message = (value as JsonObject)['message'];
      if (typeof message === 'string' && message.trim() !== '') return message;
    }
  } catch {
    // not JSON: the caller describes the body instead
  }
  return undefined;
}

function verbatim(text: string): string {
  return text.length <= MAX_VERBATIM_CHARS ? text : `${text.slice(0, MAX_VERBATIM_CHARS)}…`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
}

/** How many bytes a failed read got, attached to the error it threw. */
const BYTES_READ = Symbol('bytesRead');

function bodyBytesRead(err: unknown): number {
  const n = (err as { [BYTES_READ]?: unknown } | null)?.[BYTES_READ];
  return typeof n === 'number' ? n : 0;
}

/**
 * Reads at most `limit` bytes and stops the transfer past it — a 20 MB answer is refused
 * after the first megabyte, never buffered whole. With `keepPrefix` the first `limit` bytes
 * are returned instead of an error.
 */
async function readBody(
  body: Dispatcher.ResponseData['body'],
  limit: number,
  keepPrefix: boolean,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (size + chunk.length > limit) {
        if (!keepPrefix) throw new BodyTooLarge();
        chunks.push(chunk.subarray(0, limit - size));
        size = limit;
        break; // leaving the loop destroys the stream, which drops the connection
      }
      chunks.push(chunk);
      size += chunk.length;
    }
  } catch (err) {
    if (err !== null && typeof err === 'object') Object.assign(err, { [BYTES_READ]: size });
    throw err;
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'connection closed while sending',
  ENOTFOUND: 'host not found (DNS)',
  EAI_AGAIN: 'DNS lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timed out',
  UND_ERR_SOCKET: 'connection closed before a response',
  UND_ERR_CLOSED: 'client closed',
  UND_ERR_DESTROYED: 'client destroyed',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'body stalled',
};

function errorCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = err;
  // The useful code may sit on a cause or, with happy eyeballs, inside an AggregateError.
  while (current !== null && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const { code, cause, errors } = current as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string' && code !== 'UND_ERR') return code;
    current = cause ?? (Array.isArray(errors) ? (errors[0] as unknown) : undefined);
  }
  return undefined;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

function isTimeoutError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && TIMEOUT_CODES.has(code);
}

function describeNetworkError(err: unknown): string {
  const code = errorCode(err);
  if (code !== undefined) {
    const known = NETWORK_ERRORS[code];
    if (known !== undefined) return `${known} (${code})`;
    if (code.startsWith('ERR_TLS') || code.includes('CERT')) return `TLS failure (${code})`;
    return `network error (${code})`;
  }
  const name = err instanceof Error ? err.name : typeof err;
  const message = err instanceof Error ? err.message : String(err);
  return `network error (${name}: ${quote(message, 120)})`;
}
