// One JSON POST, classified the Alertmanager way: 2xx sent; 408, 429, 5xx, network errors and
// timeouts worth retrying (with the receiver's Retry-After); any other answer (4xx, a redirect)
// permanent. Every channel that speaks HTTP sends through this. What it says about the URL
// follows the channel's UrlShape (net/redact.ts: host only by default), and everything it
// says is cleared of the channel's secrets and of every hidden part of the URL.

import type { Dispatcher } from 'undici';
import { callDeadline } from './abort.js';
import { readSnippet } from './body.js';
import { describeNetworkError } from './network-error.js';
import { CAPABILITY_URL, redactSecrets, redactUrl, urlSecrets, type UrlShape } from './redact.js';
import { isRedirect, redirectNotFollowed } from './redirect.js';
import { parseRetryAfter } from './retry-after.js';
import { loadUndici } from './undici.js';

/** The same shape as a notifier's SendResult: the caller passes it on as is. */
export type PostResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly retryable: boolean;
      /** One line, secret-free. */
      readonly error: string;
      readonly retryAfterMs?: number;
    };

export interface PostOptions {
  readonly url: string;
  /** How much of `url` messages may show; CAPABILITY_URL (host only) when absent. */
  readonly urlShape?: UrlShape;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Redacted from anything the result says (e.g. a body echoing a header). */
  readonly secrets: readonly (string | null)[];
  /** For `Retry-After` given as an HTTP date. */
  readonly now: number;
  readonly dispatcher?: Dispatcher;
  /**
   * The pause a 429/5xx body asks for, when `Retry-After` is absent: some providers say it in
   * JSON (Discord `retry_after`, Telegram `parameters.retry_after`). Milliseconds, or undefined.
   */
  readonly retryAfterFromBody?: (body: string) => number | undefined;
}

/** Enough of an error body to say what the receiver complained about. */
const ERROR_BODY_BYTES = 512;

const OK: PostResult = { ok: true };

function retryable(error: string, retryAfterMs?: number): PostResult {
  return retryAfterMs === undefined
    ? { ok: false, retryable: true, error }
    : { ok: false, retryable: true, error, retryAfterMs };
}

function permanent(error: string): PostResult {
  return { ok: false, retryable: false, error };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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

/** One attempt. Never rejects: every failure is a result whose text carries no secret. */
export async function postJson(options: PostOptions): Promise<PostResult> {
  const where = redactUrl(options.url, options.urlShape);
  let target: ReturnType<typeof basicAuthFromUrl>;
  try {
    target = basicAuthFromUrl(options.url, options.headers);
  } catch {
    return permanent(`POST ${where}: not a valid URL`);
  }
  // The URL's own hidden parts too: a receiver's error page often repeats the request line.
  const hidden = [...options.secrets, ...urlSecrets(options.url, options.urlShape), target.credential];
  const clean = (text: string): string => redactSecrets(text, hidden);
  const { request } = await loadUndici();
  const deadline = callDeadline(options.timeoutMs, options.signal);
  try {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(target.url, {
        method: 'POST',
        body: options.body,
        headers: target.headers,
        signal: deadline.signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
      });
    } catch (err) {
      if (deadline.cancelled) return retryable(`POST ${where}: aborted (the monitor is stopping)`);
      if (deadline.timedOut)
        return retryable(`POST ${where}: no answer within ${options.timeoutMs / 1000} s`);
      return retryable(clean(`POST ${where}: ${describeNetworkError(err)}`));
    }
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      // Drain so the connection can be reused; the answer itself does not matter.
      await res.body.dump().catch(() => undefined);
      return OK;
    }
    const text = (await readSnippet(res.body, ERROR_BODY_BYTES)).replace(/\s+/g, ' ').trim();
    const snippet = text === '' ? '' : `: ${text.length >= ERROR_BODY_BYTES ? `${text}…` : text}`;
    const message = clean(`HTTP ${status} from ${where}${snippet}`);
    if (isRedirect(status)) {
      const location = header(res.headers['location']);
      return permanent(
        clean(
          `HTTP ${status} from ${where}: ${redirectNotFollowed(location, target.url, options.urlShape ?? CAPABILITY_URL)} — configure the final URL`,
        ),
      );
    }
    if (isStatusRetryable(status)) {
      const asked =
        parseRetryAfter(header(res.headers['retry-after']), options.now) ??
        options.retryAfterFromBody?.(text);
      return retryable(message, asked);
    }
    return permanent(message);
  } finally {
    deadline.dispose();
  }
}
