// GET /metrics: the exposition is megabytes at 10,000 devices, so the daemon may hand over a
// producer that writes it in chunks (metrics/exposition-stream.ts) rather than bytes.
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A body its producer writes in pieces (`/metrics`: megabytes at 10,000 devices), honouring
 * back-pressure: when `res.write` returns false it waits for 'drain', and it stops when `res`
 * is destroyed. Sent with chunked transfer encoding; the server ends the response.
 */
export interface StreamedBody {
  writeTo(res: ServerResponse): Promise<void>;
}

/** What a `metrics` handler calls with the exposition; the body is lent until it settles. */
export type MetricsSend = (contentType: string, body: Uint8Array | StreamedBody) => Promise<void>;

/**
 * How long a client may stop reading a streamed /metrics (see `metricsSender`). Scrape timeouts are
 * seconds; a minute leaves any real scraper room.
 */
export const METRICS_STALL_MS = 60_000;

/**
 * The `send` of one GET /metrics: bytes as they are, or a StreamedBody in chunks (chunked
 * transfer encoding). A streamed scrape holds its snapshot until the client has read it all, so
 * a client that stops reading for `stallMs` is dropped rather than allowed to pin one for good.
 */
export function metricsSender(req: IncomingMessage, res: ServerResponse, stallMs: number): MetricsSend {
  return async (contentType, body) => {
    const streamed = !(body instanceof Uint8Array);
    res.writeHead(200, {
      'content-type': contentType,
      ...(streamed ? {} : { 'content-length': body.length }),
      'cache-control': 'no-store',
    });
    if (!streamed) return ended(res, body);
    const drop = (): void => void res.destroy();
    res.setTimeout(stallMs, drop);
    try {
      // HEAD: the headers say it all, rendering the text would only be thrown away.
      if (req.method !== 'HEAD') await body.writeTo(res);
      await ended(res, undefined);
    } finally {
      // Once the response is sent the server sets the socket's keep-alive timeout itself.
      res.off('timeout', drop);
    }
  };
}

/** Ends `res` (with `body`); resolves once it is sent, or at once if the client went away. */
function ended(res: ServerResponse, body: Uint8Array | undefined): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise<void>((done) => {
    res.once('close', done);
    res.end(body, done);
  });
}
