import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopbackHost } from '../fields/fields.js';
import type { Logger } from '../log.js';
import { BasicAuthVerifier, type BasicAuthConfig, type BasicAuthOptions } from '../web/basic-auth.js';
import { renderRelinkPage, renderRelinkUnavailable, renderRelinkUnknownDevice } from '../web/relink-page.js';
import { historyQuery, nextLink, type HistoryAnswer, type HistoryQuery } from './history-params.js';
import { renderStatusPageBytes } from '../web/status-page.js';
import { buildStatusView, type StatusPageData } from '../web/status-view.js';
import {
  DEFAULT_RELINK_LIMITS,
  QrBroker,
  type ReconnectQrResult,
  type RelinkDevice,
  type RelinkLimits,
} from './relink.js';
import { FAVICON, FAVICON_CACHE, FAVICON_TYPE } from './favicon.js';
import { HttpError, newNonce, onlyGet, refuse, send, sendHtml, sendJson } from './respond.js';
import { ANY_HOST_PATHS, MISDIRECTED_MESSAGE, isSameOrigin, isTrustedHost } from './host-guard.js';
import { METRICS_STALL_MS, metricsSender, type MetricsSend } from './metrics-response.js';

export {
  reconnectResultFrom,
  type ReconnectQrResult,
  type RelinkDevice,
  type RelinkLimits,
} from './relink.js';
export type { StatusPageData } from '../web/status-view.js';
export type { HistoryAnswer, HistoryQuery } from './history-params.js';
export type { MetricsSend, StreamedBody } from './metrics-response.js';

/** What the HTTP side asks of the daemon; each answer is computed at request time. */
export interface HttpHandlers {
  /**
   * Config loaded, DB open, first cycle finished, DB writable (SPEC §6): `true`, or `false` or
   * a one-line reason why not (shown in the 503's body).
   */
  ready(): boolean | string;
  /**
   * Writes the exposition through `send`, whose body (bytes, or a producer of them) may be lent
   * only until it settles.
   */
  metrics(send: MetricsSend): Promise<void>;
  /** `GET /api/v1/devices`: the JSON list (as `status --json`). */
  devices(): unknown[] | Promise<unknown[]>;
  /**
   * `GET /api/v1/devices/{number}/history`: one page of rows (oldest first) and where the next
   * starts; `null` when no configured device has that number.
   */
  history(device: string, query: HistoryQuery): HistoryAnswer | null | Promise<HistoryAnswer | null>;
  /** `GET /`: the facts the status page shows. Absent: the page answers 404. */
  statusPage?(): StatusPageData | Promise<StatusPageData>;
  /**
   * The re-link page's view of a configured device (first account that has the number); null when
   * none has it. With `checkSoon`, also ask the device's scheduler for a prompt re-check
   * (`AccountScheduler.checkSoon`); the server throttles this per device.
   */
  relinkDevice?(
    device: string,
    options: { readonly checkSoon: boolean },
  ): RelinkDevice | null | Promise<RelinkDevice | null>;
  /**
   * One QR code through the account's budget: `scheduler.reserve(signal)`, then
   * `client.connect(device, { signal })`, mapped to a ReconnectQrResult. Must not reject for
   * gateway trouble (an `error` result instead). `standby` on a replica that does not poll (HA):
   * answered 503 with Retry-After.
   */
  reconnectQr?(device: string, signal: AbortSignal): Promise<ReconnectQrResult>;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly handlers: HttpHandlers;
  readonly log: Logger;
  /** `web.basic_auth`: protects everything but /healthz. */
  readonly basicAuth?: BasicAuthConfig | null;
  /** Overrides of the re-link page's limits (tests). */
  readonly relink?: Partial<RelinkLimits>;
  /** `public_url`: its host is served without basic auth too (DNS rebinding guard). */
  readonly publicUrl?: string | null;
  /** Overrides of basic auth's cache and limits (tests). */
  readonly auth?: Omit<BasicAuthOptions, 'now'>;
  readonly now?: () => number;
  /** How long a client may stop reading a streamed /metrics before it is dropped (tests). */
  readonly metricsStallMs?: number;
}

export interface HttpServer {
  readonly url: string;
  readonly port: number;
  /** Whether `/reconnect/{device}` is served (basic auth set, or a loopback listen address). */
  readonly relinkAvailable: boolean;
  /** A config reload changed `web.basic_auth`. */
  setBasicAuth(config: BasicAuthConfig | null): void;
  /** A config reload changed `public_url`. */
  setPublicUrl(url: string | null): void;
  close(): Promise<void>;
}

const HISTORY_PATH = /^\/api\/v1\/devices\/([^/]+)\/history$/;
const RELINK_PATH = /^\/reconnect\/([^/]+)(?:\/(qr|status))?$/;

function deviceParam(raw: string): string {
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'malformed device number in the path');
  }
  return text.replace(/^\+/, '');
}

interface Context {
  readonly handlers: HttpHandlers;
  readonly relinkAvailable: boolean;
  readonly broker: QrBroker | null;
  readonly publicUrl: string | null;
  readonly now: () => number;
  readonly metricsStallMs: number;
}

