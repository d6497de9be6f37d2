// The control API under `/_sim/`: what tests, the demo and fire drills use to change the
// simulated gateway while a monitor watches it — statuses, faults, QR scans, the rate limit and
// the counters. It is not part of WhatsGate, so it takes no token; it answers loopback clients
// only, so a simulator bound to a wider address cannot be steered from elsewhere.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { faultFromJson, faultToJson } from './faults.js';
import { parseJson, readRequestBody, safeDecode, sendJson } from './http.js';
import type { RateLimiter } from './rate-limit.js';
import type { DeviceTable, SimDevice } from './state.js';
import type { CallStats, SimulatorStats } from './stats.js';

export const CONTROL_ROUTES = [
  'GET  /_sim/devices                      list devices: status and fault',
  'POST /_sim/devices/{device}/status      {"status": "disconnected"}  (any text; creates the device)',
  'POST /_sim/devices/{device}/fault       {"fault": "slow", "delay_ms": 2000} | {"fault": "api_error", "message": "…"} | {"fault": "html", "http_status": 502} | {"fault": "hang"} …',
  'POST /_sim/fault                        same body, for every device and unknown ones',
  'POST /_sim/devices/{device}/scan        the QR code was scanned: device → connected',
  'POST /_sim/rate-limit/reset             forget the calls counted against the rate limit',
  'GET  /_sim/stats                        requests per endpoint, API call timestamps',
  'POST /_sim/stats/reset',
] as const;

export interface ControlDeps {
  readonly devices: DeviceTable;
  readonly stats: CallStats;
  readonly limiter: RateLimiter;
}

/** `path` is the whole path, starting `/_sim`. */
export type ControlHandler = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;

export function createControlHandler({ devices, stats, limiter }: ControlDeps): ControlHandler {
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
    } else if (method === 'POST' && a === 'rate-limit' && b === 'reset' && parts.length === 2) {
      limiter.reset();
      sendJson(res, 200, { ok: true });
    } else if (method === 'GET' && a === 'stats' && parts.length === 1) {
      sendJson(res, 200, statsToJson(stats.snapshot()));
    } else if (method === 'POST' && a === 'stats' && b === 'reset' && parts.length === 2) {
      stats.reset();
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
