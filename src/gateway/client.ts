// The WhatsGate device API client (SPEC §2, §3). Every call resolves — a failed check is an
// observation (`probe_error`), not an exception — because the poller must count and export
// failures, never crash on them. The account's token goes into one header and nowhere else.

import {
  isDeviceNotFoundMessage,
  statusFromGatewayText,
  type Observation,
  type ProbeErrorObservation,
} from '../monitor/model.js';
import { describeNetworkError } from '../net/network-error.js';
import type { OriginPools } from '../net/origin-pools.js';
import { redactSecrets, redactUrl, SERVICE_URL } from '../net/redact.js';
import { quote } from '../net/text.js';
import { VERSION } from '../version.js';
import { GatewayError, probeError } from './errors.js';
import {
  apiFailure,
  decodeBalance,
  decodeQr,
  invalid,
  isOk,
  jsonObject,
  verbatim,
  type BalanceReading,
  type QrCode,
} from './reply.js';
import { createTransport, type Transport } from './transport.js';

export type { BalanceReading, QrCode } from './reply.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** A QR PNG as a data URL is ~10 kB; 4 MiB leaves room for a gateway that renders it large. */
export const DEFAULT_MAX_CONNECT_BODY_BYTES = 4 * 1024 * 1024;

export interface GatewayClientOptions {
  /** e.g. `https://acme.whatsgate.net/api`; a path prefix is kept, a query string is ignored. */
  readonly baseUrl: string;
  readonly token: string;
  /** Whole-call deadline: connect, response headers and body. Overridable per call. */
  readonly timeoutMs: number;
  /** Where the sockets come from; default one pool per origin for the whole process. */
  readonly pools?: OriginPools;
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

export type ConnectResult =
  | QrCode
  | { readonly kind: 'already_connected'; readonly message: string }
  | { readonly kind: 'not_found'; readonly message: string }
  | ProbeErrorObservation;

export type DeleteResult =
  | { readonly kind: 'deleted'; readonly message: string }
  | { readonly kind: 'refused'; readonly message: string }
  | ProbeErrorObservation;

/** A balance read: the counts, a device the gateway does not know, or why there is no answer. */
export type BalanceResult =
  BalanceReading | { readonly kind: 'not_found'; readonly message: string } | ProbeErrorObservation;
/**
 * `POST /send/text`: queued, or refused by the gateway in its own words (`sender device is not
 * connected`, `insufficient balance`, a validation answer such as `The selected sender device is
 * invalid.` with HTTP 422), or no answer worth reading (a probe error: timeout, 5xx, 429, …).
 */
export type SendTextResult =
  | { readonly kind: 'sent'; readonly id: string | null }
  | { readonly kind: 'refused'; readonly message: string; readonly httpStatus: number }
  | ProbeErrorObservation;

export interface GatewayClient {
  /** `GET /status/{device}`. Never rejects. */
  status(device: string, opts?: CallOptions): Promise<Observation>;
  /** `GET /connect/{device}`: a fresh QR code to link the device. Never rejects. */
  connect(device: string, opts?: CallOptions): Promise<ConnectResult>;
  /** `GET /reports/balance/{device}`: today's delivery counts (SPEC §10). Never rejects. */
  balance(device: string, opts?: CallOptions): Promise<BalanceResult>;
  /** `POST /delete`. Never rejects. */
  delete(device: string, opts?: CallOptions): Promise<DeleteResult>;
  /** `POST /send/text` from `sender` to `phone` (digits). Never rejects. */
  sendText(sender: string, phone: string, message: string, opts?: CallOptions): Promise<SendTextResult>;
  /** Closes the sockets once calls in flight have ended. Idempotent. */
  close(): Promise<void>;
}

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const token = options.token;
  const base = parseBaseUrl(options.baseUrl, token);
  const prefix = base.pathname.replace(/\/+$/, '');
  const shownOrigin = redactUrl(new URL(base.origin), SERVICE_URL).replace(/\/$/, '');
  const defaultTimeoutMs = options.timeoutMs;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxConnectBodyBytes = options.maxConnectBodyBytes ?? DEFAULT_MAX_CONNECT_BODY_BYTES;
  const userAgent = options.userAgent ?? `whatsgate-monitor/${VERSION}`;
  const now = options.now ?? Date.now;