async function route(req: IncomingMessage, res: ServerResponse, ctx: Context): Promise<void> {
  const { handlers } = ctx;
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  onlyGet(req);
  if (path === '/favicon.ico') {
    res.writeHead(200, {
      'content-type': FAVICON_TYPE,
      'content-length': FAVICON.length,
      'cache-control': FAVICON_CACHE,
      'x-content-type-options': 'nosniff',
    });
    return void res.end(FAVICON);
  }
  if (path === '/readyz') {
    const ready = handlers.ready();
    if (ready === true) return send(res, 200, 'text/plain; charset=utf-8', 'ready\n');
    const why = ready === false ? '' : `: ${ready.replace(/[\r\n]+/g, ' ')}`;
    return send(res, 503, 'text/plain; charset=utf-8', `not ready${why}\n`);
  }
  if (path === '/metrics') return handlers.metrics(metricsSender(req, res, ctx.metricsStallMs));
  if (path === '/api/v1/devices') return sendJson(res, 200, await handlers.devices());
  const h = HISTORY_PATH.exec(path);
  if (h !== null) {
    const device = deviceParam(h[1] ?? '');
    const query = historyQuery(url.searchParams, ctx.now());
    const answer = await handlers.history(device, query);
    if (answer === null) throw new HttpError(404, `device ${device} is not configured`);
    return sendJson(res, 200, answer.rows, answer.next === null ? {} : { link: nextLink(url, answer.next) });
  }
  if (path === '/' && handlers.statusPage !== undefined) {
    const data = await handlers.statusPage();
    const nonce = newNonce();
    const view = buildStatusView(data, { relinkAvailable: ctx.relinkAvailable });
    return sendHtml(res, 200, nonce, await renderStatusPageBytes(view, nonce));
  }
  const r = RELINK_PATH.exec(path);
  if (r !== null && handlers.relinkDevice !== undefined) {
    // The JSON the page's script fetches: a QR code is a credential, for our own pages only.
    if (r[2] !== undefined && !isSameOrigin(req.headers.origin, req.headers.host, ctx.publicUrl)) {
      throw new HttpError(403, 'cross-origin request refused');
    }
    return relink(res, ctx, url, r[1] ?? '', r[2]);
  }
  throw new HttpError(404, `no route for ${path}`);
}

async function relink(
  res: ServerResponse,
  ctx: Context,
  url: URL,
  rawDevice: string,
  sub: string | undefined,
): Promise<void> {
  const { handlers, broker } = ctx;
  const nonce = newNonce();
  if (!ctx.relinkAvailable || broker === null || handlers.relinkDevice === undefined) {
    if (sub !== undefined) {
      throw new HttpError(
        404,
        're-linking is served only with web.basic_auth set or a loopback listen address',
      );
    }
    return sendHtml(res, 404, nonce, renderRelinkUnavailable(nonce));
  }
  const device = deviceParam(rawDevice);
  if (sub === 'qr') {
    const known = await handlers.relinkDevice(device, { checkSoon: false });
    if (known === null) throw new HttpError(404, `device ${device} is not configured`);
    const answer = await broker.qr(known.number);
    if (answer.status === 'standby') {
      // The JSON still says why: the page shows its message and asks again after retry_in_ms.
      const retryAfter = String(Math.ceil(answer.retry_in_ms / 1000));
      return sendJson(res, 503, answer, { 'retry-after': retryAfter });
    }
    return sendJson(res, 200, answer);
  }
  if (sub === 'status') {
    const watch = url.searchParams.get('watch') === '1';
    const checkSoon = watch && broker.shouldCheckSoon(device);
    const known = await handlers.relinkDevice(device, { checkSoon });
    if (known === null) throw new HttpError(404, `device ${device} is not configured`);
    return sendJson(res, 200, {
      status: known.status,
      connected: known.status === 'connected',
      last_check: known.lastCheckAt,
      now: ctx.now(),
    });
  }
  const known = await handlers.relinkDevice(device, { checkSoon: false });
  if (known === null) return sendHtml(res, 404, nonce, renderRelinkUnknownDevice(device, nonce));
  const limits = broker.limits;
  return sendHtml(
    res,
    200,
    nonce,
    renderRelinkPage(
      {
        account: known.account,
        number: known.number,
        name: known.name,
        status: known.status,
        maxQrFetches: limits.maxQrFetchesPerVisit,
        refreshAfterMs: limits.qrRefreshAfterMs,
        pollMs: limits.pollMs,
      },
      nonce,
    ),
  );
}

export function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { handlers, log } = options;
  const now = options.now ?? Date.now;
  const makeVerifier = (config: BasicAuthConfig | null | undefined): BasicAuthVerifier | null =>
    config == null ? null : new BasicAuthVerifier(config, { ...options.auth, now });
  let verifier = makeVerifier(options.basicAuth);
  let publicUrl = options.publicUrl ?? null;
  const loopback = isLoopbackHost(options.host);
  const limits: RelinkLimits = { ...DEFAULT_RELINK_LIMITS, ...options.relink };
  const reconnectQr = handlers.reconnectQr?.bind(handlers);
  const broker = reconnectQr === undefined ? null : new QrBroker(reconnectQr, limits, now);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz') {
      onlyGet(req);
      return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    }
    const auth = verifier;
    if (auth === null) {
      if (!ANY_HOST_PATHS.has(path) && !isTrustedHost(req.headers.host, publicUrl)) {
        return send(res, 421, 'text/plain; charset=utf-8', MISDIRECTED_MESSAGE);
      }
    } else {
      const outcome = await auth.check(req.headers.authorization, req.socket.remoteAddress ?? '');
      if (outcome.kind !== 'ok') return refuse(res, outcome);
    }
    return route(req, res, {
      handlers,
      relinkAvailable: auth !== null || loopback,
      broker,
      publicUrl,
      now,
      metricsStallMs: options.metricsStallMs ?? METRICS_STALL_MS,
    });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) {
        if (!res.headersSent) sendJson(res, err.status, { error: err.message }, err.headers);
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
        get relinkAvailable() {
          return verifier !== null || loopback;
        },
        setBasicAuth: (config) => {
          verifier = makeVerifier(config);
        },
        setPublicUrl: (url) => {
          publicUrl = url;
        },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
