// A local WhatsGate stand-in (SPEC §5 `simulate`): the documented device API under `/api`, with
// the gateway's auth and rate-limit behaviour, plus a control API under `/_sim/` that injects
// the failures a monitor must survive. Used by tests, demos and fire drills.
//
// This file is the public entry: it validates the options, builds the device table, message
// queues, counters and rate limiter that `api.ts` and `control.ts` share (and tells the queues of
// every device change), routes requests between them, and owns
// the server's lifetime — close() must end hung requests and cancel slow answers, which is why
// it tracks sockets and timers. Everything a caller may need is exported from here.

import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createApiHandler } from './api.js';
import { createControlHandler } from './control.js';
import type { ServerLifetime, SimFault } from './faults.js';
import { sendJson } from './http.js';
import { MessageQueues, type DeliveryChange, type SimDelivery, type SimMessage } from './messages.js';
import { RateLimiter } from './rate-limit.js';
import { DeviceTable, type SimDevice } from './state.js';
import { CallStats, type SimCall, type SimulatorStats } from './stats.js';

export { CONTROL_ROUTES } from './control.js';
export {
  HUGE_BODY_BYTES,
  SIM_FAULT_TYPES,
  faultFromJson,
  type SimFault,
  type SimFaultType,
} from './faults.js';
export {
  DEFAULT_SIM_BALANCE,
  DELIVERY_DELAY_MS,
  DELIVERY_MODES,
  MAX_MESSAGE_CHARS,
  MAX_RECORDED_MESSAGES,
  MAX_SIM_BALANCE,
  MAX_SIM_TRAFFIC,
  type DeliveryChange,
  type DeliveryMode,
  type SimDelivery,
  type SimMessage,
  type SimMessageStatus,
} from './messages.js';
export { RATE_WINDOW_MS } from './rate-limit.js';
export type { SimDevice } from './state.js';
export { MAX_RECORDED_CALLS, type SimCall, type SimEndpoint, type SimulatorStats } from './stats.js';

export const DEFAULT_SIM_TOKEN = 'sim-token';
export const DEFAULT_SIM_FIRST = '100000000';
export const DEFAULT_SIM_DEVICES = 5;
export const DEFAULT_SIM_RATE_LIMIT = 60;

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
  /** Each device's message balance (`remaining`) at start. Default 1000. */
  readonly balance?: number;
  /** Background customer traffic: messages a minute queued on each connected device. Default 0. */
  readonly trafficPerMinute?: number;
  /** Clock for the rate limiter, the flap script, message delivery and call timestamps. Default `Date.now`. */
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
  /** Today's message counts, balance and delivery mode; undefined when the device is unknown. */
  delivery(device: string): SimDelivery | undefined;
  /** Stall, fail a share, set the balance, or back to normal. Undefined when the device is unknown. */
  setDelivery(device: string, change: DeliveryChange): SimDelivery | undefined;
  /** The gateway's day boundary: every device's counts drop to 0. */
  rollDay(): void;
  /** Background customer traffic per connected device, messages a minute; 0 turns it off. */
  setTraffic(perMinute: number): void;
  /** What `/send/text` accepted, oldest first; only `sender`'s when given. */
  messages(sender?: string): SimMessage[];
  resetRateLimit(): void;
  stats(): SimulatorStats;
  /** Forgets the call records and the message log. */
  resetStats(): void;
  /** Applies flap changes due by now (they are also applied before every request). */
  tick(): void;
  /** Stops listening and ends every open request, hung ones included. */
  close(): Promise<void>;
}

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
  const devices = new DeviceTable({ initial, flap: options.flap === true, now, log });
  const messages = new MessageQueues({
    devices,
    now,
    log,
    ...(options.balance === undefined ? {} : { balance: options.balance }),
    ...(options.trafficPerMinute === undefined ? {} : { trafficPerMinute: options.trafficPerMinute }),
  });
  devices.onChange((device, at, change) => messages.beforeDeviceChange(device, at, change));
  const stats = new CallStats();
  const limiter = new RateLimiter(rateLimit);
  const lifetime = new Lifetime();
  const sockets = new Set<Socket>();

  const handleApi = createApiHandler({
    devices,
    messages,
    stats,
    limiter,
    lifetime,
    token,
    rateLimit,
    now,
    onCall: options.onCall,
  });
  const handleControl = createControlHandler({ devices, messages, stats, limiter });

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
    devices: () => devices.list(),
    setStatus: (device, status) => devices.setStatus(device, status),
    setFault: (device, fault) => devices.setFault(device, fault),
    scan: (device) => devices.scan(device),
    delivery: (device) => messages.reading(device),
    setDelivery: (device, change) => messages.setDelivery(device, change),
    rollDay: () => messages.rollDay(),
    setTraffic: (perMinute) => messages.setTraffic(perMinute),
    messages: (sender) => messages.messages(sender),
    resetRateLimit: () => limiter.reset(),
    stats: () => stats.snapshot(),
    resetStats: () => {
      stats.reset();
      messages.clearLog();
    },
    tick: () => devices.tick(),
    close: async () => {
      if (lifetime.closed) return;
      lifetime.end();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Hung requests and idle keep-alive sockets would otherwise hold close() open forever.
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}

/** The closed flag and the pending `slow` timers, which close() cancels. */
class Lifetime implements ServerLifetime {
  private ended = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  get closed(): boolean {
    return this.ended;
  }

  delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  end(): void {
    this.ended = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
