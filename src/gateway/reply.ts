// Reading the gateway's answers once the transport has them: the JSON envelope
// (`{success, message, …}`), off-contract bodies, and the QR code of `/connect`.

import { quote } from '../net/text.js';
import { GatewayError, describeNonJson } from './errors.js';

/** What came back from one exchange whose HTTP status did not already decide the outcome. */
export interface Reply {
  readonly statusCode: number;
  readonly contentType: string | undefined;
  readonly text: string;
  /** `HTTP 200 from GET http://…/status/123`, for messages. */
  readonly label: string;
}

export type JsonObject = Readonly<Record<string, unknown>>;

export interface QrCode {
  readonly kind: 'qr';
  /** `data:image/png;base64,…` as the gateway sent it. */
  readonly dataUrl: string;
  /** The decoded image; its PNG signature has been checked. */
  readonly png: Buffer;
}

/** Gateway-supplied texts returned verbatim (api_error, unknown status) are cut beyond this. */
const MAX_VERBATIM_CHARS = 1000;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_DATA_URL_PREFIX = 'data:image/png;base64,';

export function isOk(reply: Reply): boolean {
  return reply.statusCode >= 200 && reply.statusCode < 300;
}

export function invalid(reply: Reply, detail: string): GatewayError {
  return new GatewayError('invalid_response', `${reply.label}: ${detail}`, { httpStatus: reply.statusCode });
}

export function jsonObject(reply: Reply): JsonObject {
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
export function apiFailure(reply: Reply, body: JsonObject): GatewayError {
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

export function decodeQr(reply: Reply, qrCode: unknown): QrCode {
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

/** `GET /reports/balance/{device}` answered: the device's counts for the gateway's day (SPEC §10). */
export interface BalanceReading {
  readonly kind: 'reading';
  /** Messages left in the balance. */
  readonly remaining: number;
  /** `successful_count`: sent today. */
  readonly successful: number;
  readonly pending: number;
  readonly failed: number;
}

const BALANCE_FIELDS = [
  ['remaining', 'remaining'],
  ['successful_count', 'successful'],
  ['pending', 'pending'],
  ['failed', 'failed'],
] as const;

/**
 * The four counts of a `success:true` balance answer. Strict: each must be a non-negative safe
 * integer (a count of messages), else the answer is off-contract — a rule judged on a half-read
 * reading would raise or end problems on garbage.
 */
export function decodeBalance(reply: Reply, body: JsonObject): BalanceReading {
  const out: Record<(typeof BALANCE_FIELDS)[number][1], number> = {
    remaining: 0,
    successful: 0,
    pending: 0,
    failed: 0,
  };
  for (const [field, key] of BALANCE_FIELDS) {
    const value = body[field];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      const shown = value === undefined ? 'missing' : quote(JSON.stringify(value), 40);
      throw invalid(reply, `success:true with "${field}" not a non-negative integer (${shown})`);
    }
    out[key] = value;
  }
  return { kind: 'reading', ...out };
}

/** The gateway's own `message`, when the body is a JSON object carrying one. */
export function messageOf(text: string): string | undefined {
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

export function verbatim(text: string): string {
  return text.length <= MAX_VERBATIM_CHARS ? text : `${text.slice(0, MAX_VERBATIM_CHARS)}…`;
}
