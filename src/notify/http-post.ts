// One HTTP POST, classified the Alertmanager way: 2xx sent; 408, 429, 5xx, network errors and
// timeouts worth retrying; any other answer (4xx, a redirect) permanent.

import { request, type Dispatcher } from 'undici';
import { retryable, permanent, SENT, type SendResult } from './notifier.js';
import { redactSecrets, redactUrl } from './redact.js';

export interface PostOptions {
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Redacted from anything the result says (e.g. a body echoing a header). */
  readonly secrets: readonly (string | null)[];
  /** For `Retry-After` given as an HTTP date. */
  readonly now: number;
  readonly dispatcher?: Dispatcher;
}

/** Enough of an error body to say what the receiver complained about. */
const ERROR_BODY_BYTES = 512;

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'connection closed while sending',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no response in time',
  UND_ERR_BODY_TIMEOUT: 'response body stalled',
  UND_ERR_SOCKET: 'connection closed before a response',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed TLS certificate in chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host',
};

function describeNetworkError(err: unknown): string {
  let e: unknown = err;
  // undici wraps the socket error; the code that says what happened is further down.
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERRORS[code] !== undefined) return NETWORK_ERRORS[code];
    e = e.cause;
  }
  return err instanceof Error ? err.message : String(err);
}

/** `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3), as milliseconds from `now`. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function readSome(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      chunks.push(buf);
      size += buf.length;
      if (size >= limit) break; // leaving the loop destroys the stream
    }
  } catch {
    // what arrived is enough for a message
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

export function isStatusRetryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Credentials in the URL (`http://user:pass@alertmanager:9093`, the Prometheus convention)
 * become Basic auth — undici would silently drop them — unless an Authorization header is set.
 */
export function basicAuthFromUrl(
  url: string,
  headers: Readonly<Record<string, string>>,
): { url: string; headers: Record<string, string>; credential: string | null } {
  const parsed = new URL(url);
  if (parsed.username === '' && parsed.password === '')
    return { url, headers: { ...headers }, credential: null };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  if (Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) {
    return { url: parsed.href, headers: { ...headers }, credential: null };
  }
  const credential = Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
  return { url: parsed.href, headers: { ...headers, Authorization: `Basic ${credential}` }, credential };
}

export async function postJson(options: PostOptions): Promise<SendResult> {
  const where = redactUrl(options.url);
  let target: ReturnType<typeof basicAuthFromUrl>;
  try {
    target = basicAuthFromUrl(options.url, options.headers);
  } catch {
    return permanent(`POST ${where}: not a valid URL`);
  }
  const clean = (text: string): string => redactSecrets(text, [...options.secrets, target.credential]);
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([options.signal, timeout]);
  let res: Dispatcher.ResponseData;
  try {
    res = await request(target.url, {
      method: 'POST',
      body: options.body,
      headers: target.headers,
      signal,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    });
  } catch (err) {
    if (options.signal.aborted) return retryable(`POST ${where}: aborted (the monitor is stopping)`);
    if (timeout.aborted) return retryable(`POST ${where}: no answer within ${options.timeoutMs / 1000} s`);
    return retryable(clean(`POST ${where}: ${describeNetworkError(err)}`));
  }
  const status = res.statusCode;
  if (status >= 200 && status < 300) {
    // Drain so the connection can be reused; the answer itself does not matter.
    await res.body.dump().catch(() => undefined);
    return SENT;
  }
  const text = (await readSome(res.body, ERROR_BODY_BYTES)).replace(/\s+/g, ' ').trim();
  const snippet = text === '' ? '' : `: ${text.length >= ERROR_BODY_BYTES ? `${text}…` : text}`;
  const message = clean(`HTTP ${status} from ${where}${snippet}`);
  if (status >= 300 && status < 400) {
    const location = header(res.headers['location']);
    return permanent(
      clean(
        `HTTP ${status} from ${where}: redirected${location === undefined ? '' : ` to ${redactUrl(location)}`} — configure the final URL`,
      ),
    );
  }
  if (isStatusRetryable(status)) {
    return retryable(message, parseRetryAfter(header(res.headers['retry-after']), options.now));
  }
  return permanent(message);
}
