// One exchange with the gateway as an undici dispatch handler (issue 17): the answer's status,
// headers and body arrive as callbacks and are read into a bounded buffer here, instead of through
// `request()`'s promise, AsyncResource and response stream — objects per call that cost more than
// the call at 1,700 checks a second. The rules are transport.ts's, unchanged:
// - an error status (401/403/429/5xx) is decided by the status; its body only lends a message, read
//   up to MAX_ERROR_BODY_BYTES, and trouble reading it changes nothing (no message then);
// - a redirect is never followed; its body is discarded;
// - a body declared or found larger than `maxBytes` is refused, the transfer stopped at once;
// - a call that ends before its answer is complete is a timeout when its deadline (or the caller)
//   ended it or undici's own timer fired, else a connection error before the headers and a
//   truncated body after them, with the bytes received.
// The handler settles once; what undici reports after that (the abort it was told) is ignored.

import type { Dispatcher } from 'undici';
import type { InFlightCall } from '../net/deadline-sweep.js';
import { describeNetworkError, isTimeoutError } from '../net/network-error.js';
import { SERVICE_URL } from '../net/redact.js';
import { isRedirect, redirectNotFollowed } from '../net/redirect.js';
import { GatewayError } from './errors.js';
import type { Reply } from './reply.js';

/** Error answers (401/403/429/5xx) are only read for a message; the rest is discarded. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** A redirect's body is discarded; past this the connection is dropped rather than drained. */
const MAX_DISCARDED_BYTES = 128 * 1024;

type Headers = Record<string, string | string[] | undefined>;

export interface ExchangeContext {
  /** `GET https://…/status/1`, for messages. */
  readonly where: string;
  /** The request's URL (a relative Location resolves against it). */
  readonly url: string;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly call: InFlightCall;
  /** The verdict of an error status, from its headers and the start of its body. */
  readonly classify: (statusCode: number, label: string, headers: Headers, text: string) => GatewayError;
}

type Mode = 'whole' | 'error' | 'discard';

export class ExchangeHandler implements Dispatcher.DispatchHandler {
  readonly #ctx: ExchangeContext;
  readonly #resolve: (reply: Reply) => void;
  readonly #reject: (err: GatewayError) => void;
  #settled = false;
  #statusCode = 0;
  #headers: Headers = {};
  #label = '';
  #mode: Mode = 'whole';
  #declared = Number.NaN;
  #chunks: Buffer[] = [];
  #size = 0;
  /** What a redirect settles with, once its body is gone. */
  #redirect: GatewayError | null = null;

  constructor(ctx: ExchangeContext, resolve: (reply: Reply) => void, reject: (err: GatewayError) => void) {
    this.#ctx = ctx;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    const call = this.#ctx.call;
    if (call.aborted) controller.abort(call.reason as Error);
    else call.onAbort(() => controller.abort(call.reason as Error));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Headers): void {
    if (statusCode < 200 || this.#settled) return;
    this.#statusCode = statusCode;
    this.#headers = headers;
    this.#label = `HTTP ${statusCode} from ${this.#ctx.where}`;
    if (statusCode === 401 || statusCode === 403 || statusCode === 429 || statusCode >= 500) {
      this.#mode = 'error';
      return;
    }
    if (isRedirect(statusCode)) {
      // Never followed (the token header would go along); its body, if any, says nothing.
      this.#mode = 'discard';
      const location = redirectNotFollowed(headerValue(headers['location']), this.#ctx.url, SERVICE_URL);
      this.#redirect = new GatewayError('invalid_response', `${this.#label}: ${location}`, {
        httpStatus: statusCode,
      });
      return;
    }
    this.#declared = Number(headerValue(headers['content-length']) ?? Number.NaN);
    if (Number.isFinite(this.#declared) && this.#declared > this.#ctx.maxBytes) {
      this.#stop(
        controller,
        new GatewayError(
          'invalid_response',
          `${this.#label}: body of ${this.#declared} bytes exceeds the ${this.#ctx.maxBytes}-byte limit`,
          { httpStatus: statusCode },
        ),
      );
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    if (this.#mode === 'discard') {
      this.#size += chunk.length;
      if (this.#size > MAX_DISCARDED_BYTES) this.#stop(controller, this.#redirect!);
      return;
    }
    const limit = this.#mode === 'error' ? MAX_ERROR_BODY_BYTES : this.#ctx.maxBytes;
    if (this.#size + chunk.length > limit) {
      if (this.#mode === 'whole') {
        this.#stop(
          controller,
          new GatewayError('invalid_response', `${this.#label}: body exceeds the ${limit}-byte limit`, {
            httpStatus: this.#statusCode,
          }),
        );
        return;
      }
      // An error answer: its first bytes are message enough.
      this.#chunks.push(chunk.subarray(0, limit - this.#size));
      this.#size = limit;
      this.#stop(controller, this.#errorVerdict(this.#text()));
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    if (this.#mode === 'discard') return this.#fail(this.#redirect!);
    if (this.#mode === 'error') return this.#fail(this.#errorVerdict(this.#text()));
    this.#settled = true;
    this.#resolve({
      statusCode: this.#statusCode,
      contentType: headerValue(this.#headers['content-type']),
      text: this.#text(),
      label: this.#label,
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#settled) return;
    const { where, call, timeoutMs } = this.#ctx;
    const stopped = call.aborted || isTimeoutError(err);
    const why = (phase: string): string =>
      call.timedOut || !call.cancelled
        ? `no complete ${phase} within ${timeoutMs} ms`
        : `cancelled while waiting for the ${phase}`;
    if (this.#statusCode === 0) {
      if (stopped) return this.#fail(new GatewayError('timeout', `${where}: ${why('response')}`));
      return this.#fail(
        new GatewayError('connection', `${where}: ${describeNetworkError(err)}`, { cause: err }),
      );
    }
    // The status alone classifies these; a body that did not come whole lends no message.
    if (this.#mode === 'error') return this.#fail(this.#errorVerdict(''));
    if (this.#mode === 'discard') return this.#fail(this.#redirect!);
    const httpStatus = this.#statusCode;
    if (stopped)
      return this.#fail(new GatewayError('timeout', `${this.#label}: ${why('body')}`, { httpStatus }));
    const promised = Number.isFinite(this.#declared) ? ` of the ${this.#declared} promised` : '';
    this.#fail(
      new GatewayError(
        'invalid_response',
        `${this.#label}: body truncated (connection closed after ${this.#size} bytes${promised})`,
        { httpStatus, cause: err },
      ),
    );
  }

  #errorVerdict(text: string): GatewayError {
    return this.#ctx.classify(this.#statusCode, this.#label, this.#headers, text);
  }

  #text(): string {
    const chunks = this.#chunks;
    if (chunks.length === 0) return '';
    return chunks.length === 1
      ? chunks[0]!.toString('utf8')
      : Buffer.concat(chunks, this.#size).toString('utf8');
  }

  /** Settles with `err` and stops the transfer: the connection is dropped, not drained. */
  #stop(controller: Dispatcher.DispatchController, err: GatewayError): void {
    this.#fail(err);
    controller.abort(err);
  }

  #fail(err: GatewayError): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(err);
  }
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
