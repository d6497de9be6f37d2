// The control API under `/_sim/`: what tests, the demo and fire drills use to change the
// simulated gateway while a monitor watches it — statuses, faults, QR scans, message delivery,
// the rate limit and the counters. It is not part of WhatsGate, so it takes no token; it answers
// loopback clients only, so a simulator bound to a wider address cannot be steered from elsewhere.
//
// Message delivery (the queues of `messages.ts`; JSON in snake_case like the rest):
//   GET  /_sim/devices/{device}/delivery → 200 {"device", "mode", "fail_share", "remaining",
//        "successful_count", "pending", "failed"}, 404 {"error"} for an unknown device
//   POST /_sim/devices/{device}/delivery with {"mode"?: "normal" | "stall" | "fail",
//        "fail_share"?: 0..1 (required with "fail", refused otherwise), "remaining"?: 0..1000000}
//        — at least one of mode/remaining; fields left out stay. → 200 the same shape as the
//        GET, 400 {"error"} for a bad body, 404 {"error"} for an unknown device.
//        "normal" delivers within 1 s while connected; "stall" keeps every message pending;
//        "fail" fails that share of the messages finished from then on; "remaining" sets the
//        balance (a low one: the balance_low drill).
//   POST /_sim/roll-day (no body) → 200 {"ok": true}: the gateway's day boundary, for every
//        device — successful/pending/failed drop to 0 (pending messages expire), balance kept.
//   POST /_sim/traffic with {"per_minute": N} (whole, 0..60000; 0 = off) → 200 {"per_minute": N}:
//        background customer traffic, N messages a minute queued on each connected device;
//        GET /_sim/traffic → 200 {"per_minute": N}.
//   GET  /_sim/messages[?device=N] → 200 {"messages": [{"id", "sender_device", "phone",
//        "message", "at", "status": "pending" | "successful" | "failed" | "expired"}]}: what
//        /send/text accepted (traffic is not listed), oldest first; POST /_sim/stats/reset
//        clears it along with the call records.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { faultFromJson, faultToJson } from './faults.js';
import { parseJson, readRequestBody, safeDecode, sendJson } from './http.js';
import {
  MAX_SIM_TRAFFIC,
  deliveryChangeFromJson,
  deliveryToJson,
  messageToJson,
  type MessageQueues,
} from './messages.js';
import type { RateLimiter } from './rate-limit.js';
import type { DeviceTable, SimDevice } from './state.js';
import type { CallStats, SimulatorStats } from './stats.js';

export const CONTROL_ROUTES = [
  'GET  /_sim/devices                      list devices: status and fault',
  'POST /_sim/devices/{device}/status      {"status": "disconnected"}  (any text; creates the device)',
  'POST /_sim/devices/{device}/fault       {"fault": "slow", "delay_ms": 2000} | {"fault": "api_error", "message": "…"} | {"fault": "html", "http_status": 502} | {"fault": "hang"} …',
  'POST /_sim/fault                        same body, for every device and unknown ones',
  'POST /_sim/devices/{device}/scan        the QR code was scanned: device → connected',
  "GET  /_sim/devices/{device}/delivery    today's message counts, balance and delivery mode",
  'POST /_sim/devices/{device}/delivery    {"mode": "normal" | "stall" | "fail", "fail_share": 0.3, "remaining": 50}  (each optional; fail_share with fail)',
  "POST /_sim/roll-day                     the gateway's day boundary: every device's counts → 0",
  'GET  /_sim/traffic                      background customer traffic per device',
  'POST /_sim/traffic                      {"per_minute": 10}  (0 = off)',
  'GET  /_sim/messages?device={device}     messages accepted by /send/text (device optional)',
  'POST /_sim/rate-limit/reset             forget the calls counted against the rate limit',
  'GET  /_sim/stats                        requests per endpoint, API call timestamps',
  'POST /_sim/stats/reset                  also forgets the /send/text message log',
] as const;

export interface ControlDeps {
  readonly devices: DeviceTable;
  readonly messages: MessageQueues;
  readonly stats: CallStats;
  readonly limiter: RateLimiter;
}

/** `path` is the whole path, starting `/_sim`. */
export type ControlHandler = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;

