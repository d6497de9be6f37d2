// How the HTTP server answers: the error that carries a status (and headers such as `Allow`),
// the one place responses get their content type, length and no-store, and the page headers.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BASIC_AUTH_CHALLENGE, type AuthOutcome } from '../web/basic-auth.js';
import { pageCsp } from '../web/layout.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Every route answers GET and HEAD only; a 405 says so in `Allow` (RFC 9110 §15.5.6). */
export function onlyGet(req: IncomingMessage): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new HttpError(405, `method ${req.method ?? '?'} not allowed (GET or HEAD)`, { allow: 'GET, HEAD' });
  }
}

export function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

/** 401 with the challenge; 429 (this client failed too often) or 503 (checks queued) with Retry-After. */
export function refuse(res: ServerResponse, outcome: Exclude<AuthOutcome, { kind: 'ok' }>): void {
  const text = 'text/plain; charset=utf-8';
  if (outcome.kind === 'denied') {
    return send(res, 401, text, 'authentication required\n', { 'www-authenticate': BASIC_AUTH_CHALLENGE });
  }
  const retryAfter = String(Math.ceil(outcome.retryAfterMs / 1000));
  return outcome.kind === 'throttled'
    ? send(res, 429, text, 'too many failed logins from this address\n', { 'retry-after': retryAfter })
    : send(res, 503, text, 'too many logins being checked; try again\n', { 'retry-after': retryAfter });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, headers);
}

/** `html` as a string, or already UTF-8 (the status page: megabytes, encoded a slice at a time). */
export function sendHtml(
  res: ServerResponse,
  status: number,
  nonce: string,
  html: string | Uint8Array,
): void {
  send(res, status, 'text/html; charset=utf-8', html, {
    'content-security-policy': pageCsp(nonce),
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  });
}

export function newNonce(): string {
  return randomBytes(16).toString('base64');
}
