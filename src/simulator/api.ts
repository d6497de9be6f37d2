// The documented WhatsGate device API under `/api` (SPEC §5): `GET /status/{device}`,
// `GET /connect/{device}` (a fresh QR code per call), `POST /delete`, and the two calls of
// delivery health and the whatsapp channel (SPEC §10, §11): `GET /reports/balance/{device}`
// (today's counts from `messages.ts`) and `POST /send/text`. Each call is counted the
// moment it arrives; then an injected fault acts (it stands for what lies in front of the
// gateway); then the gateway's own checks in its order — Access-Token (403), the per-token rate
// limit (429 with Retry-After) — and the answer, in the gateway's exact wording, since monitors
// classify answers by it.

import type { IncomingMessage, ServerResponse } from 'node:http';
import QRCode from 'qrcode';
import { answerWithFault, type ServerLifetime } from './faults.js';
import { parseJson, readRequestBody, safeDecode, sendJson } from './http.js';
import { MAX_MESSAGE_CHARS, type MessageQueues } from './messages.js';
import type { RateLimiter } from './rate-limit.js';
import type { DeviceTable } from './state.js';
import type { CallStats, SimCall, SimEndpoint } from './stats.js';

export interface ApiDeps {
  readonly devices: DeviceTable;
  readonly messages: MessageQueues;
  readonly stats: CallStats;
  readonly limiter: RateLimiter;
  readonly lifetime: ServerLifetime;
  readonly token: string;
  /** Calls per token per 60 s; 0 turns the limit off. */
  readonly rateLimit: number;
  readonly now: () => number;
  readonly onCall: ((call: SimCall) => void) | undefined;
}

/** `path` is below `/api` (`/status/…`), or '' for a path outside it: that is a 404 here. */
export type ApiHandler = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;

export function createApiHandler(deps: ApiDeps): ApiHandler {
  const { devices, messages, stats, limiter, lifetime, token, rateLimit, now } = deps;
  // Makes each QR code differ from the last, as the gateway's do.
  let qrCounter = 0;

  return async (req, res, path) => {
    devices.tick();
    const route = apiRoute(req.method ?? 'GET', path);
    const call = stats.record(now(), route.endpoint, route.device);
    deps.onCall?.({ ...call });
    const answer = (code: number, body: unknown, headers: Record<string, string> = {}): void => {
      call.httpStatus = code;
      sendJson(res, code, body, headers);
    };

    let device = route.device;
    let payload: unknown;
    if (route.endpoint === 'delete' || route.endpoint === 'send') {
      payload = parseJson(await readRequestBody(req));
      const sender = (payload as { sender_device?: unknown } | undefined)?.sender_device;
      if (typeof sender === 'string') {
        device = sender;
        call.device = sender;
      }
    }

    const fault = devices.faultFor(device);
    if (fault.type === 'slow') {
      await lifetime.delay(fault.delayMs);
      if (lifetime.closed) return;
    } else if (fault.type !== 'none') {
      await answerWithFault(fault, res, call, lifetime, stats);
      return;
    }

    const given = req.headers['access-token'];
    const presented = Array.isArray(given) ? given[0] : given;
    if (presented === undefined || presented === '') {
      answer(403, { message: 'an Access-Token is required' });
      return;
    }
    if (presented !== token) {
      answer(403, { message: 'invalid Access-Token' });
      return;
    }
    let limitHeaders: Record<string, string> = {};
    if (rateLimit > 0) {
      const verdict = limiter.admit(presented, now());
      if (!verdict.ok) {
        answer(
          429,
          { message: 'Too Many Attempts.' },
          {
            'retry-after': String(verdict.retryAfterS),
            'x-ratelimit-limit': String(rateLimit),
            'x-ratelimit-remaining': '0',
          },
        );
        return;
      }
      limitHeaders = {
        'x-ratelimit-limit': String(rateLimit),
        'x-ratelimit-remaining': String(verdict.remaining),
      };
    }

    const status = devices.statusOf(device);
    switch (route.endpoint) {
      case 'status':
        if (status === undefined) answer(200, { success: false, message: 'device not found!' }, limitHeaders);
        else answer(200, { success: true, message: status }, limitHeaders);
        return;
      case 'connect': {
        if (status === undefined || device === undefined) {
          answer(200, { success: false, message: 'device not found!' }, limitHeaders);
          return;
        }
        if (status === 'connected') {
          answer(200, { success: false, message: 'device is already connected' }, limitHeaders);
          return;
        }
        qrCounter += 1;
        const qrCode = await QRCode.toDataURL(`whatsgate-sim:${device}:${qrCounter}`);
        answer(200, { success: true, qrCode }, limitHeaders);
        return;
      }
      case 'delete':
        // The wording is Laravel's validation message, so answer as Laravel would: 422.
        if (status === undefined || device === undefined) {
          answer(422, { success: false, message: 'The selected sender device is invalid.' }, limitHeaders);
          return;
        }
        devices.remove(device);
        answer(200, { success: true, message: 'Device deleted successfully' }, limitHeaders);
        return;
      case 'balance': {
        const reading = device === undefined ? undefined : messages.reading(device);
        if (reading === undefined) {
          // Not `/status`'s "device not found!": the gateway words this one differently.
          answer(200, { success: false, message: 'Device not found' }, limitHeaders);
          return;
        }
        answer(
          200,
          {
            success: true,
            remaining: reading.remaining,
            successful_count: reading.successful,
            pending: reading.pending,
            failed: reading.failed,
          },
          limitHeaders,
        );
        return;
      }
      case 'send': {
        const body = sendTextBody(payload, (d) => devices.statusOf(d) !== undefined);
        if (typeof body === 'string') {
          answer(422, { success: false, message: body }, limitHeaders);
          return;
        }
        const outcome = messages.send(body.sender, body.phone, body.message);
        if (outcome.ok) {
          answer(200, { success: true, message: 'Message queued', id: outcome.id }, limitHeaders);
        } else {
          answer(200, { success: false, message: SEND_REFUSALS[outcome.reason] }, limitHeaders);
        }
        return;
      }
      case 'other':
        answer(route.methodMismatch ? 405 : 404, {
          message: route.methodMismatch ? 'Method Not Allowed' : 'Not Found',
        });
        return;
    }
  };
}

