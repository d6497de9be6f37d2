// A local WhatsGate stand-in (SPEC §5 `simulate`): the documented device API under `/api`, with
// the gateway's auth and rate-limit behaviour, plus a control API under `/_sim/` that injects
// the failures a monitor must survive. Used by tests, demos and fire drills.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import QRCode from 'qrcode';
import { dueFlapEvents } from './flap-script.js';

export const DEFAULT_SIM_TOKEN = 'sim-token';
export const DEFAULT_SIM_FIRST = '100000000';
export const DEFAULT_SIM_DEVICES = 5;
export const DEFAULT_SIM_RATE_LIMIT = 60;
export const RATE_WINDOW_MS = 60_000;
/** Size of the `huge` fault's body: far past any sane client limit. */
export const HUGE_BODY_BYTES = 20 * 1024 * 1024;
/** API calls remembered in `stats().calls`; counts stay exact beyond it. */
export const MAX_RECORDED_CALLS = 10_000;
const MAX_REQUEST_BODY_BYTES = 64 * 1024;

export const SIM_FAULT_TYPES = [
  'none',
  'slow',
  'hang',
  'hang_body',
  '500',
  'html',
  'garbage',
  'huge',
  'truncated',
  'api_error',
] as const;
export type SimFaultType = (typeof SIM_FAULT_TYPES)[number];

/** What the simulator does to an API call before (or instead of) answering it. */
export type SimFault =
  | { readonly type: 'none' }
  /** Waits `delayMs`, then answers normally. */
  | { readonly type: 'slow'; readonly delayMs: number }
  /** Never sends headers. */
  | { readonly type: 'hang' }
  /** Sends 200 headers, then nothing. */
  | { readonly type: 'hang_body' }
  /** 500 `{"message":"Server Error"}`. */
  | { readonly type: '500' }
  /** An HTML page as a proxy or captive portal serves it; HTTP 200 unless `httpStatus`. */
  | { readonly type: 'html'; readonly httpStatus?: number }
  /** 200 with a body that is not JSON. */
  | { readonly type: 'garbage' }
  /** 200 with a 20 MiB chunked JSON body, written as fast as the client reads. */
  | { readonly type: 'huge' }
  /** 200 whose Content-Length promises more than is sent before the socket closes. */
  | { readonly type: 'truncated' }
  /** 200 `{"success":false,"message":…}`. */
  | { readonly type: 'api_error'; readonly message?: string };

export type SimEndpoint = 'status' | 'connect' | 'delete' | 'other';

export interface SimDevice {
  readonly device: string;
  /** The raw text `/status` answers with. */
  readonly status: string;
  readonly fault: SimFault;
}

export interface SimCall {
  /** `now()` when the call arrived. */
  readonly at: number;
  readonly endpoint: SimEndpoint;
  readonly device: string | undefined;
  /** Undefined while unanswered (or never answered: `hang`). */
  readonly httpStatus: number | undefined;
}

export interface SimulatorStats {
  readonly requests: Readonly<Record<SimEndpoint, number>>;
  /** Every API call (auth failures and 429s included), oldest first, the last 10 000. */
  readonly calls: readonly SimCall[];
  /** Bytes of `huge` bodies handed to sockets: shows a client stopped reading early. */
  readonly hugeBytesSent: number;
}

export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 5. */
  readonly devices?: number;
  /** First device number, digits only. Default 100000000. */
  readonly first?: string;
  /** Default `sim-token`. */
  readonly token?: string;
  /** Runs the scripted changes of `flap-script.ts`. */
  readonly flap?: boolean;
  /** API calls a token may make in any 60 s window; 0 = unlimited. Default 60. */
  readonly rateLimitPerMinute?: number;
  /** Clock for the rate limiter, the flap script and call timestamps. Default `Date.now`. */
  readonly now?: () => number;
  /** Receives one line per scripted or controlled change (the CLI prints them). */
  readonly log?: (line: string) => void;
  /** Told of every API call as it arrives (before faults, auth and rate limit): lets tests await calls. */
  readonly onCall?: (call: SimCall) => void;
}

export interface Simulator {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `url + '/api'`: what a monitor's `base_url` points at. */
  readonly baseUrl: string;
  /** `url + '/_sim'` */
  readonly controlUrl: string;
  readonly port: number;
  readonly token: string;
  /** The current devices, in creation order. */
  devices(): SimDevice[];
  /** Sets the raw status text; creates the device when it does not exist. */
  setStatus(device: string, status: string): void;
  /** `all` sets every device and calls naming no known device. False when the device is unknown. */
  setFault(device: string, fault: SimFault): boolean;
  /** A QR code scanned on the phone: the device is connected. False when unknown. */
  scan(device: string): boolean;
  resetRateLimit(): void;
  stats(): SimulatorStats;
  resetStats(): void;
  /** Applies flap changes due by now (they are also applied before every request). */
  tick(): void;
  /** Stops listening and ends every open request, hung ones included. */
  close(): Promise<void>;
}

