// The vocabulary shared by every layer: what a check of a device can yield (SPEC §3).
// Types and constant lists only: no I/O, no clock.

export const DEVICE_STATUSES = [
  'connected',
  'disconnected',
  'not_connected',
  'not_initialized',
  // The gateway answers, but does not know the device (deleted, or a typo in the config).
  'not_found',
  'unknown',
] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** A device the gateway does not know is checked this many times less often (SPEC §3). */
export const NOT_FOUND_INTERVAL_FACTOR = 10;

export const PROBE_ERROR_REASONS = [
  'timeout',
  'connection',
  'http_5xx',
  'unauthorized',
  'rate_limited',
  'invalid_response',
  'api_error',
] as const;
export type ProbeErrorReason = (typeof PROBE_ERROR_REASONS)[number];

/** The DOWN/UP verdict derived from statuses with thresholds. */
export type Health = 'UP' | 'DOWN';

/** A valid answer from `GET /status/{device}`. `raw` is the gateway's text, verbatim. */
export interface StatusObservation {
  readonly kind: 'status';
  readonly status: DeviceStatus;
  readonly raw: string;
}

/** A check that produced no status. Never changes a device's status (SPEC §3). */
export interface ProbeErrorObservation {
  readonly kind: 'probe_error';
  readonly reason: ProbeErrorReason;
  /** Human-readable, secret-free: e.g. `HTTP 503 from GET http://host/api/status/123`, `device not found!`. */
  readonly message: string;
  readonly httpStatus?: number;
  /** Parsed `Retry-After` for `rate_limited`, in milliseconds. */
  readonly retryAfterMs?: number;
}

export type Observation = StatusObservation | ProbeErrorObservation;

export const EVENT_TYPES = [
  'device.down',
  'device.up',
  'device.reminder',
  'device.flapping',
  'device.not_found',
  // Delivery health (SPEC §10), decided by monitor/delivery.ts.
  'device.stalled',
  'device.failing',
  'device.balance_low',
  'device.delivery_recovered',
  'account.unreachable',
  'account.recovered',
  'audit.report',
  'test',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Maps the gateway's status text to our snake_case status; anything else is `unknown`. */
export function statusFromGatewayText(text: string): DeviceStatus {
  switch (text) {
    case 'connected':
      return 'connected';
    case 'disconnected':
      return 'disconnected';
    case 'not connected':
      return 'not_connected';
    case 'not initialized':
      return 'not_initialized';
    default:
      return 'unknown';
  }
}

/**
 * `success:false` whose message reads "device not found", in any case and punctuation ignored:
 * `/status` says `device not found!`, `/reports/balance` says `Device not found` (SPEC §3).
 */
export function isDeviceNotFoundMessage(message: string): boolean {
  const words = message
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .trim()
    .split(/\s+/);
  return words.join(' ') === 'device not found';
}