interface ApiRoute {
  readonly endpoint: SimEndpoint;
  readonly device: string | undefined;
  readonly methodMismatch: boolean;
}

function apiRoute(method: string, path: string): ApiRoute {
  const m = /^\/(status|connect)\/([^/]+)$/.exec(path);
  if (m?.[1] !== undefined && m[2] !== undefined) {
    const endpoint = m[1] === 'status' ? 'status' : 'connect';
    if (method !== 'GET') return { endpoint: 'other', device: undefined, methodMismatch: true };
    return { endpoint, device: safeDecode(m[2]), methodMismatch: false };
  }
  const balance = /^\/reports\/balance\/([^/]+)$/.exec(path)?.[1];
  if (balance !== undefined) {
    if (method !== 'GET') return { endpoint: 'other', device: undefined, methodMismatch: true };
    return { endpoint: 'balance', device: safeDecode(balance), methodMismatch: false };
  }
  if (path === '/delete' || path === '/send/text') {
    if (method !== 'POST') return { endpoint: 'other', device: undefined, methodMismatch: true };
    return { endpoint: path === '/delete' ? 'delete' : 'send', device: undefined, methodMismatch: false };
  }
  return { endpoint: 'other', device: undefined, methodMismatch: false };
}

/** `/send/text` answers (HTTP 200) when the body is valid but the gateway will not queue it. */
const SEND_REFUSALS = {
  unknown_sender: 'The selected sender device is invalid.',
  not_connected: 'sender device is not connected',
  no_balance: 'insufficient balance',
} as const;

interface SendTextBody {
  readonly sender: string;
  readonly phone: string;
  readonly message: string;
}

/**
 * Validates `/send/text` as the gateway's Laravel rules would, field by field in order, the
 * first failure being the answer (422): `sender_device` required and a known device, `phone`
 * digits, `message` a non-empty string of at most 4096 characters.
 */
function sendTextBody(payload: unknown, known: (device: string) => boolean): SendTextBody | string {
  const {
    sender_device: sender,
    phone,
    message,
  } = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
  if (sender === undefined || sender === null || sender === '') return 'The sender device field is required.';
  if (typeof sender !== 'string' || !known(sender)) return SEND_REFUSALS.unknown_sender;
  if (phone === undefined || phone === null || phone === '') return 'The phone field is required.';
  if (typeof phone !== 'string' || !/^\d{1,20}$/.test(phone))
    return 'The phone field must be a number of digits.';
  if (message === undefined || message === null || message === '') return 'The message field is required.';
  if (typeof message !== 'string') return 'The message field must be a string.';
  if (message.trim() === '') return 'The message field is required.';
  if ([...message].length > MAX_MESSAGE_CHARS) {
    return `The message field must not be greater than ${MAX_MESSAGE_CHARS} characters.`;
  }
  return { sender, phone, message };
}
