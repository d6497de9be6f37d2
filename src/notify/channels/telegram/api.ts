// One Bot API call (`POST {api_url}/bot<token>/<method>`), classified like net/post-json.ts —
// 2xx sent; 408, 429, 5xx, network errors and timeouts retryable; other 4xx and redirects
// permanent — plus what the Bot API says in its error body:
// `{ok:false, error_code, description, parameters:{retry_after, migrate_to_chat_id}}`.
//
// The bot token sits in the request path, so this never names the URL as it is: errors say
// `{api_url}/bot…/sendMessage`, and every text is scrubbed of the token besides.

import type { Dispatcher } from 'undici';
import { callDeadline } from '../../../net/abort.js';
import { readSnippet } from '../../../net/body.js';
import { describeNetworkError } from '../../../net/network-error.js';
import { isStatusRetryable, type PostResult } from '../../../net/post-json.js';
import { redactSecrets, redactUrl } from '../../../net/redact.js';
import { parseRetryAfter } from '../../../net/retry-after.js';
import { quote } from '../../../net/text.js';
import { loadUndici } from '../../../net/undici.js';
import { VERSION } from '../../../version.js';

export interface BotCall {
  readonly apiUrl: string;
  readonly botToken: string;
  readonly method: 'sendMessage' | 'sendPhoto';
  readonly body: string | Buffer;
  readonly contentType: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly secrets: readonly string[];
  readonly now: number;
  readonly dispatcher?: Dispatcher;
}

const ERROR_BODY_BYTES = 1024;

/** What the Bot API's error body says, when it is one. */
interface BotError {
  readonly description?: unknown;
  readonly parameters?: { readonly retry_after?: unknown; readonly migrate_to_chat_id?: unknown };
}

function parseBotError(text: string): BotError | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : null;
  } catch {
    return null;
  }
}

/** `POST https://api.telegram.org/bot…/sendMessage`: where, without the token. */
export function botCallName(apiUrl: string, method: string): string {
  return `POST ${redactUrl(apiUrl).replace(/\/+$/, '')}/bot…/${method}`;
}

export async function callBot(call: BotCall): Promise<PostResult> {
  const where = botCallName(call.apiUrl, call.method);
  const clean = (text: string): string => redactSecrets(text, call.secrets);
  const { request } = await loadUndici();
  const deadline = callDeadline(call.timeoutMs, call.signal);
  try {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${call.apiUrl}/bot${call.botToken}/${call.method}`, {
        method: 'POST',
        body: call.body,
        headers: { 'content-type': call.contentType, 'user-agent': `whatsgate-monitor/${VERSION}` },
        signal: deadline.signal,
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.timeoutMs,
        ...(call.dispatcher === undefined ? {} : { dispatcher: call.dispatcher }),
      });
    } catch (err) {
      if (deadline.cancelled)
        return { ok: false, retryable: true, error: `${where}: aborted (the monitor is stopping)` };
      if (deadline.timedOut)
        return { ok: false, retryable: true, error: `${where}: no answer within ${call.timeoutMs / 1000} s` };
      return { ok: false, retryable: true, error: clean(`${where}: ${describeNetworkError(err)}`) };
    }
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      await res.body.dump().catch(() => undefined);
      return { ok: true };
    }
    const text = await readSnippet(res.body, ERROR_BODY_BYTES);
    if (status >= 300 && status < 400) {
      return {
        ok: false,
        retryable: false,
        error: `HTTP ${status} from ${where}: redirected — configure the final api_url`,
      };
    }
    const parsed = parseBotError(text);
    const description = typeof parsed?.description === 'string' ? parsed.description : null;
    const migrated = parsed?.parameters?.migrate_to_chat_id;
    const hint =
      typeof migrated === 'number' ? ` (the group is now a supergroup: set chat_id to ${migrated})` : '';
    const said = description ?? (text.trim() === '' ? '' : text);
    const error = clean(`HTTP ${status} from ${where}${said === '' ? '' : `: ${quote(said)}`}${hint}`);
    if (!isStatusRetryable(status)) return { ok: false, retryable: false, error };
    // The header when there is one; else the body's seconds (Telegram's 429s carry only that).
    const header = res.headers['retry-after'];
    const fromHeader = parseRetryAfter(Array.isArray(header) ? header[0] : header, call.now);
    const seconds = parsed?.parameters?.retry_after;
    const fromBody =
      typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
    const after = fromHeader ?? fromBody;
    return after === undefined
      ? { ok: false, retryable: true, error }
      : { ok: false, retryable: true, error, retryAfterMs: after };
  } finally {
    deadline.dispose();
  }
}