interface DeviceState {
  status: string;
  fault: SimFault;
}

interface MutableCall {
  at: number;
  endpoint: SimEndpoint;
  device: string | undefined;
  httpStatus: number | undefined;
}

const NONE: SimFault = { type: 'none' };

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? DEFAULT_SIM_TOKEN;
  const rateLimit = options.rateLimitPerMinute ?? DEFAULT_SIM_RATE_LIMIT;
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => undefined);
  const count = options.devices ?? DEFAULT_SIM_DEVICES;
  const first = options.first ?? DEFAULT_SIM_FIRST;
  if (!/^\d+$/.test(first)) throw new TypeError(`first device number must be digits only: ${first}`);
  if (!Number.isInteger(count) || count < 0)
    throw new TypeError(`devices must be a whole number ≥ 0: ${count}`);
  if (!Number.isInteger(rateLimit) || rateLimit < 0) {
    throw new TypeError(`rate limit must be a whole number ≥ 0: ${rateLimit}`);
  }

  const initial = Array.from({ length: count }, (_, i) => (BigInt(first) + BigInt(i)).toString());
  const devices = new Map<string, DeviceState>(initial.map((d) => [d, { status: 'connected', fault: NONE }]));
  let defaultFault: SimFault = NONE;
  const windows = new Map<string, number[]>();
  let requests: Record<SimEndpoint, number> = { status: 0, connect: 0, delete: 0, other: 0 };
  let calls: MutableCall[] = [];
  let hugeBytesSent = 0;
  let qrCounter = 0;
  const startedAt = now();
  let flapAppliedUntil = 0;
  let closed = false;
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();

  function tick(): void {
    if (options.flap !== true) return;
    const elapsed = now() - startedAt;
    if (elapsed <= flapAppliedUntil) return;
    for (const event of dueFlapEvents(flapAppliedUntil, elapsed)) {
      const device = initial[event.deviceIndex];
      const state = device === undefined ? undefined : devices.get(device);
      if (device === undefined || state === undefined || state.status === event.status) continue;
      log(`flap: ${device} ${state.status} → ${event.status} (script t+${event.atMs / 1000}s)`);
      state.status = event.status;
    }
    flapAppliedUntil = elapsed;
  }

  function setStatus(device: string, status: string): void {
    tick();
    const state = devices.get(device);
    if (state === undefined) devices.set(device, { status, fault: NONE });
    else state.status = status;
    log(`control: ${device} status → ${status}`);
  }

  function setFault(device: string, fault: SimFault): boolean {
    if (device === 'all') {
      defaultFault = fault;
      for (const state of devices.values()) state.fault = fault;
      log(`control: fault ${fault.type} on all devices`);
      return true;
    }
    const state = devices.get(device);
    if (state === undefined) return false;
    state.fault = fault;
    log(`control: ${device} fault → ${fault.type}`);
    return true;
  }

  function scan(device: string): boolean {
    tick();
    const state = devices.get(device);
    if (state === undefined) return false;
    state.status = 'connected';
    log(`control: ${device} QR scanned → connected`);
    return true;
  }

  function listDevices(): SimDevice[] {
    tick();
    return [...devices].map(([device, s]) => ({ device, status: s.status, fault: s.fault }));
  }

  function stats(): SimulatorStats {
    return { requests: { ...requests }, calls: calls.map((c) => ({ ...c })), hugeBytesSent };
  }

  /** Sliding window: a call is refused while `limit` accepted calls lie within the last 60 s. */
  function admit(key: string): { ok: true; remaining: number } | { ok: false; retryAfterS: number } {
    const t = now();
    const window = (windows.get(key) ?? []).filter((at) => at > t - RATE_WINDOW_MS);
    windows.set(key, window);
    const oldest = window[0];
    if (oldest !== undefined && window.length >= rateLimit) {
      return { ok: false, retryAfterS: Math.max(1, Math.ceil((oldest + RATE_WINDOW_MS - t) / 1000)) };
    }
    window.push(t);
    return { ok: true, remaining: rateLimit - window.length };
  }

  function delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    tick();
    const route = apiRoute(req.method ?? 'GET', path);
    const call: MutableCall = {
      at: now(),
      endpoint: route.endpoint,
      device: route.device,
      httpStatus: undefined,
    };
    requests[route.endpoint] += 1;
    calls.push(call);
    if (calls.length > MAX_RECORDED_CALLS) calls.shift();
    options.onCall?.({ ...call });
    const answer = (code: number, body: unknown, headers: Record<string, string> = {}): void => {
      call.httpStatus = code;
      sendJson(res, code, body, headers);
    };

    let device = route.device;
    let payload: unknown;
    if (route.endpoint === 'delete') {
      payload = parseJson(await readRequestBody(req));
      const sender = (payload as { sender_device?: unknown } | undefined)?.sender_device;
      if (typeof sender === 'string') {
        device = sender;
        call.device = sender;
      }
    }

    const fault = (device === undefined ? undefined : devices.get(device)?.fault) ?? defaultFault;
    if (fault.type === 'slow') {
      await delay(fault.delayMs);
      if (closed) return;
    } else if (fault.type !== 'none') {
      await applyFault(fault, res, call);
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
      const verdict = admit(presented);
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

    const state = device === undefined ? undefined : devices.get(device);
    switch (route.endpoint) {
      case 'status':
        if (state === undefined) answer(200, { success: false, message: 'device not found!' }, limitHeaders);
        else answer(200, { success: true, message: state.status }, limitHeaders);
        return;
      case 'connect': {
        if (state === undefined || device === undefined) {
          answer(200, { success: false, message: 'device not found!' }, limitHeaders);
          return;
        }
        if (state.status === 'connected') {
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
        if (state === undefined || device === undefined) {
          answer(422, { success: false, message: 'The selected sender device is invalid.' }, limitHeaders);
          return;
        }
        devices.delete(device);
        log(`api: ${device} deleted`);
        answer(200, { success: true, message: 'Device deleted successfully' }, limitHeaders);
        return;
      case 'other':
        answer(route.methodMismatch ? 405 : 404, {
          message: route.methodMismatch ? 'Method Not Allowed' : 'Not Found',
        });
        return;
    }
  }

  async function applyFault(fault: SimFault, res: ServerResponse, call: MutableCall): Promise<void> {
    switch (fault.type) {
      case 'none':
      case 'slow':
        return;
      case 'hang':
        return; // the socket stays open until the client gives up or close() destroys it
      case 'hang_body':
        call.httpStatus = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        return;
      case '500':
        call.httpStatus = 500;
        sendJson(res, 500, { message: 'Server Error' });
        return;
      case 'html': {
        const code = fault.httpStatus ?? 200;
        call.httpStatus = code;
        send(res, code, 'text/html; charset=utf-8', htmlPage(code));
        return;
      }
      case 'garbage':
        call.httpStatus = 200;
        send(res, 200, 'application/json', "{success: true, message: 'connected'");
        return;
      case 'truncated': {
        call.httpStatus = 200;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"success":true,"message":"conn', () => res.destroy());
        return;
      }
      case 'api_error':
        call.httpStatus = 200;
        sendJson(res, 200, { success: false, message: fault.message ?? 'simulated gateway error' });
        return;
      case 'huge':
        call.httpStatus = 200;
        await writeHuge(res);
        return;
    }
  }

  async function writeHuge(res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"success":true,"message":"');
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let remaining = HUGE_BODY_BYTES;
    while (remaining > 0 && !res.destroyed && !closed) {
      const piece = remaining >= chunk.length ? chunk : chunk.subarray(0, remaining);
      remaining -= piece.length;
      hugeBytesSent += piece.length;
      // Backpressure keeps the count honest: bytes are only produced as the client reads them.
      if (!res.write(piece)) await drainedOrClosed(res);
    }
    if (!res.destroyed) res.end('"}');
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
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
      sendJson(res, 200, listDevices().map(deviceToJson));
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
      setStatus(b, status);
      sendJson(res, 200, deviceToJson(findDevice(b)));
    } else if (
      method === 'POST' &&
      a === 'devices' &&
      b !== undefined &&
      c === 'fault' &&
      parts.length === 3
    ) {
      const fault = faultFromJson(body);
      if (typeof fault === 'string') sendJson(res, 400, { error: fault });
      else if (!setFault(b, fault)) sendJson(res, 404, { error: `no device ${b}` });
      else sendJson(res, 200, deviceToJson(findDevice(b)));
    } else if (method === 'POST' && a === 'fault' && parts.length === 1) {
      const fault = faultFromJson(body);
      if (typeof fault === 'string') sendJson(res, 400, { error: fault });
      else {
        setFault('all', fault);
        sendJson(res, 200, listDevices().map(deviceToJson));
      }
    } else if (
      method === 'POST' &&
      a === 'devices' &&
      b !== undefined &&
      c === 'scan' &&
      parts.length === 3
    ) {
      if (scan(b)) sendJson(res, 200, deviceToJson(findDevice(b)));
      else sendJson(res, 404, { error: `no device ${b}` });
    } else if (method === 'POST' && a === 'rate-limit' && b === 'reset' && parts.length === 2) {
      windows.clear();
      sendJson(res, 200, { ok: true });
    } else if (method === 'GET' && a === 'stats' && parts.length === 1) {
      sendJson(res, 200, statsToJson(stats()));
    } else if (method === 'POST' && a === 'stats' && b === 'reset' && parts.length === 2) {
      requests = { status: 0, connect: 0, delete: 0, other: 0 };
      calls = [];
      hugeBytesSent = 0;
      sendJson(res, 200, { ok: true });
    } else {
      sendJson(res, 404, { error: `no control route ${method} ${path}`, routes: CONTROL_ROUTES });
    }
  }

  function findDevice(device: string): SimDevice {
    const state = devices.get(device);
    return { device, status: state?.status ?? '', fault: state?.fault ?? NONE };
  }

  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const path = new URL(req.url ?? '/', 'http://simulator').pathname;
    const handled =
      path === '/_sim' || path.startsWith('/_sim/')
        ? handleControl(req, res, path)
        : handleApi(req, res, path.startsWith('/api/') ? path.slice('/api'.length) : '');
    handled.catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else
        sendJson(res, 500, {
          error: `simulator failure: ${err instanceof Error ? err.message : String(err)}`,
        });
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    baseUrl: `${url}/api`,
    controlUrl: `${url}/_sim`,
    port,
    token,
    devices: listDevices,
    setStatus,
    setFault,
    scan,
    resetRateLimit: () => windows.clear(),
    stats,
    resetStats: () => {
      requests = { status: 0, connect: 0, delete: 0, other: 0 };
      calls = [];
      hugeBytesSent = 0;
    },
    tick,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Hung requests and idle keep-alive sockets would otherwise hold close() open forever.
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}

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
  if (path === '/delete') {
    if (method !== 'POST') return { endpoint: 'other', device: undefined, methodMismatch: true };
    return { endpoint: 'delete', device: undefined, methodMismatch: false };
  }
  return { endpoint: 'other', device: undefined, methodMismatch: false };
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function send(res: ServerResponse, code: number, contentType: string, body: string, headers = {}): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(code, { ...headers, 'content-type': contentType, 'content-length': String(buf.length) });
  res.end(buf);
}

