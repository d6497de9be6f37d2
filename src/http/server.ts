import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseDuration } from '../config/duration.js';
import type { Logger } from '../log.js';

/** What the HTTP side asks of the daemon; each answer is computed at request time. */
export interface HttpHandlers {
  /** Config loaded, DB open, first cycle finished (SPEC §6). */
  ready(): boolean;
  /** Writes the exposition through `send`, whose bytes may be lent only until it settles. */
  metrics(send: (contentType: string, body: Uint8Array) => Promise<void>): Promise<void>;
  devices(): unknown[];
  /** `null` when no configured device has that number. */
  history(device: string, since: number | null): unknown[] | null;
}

export interface HttpServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`);
}

const HISTORY_PATH = /^\/api\/v1\/devices\/([^/]+)\/history$/;

function parseSince(value: string | null, now: number): number | null {
  if (value === null || value === '') return null;
  const duration = parseDuration(value);
  if (duration !== null) return now - duration;
  const abs = Date.parse(value);
  if (Number.isNaN(abs))
    throw new HttpError(400, `since: expected a duration like 7d or an ISO time, got "${value}"`);
  return abs;
}

async function route(req: IncomingMessage, res: ServerResponse, handlers: HttpHandlers): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed');
  const path = url.pathname;
  if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
  if (path === '/readyz') {
    const ready = handlers.ready();
    return send(res, ready ? 200 : 503, 'text/plain; charset=utf-8', ready ? 'ready\n' : 'not ready\n');
  }
  if (path === '/metrics') {
    return handlers.metrics(
      (contentType, body) =>
        new Promise<void>((done) => {
          res.writeHead(200, {
            'content-type': contentType,
            'content-length': body.length,
            'cache-control': 'no-store',
          });
          res.once('close', done);
          res.end(body, done);
        }),
    );
  }
  if (path === '/api/v1/devices') return sendJson(res, 200, handlers.devices());
  const h = HISTORY_PATH.exec(path);
  if (h !== null) {
    const device = decodeURIComponent(h[1] ?? '').replace(/^\+/, '');
    const rows = handlers.history(device, parseSince(url.searchParams.get('since'), Date.now()));
    if (rows === null) throw new HttpError(404, `device ${device} is not configured`);
    return sendJson(res, 200, rows);
  }
  throw new HttpError(404, `no route for ${path}`);
}

export function startHttpServer(options: {
  host: string;
  port: number;
  handlers: HttpHandlers;
  log: Logger;
}): Promise<HttpServer> {
  const { handlers, log } = options;
  const server: Server = createServer((req, res) => {
    route(req, res, handlers).catch((err: unknown) => {
      if (err instanceof HttpError) {
        sendJson(res, err.status, { error: err.message });
        return;
      }
      log.error({ err, path: req.url }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        url: `http://${host}:${addr.port}`,
        port: addr.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