  const transport = createTransport({
    origin: base.origin,
    shownOrigin,
    token,
    timeoutMs: defaultTimeoutMs,
    userAgent,
    now,
    ...(options.pools === undefined ? {} : { pools: options.pools }),
  });
  // A plain function (no `this`): called as is, no wrapper and argument array per call.
  const exchange: Transport['exchange'] = transport.exchange;

  /** Turns any failure into an observation whose message cannot carry the token. */
  function failure(err: unknown, fallbackWhere: string): ProbeErrorObservation {
    if (err instanceof GatewayError) return err.toObservation(token);
    // Not expected: every path above throws GatewayError. Still never reject, never leak.
    return probeError('connection', redactSecrets(`${fallbackWhere}: ${describeNetworkError(err)}`, [token]));
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
          const raw = status === 'unknown' ? verbatim(redactSecrets(message, [token])) : message;
          return { kind: 'status', status, raw };
        }
        // The gateway answering that it does not know the device is an answer, not a failed
        // check: the device's status becomes not_found (SPEC §3), whatever the HTTP status.
        const message = body['message'];
        if (body['success'] === false && typeof message === 'string' && isDeviceNotFoundMessage(message)) {
          return { kind: 'status', status: 'not_found', raw: verbatim(redactSecrets(message, [token])) };
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
          const message = verbatim(redactSecrets(body['message'], [token]));
          if (/already connected/i.test(message)) return { kind: 'already_connected', message };
          if (/not found/i.test(message)) return { kind: 'not_found', message };
        }
        throw apiFailure(reply, body);
      } catch (err) {
        return failure(err, `GET ${shownOrigin}${path}`);
      }
    },

    async balance(device, opts = {}) {
      const path = pathFor('reports/balance', device);
      try {
        const reply = await exchange('GET', path, undefined, maxBodyBytes, opts);
        const body = jsonObject(reply);
        if (body['success'] === true && isOk(reply)) return decodeBalance(reply, body);
        const message = body['message'];
        if (body['success'] === false && typeof message === 'string' && isDeviceNotFoundMessage(message)) {
          return { kind: 'not_found', message: verbatim(redactSecrets(message, [token])) };
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
          typeof body['message'] === 'string' ? verbatim(redactSecrets(body['message'], [token])) : undefined;
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

    async sendText(sender, phone, message, opts = {}) {
      const path = pathFor('send/text');
      try {
        const payload = JSON.stringify({ sender_device: sender, phone, message });
        const reply = await exchange('POST', path, payload, maxBodyBytes, opts);
        const body = jsonObject(reply);
        const said =
          typeof body['message'] === 'string' ? verbatim(redactSecrets(body['message'], [token])) : undefined;
        if (body['success'] === true && isOk(reply)) {
          const id = body['id'];
          return { kind: 'sent', id: typeof id === 'string' || typeof id === 'number' ? String(id) : null };
        }
        const httpStatus = reply.statusCode;
        if (body['success'] === false) return { kind: 'refused', message: said ?? reply.label, httpStatus };
        // Laravel's validation answer (`{"message": …, "errors": {…}}`, 422) has no `success`.
        if (httpStatus >= 400 && said !== undefined) return { kind: 'refused', message: said, httpStatus };
        throw apiFailure(reply, body);
      } catch (err) {
        return failure(err, `POST ${shownOrigin}${path}`);
      }
    },

    close() {
      return transport.close();
    },
  };
}

function parseBaseUrl(baseUrl: string, token: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(redactSecrets(`invalid gateway base URL: ${quote(baseUrl, 200)}`, [token]));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(
      redactSecrets(`gateway base URL must be http or https: ${redactUrl(url, SERVICE_URL)}`, [token]),
    );
  }
  return url;
}