function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, code, 'application/json', JSON.stringify(body), headers);
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function readRequestBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BODY_BYTES) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function htmlPage(code: number): string {
  const title = code === 200 ? 'Sign in to continue' : `${code} Bad Gateway`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

/** Parses the control API's fault body; a string is the reason it was refused. */
export function faultFromJson(body: unknown): SimFault | string {
  if (typeof body !== 'object' || body === null) return 'expected a JSON object like {"fault": "hang"}';
  const { fault, delay_ms: delayMs, message, http_status: httpStatus } = body as Record<string, unknown>;
  if (typeof fault !== 'string' || !(SIM_FAULT_TYPES as readonly string[]).includes(fault)) {
    return `"fault" must be one of ${SIM_FAULT_TYPES.join(', ')}`;
  }
  const type = fault as SimFaultType;
  switch (type) {
    case 'slow':
      if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
        return '"slow" needs "delay_ms": a number ≥ 0';
      }
      return { type, delayMs };
    case 'api_error':
      if (message !== undefined && typeof message !== 'string') return '"message" must be a string';
      return message === undefined ? { type } : { type, message };
    case 'html':
      if (
        httpStatus !== undefined &&
        (typeof httpStatus !== 'number' || httpStatus < 200 || httpStatus > 599)
      ) {
        return '"http_status" must be a number between 200 and 599';
      }
      return httpStatus === undefined ? { type } : { type, httpStatus };
    default:
      return { type };
  }
}

function faultToJson(fault: SimFault): Record<string, unknown> {
  switch (fault.type) {
    case 'slow':
      return { fault: fault.type, delay_ms: fault.delayMs };
    case 'api_error':
      return fault.message === undefined
        ? { fault: fault.type }
        : { fault: fault.type, message: fault.message };
    case 'html':
      return fault.httpStatus === undefined
        ? { fault: fault.type }
        : { fault: fault.type, http_status: fault.httpStatus };
    default:
      return { fault: fault.type };
  }
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