export function createControlHandler({ devices, messages, stats, limiter }: ControlDeps): ControlHandler {
  return async (req, res, path) => {
    if (!isLoopback(req.socket.remoteAddress)) {
      sendJson(res, 403, { error: 'the control API answers loopback clients only' });
      return;
    }
    const method = req.method ?? 'GET';
    const parts = path
      .split('/')
      .filter((p) => p !== '')
      .slice(1); // drop "_sim"
    const body = method === 'POST' ? parseJson(await readRequestBody(req)) : undefined;
    const [a, b, c] = parts.map(safeDecode);

    if (method === 'GET' && parts.length === 0) {
      sendJson(res, 200, { routes: CONTROL_ROUTES });
    } else if (method === 'GET' && a === 'devices' && parts.length === 1) {
      sendJson(res, 200, devices.list().map(deviceToJson));
    } else if (
      method === 'POST' &&
      a === 'devices' &&
      b !== undefined &&
      c === 'status' &&
      parts.length === 3
    ) {
      const status = (body as { status?: unknown } | undefined)?.status;
      if (typeof status !== 'string') {
        sendJson(res, 400, { error: 'expected {"status": "connected" | "disconnected" | … | any text}' });
        return;
      }
      devices.setStatus(b, status);
      sendJson(res, 200, deviceToJson(devices.find(b)));
    } else if (
      method === 'POST' &&
      a === 'devices' &&
      b !== undefined &&
      c === 'fault' &&
      parts.length === 3
    ) {
      const fault = faultFromJson(body);
      if (typeof fault === 'string') sendJson(res, 400, { error: fault });
      else if (!devices.setFault(b, fault)) sendJson(res, 404, { error: `no device ${b}` });
      else sendJson(res, 200, deviceToJson(devices.find(b)));
    } else if (method === 'POST' && a === 'fault' && parts.length === 1) {
      const fault = faultFromJson(body);
      if (typeof fault === 'string') sendJson(res, 400, { error: fault });
      else {
        devices.setFault('all', fault);
        sendJson(res, 200, devices.list().map(deviceToJson));
      }
    } else if (
      method === 'POST' &&
      a === 'devices' &&
      b !== undefined &&
      c === 'scan' &&
      parts.length === 3
    ) {
      if (devices.scan(b)) sendJson(res, 200, deviceToJson(devices.find(b)));
      else sendJson(res, 404, { error: `no device ${b}` });
    } else if (
      (method === 'GET' || method === 'POST') &&
      a === 'devices' &&
      b !== undefined &&
      c === 'delivery' &&
      parts.length === 3
    ) {
      const change = method === 'POST' ? deliveryChangeFromJson(body) : {};
      if (typeof change === 'string') {
        sendJson(res, 400, { error: change });
        return;
      }
      const delivery = method === 'POST' ? messages.setDelivery(b, change) : messages.reading(b);
      if (delivery === undefined) sendJson(res, 404, { error: `no device ${b}` });
      else sendJson(res, 200, deliveryToJson(delivery));
    } else if (method === 'POST' && a === 'roll-day' && parts.length === 1) {
      messages.rollDay();
      sendJson(res, 200, { ok: true });
    } else if (method === 'GET' && a === 'traffic' && parts.length === 1) {
      sendJson(res, 200, { per_minute: messages.traffic() });
    } else if (method === 'POST' && a === 'traffic' && parts.length === 1) {
      const perMinute = (body as { per_minute?: unknown } | undefined)?.per_minute;
      if (
        typeof perMinute !== 'number' ||
        !Number.isInteger(perMinute) ||
        perMinute < 0 ||
        perMinute > MAX_SIM_TRAFFIC
      ) {
        sendJson(res, 400, {
          error: `expected {"per_minute": N}, N a whole number from 0 to ${MAX_SIM_TRAFFIC}`,
        });
        return;
      }
      messages.setTraffic(perMinute);
      sendJson(res, 200, { per_minute: perMinute });
    } else if (method === 'GET' && a === 'messages' && parts.length === 1) {
      const device = new URL(req.url ?? '/', 'http://simulator').searchParams.get('device') ?? undefined;
      sendJson(res, 200, { messages: messages.messages(device).map(messageToJson) });
    } else if (method === 'POST' && a === 'rate-limit' && b === 'reset' && parts.length === 2) {
      limiter.reset();
      sendJson(res, 200, { ok: true });
    } else if (method === 'GET' && a === 'stats' && parts.length === 1) {
      sendJson(res, 200, statsToJson(stats.snapshot()));
    } else if (method === 'POST' && a === 'stats' && b === 'reset' && parts.length === 2) {
      stats.reset();
      messages.clearLog();
      sendJson(res, 200, { ok: true });
    } else {
      sendJson(res, 404, { error: `no control route ${method} ${path}`, routes: CONTROL_ROUTES });
    }
  };
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function deviceToJson(d: SimDevice): Record<string, unknown> {
  return { device: d.device, status: d.status, ...faultToJson(d.fault) };
}

function statsToJson(s: SimulatorStats): Record<string, unknown> {
  return {
    requests: s.requests,
    calls: s.calls.map((c) => ({
      at: c.at,
      endpoint: c.endpoint,
      device: c.device ?? null,
      http_status: c.httpStatus ?? null,
    })),
    huge_bytes_sent: s.hugeBytesSent,
  };
}
