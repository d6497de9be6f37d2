// GET /metrics with the real exporter, wired as the daemon wires it: streamed in chunks, the
// same bytes as a one-piece render, back-pressure from a client that does not read.
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { ONE_PIECE } from '../metrics/device-block.js';
import type { ChunkSink } from '../metrics/exposition-stream.js';
import { Metrics } from '../metrics/metrics.js';
import { account, fakeSource, manyDevices, withDelivery } from '../metrics/test-support/fixtures.js';
import type { FakeSource } from '../metrics/test-support/fixtures.js';
import { startHttpServer, type HttpHandlers, type HttpServer } from './server.js';

const CHUNK = 64 * 1024;
const errors: unknown[] = [];
const log = createLogger(
  'error',
  new Writable({
    write: (chunk: Buffer, _e, cb) => {
      errors.push(chunk.toString());
      cb();
    },
  }),
);

function source(devices: number): FakeSource {
  return fakeSource(
    withDelivery(manyDevices(devices, 4)),
    [0, 1, 2, 3].map((i) => account({ account: `acct-${i}` })),
  );
}

function exporter(src: FakeSource, chunkBytes?: number): Metrics {
  return new Metrics({
    source: src,
    version: '1.0.0',
    processMetrics: false,
    ...(chunkBytes === undefined ? {} : { chunkBytes }),
  });
}

/** What the daemon passes (daemon.ts); `watch` sees every write to the response. */
function metricsHandler(m: Metrics, watch?: (res: ServerResponse) => ChunkSink): HttpHandlers['metrics'] {
  return (send) =>
    m.withExposition((e) =>
      send(m.contentType, watch === undefined ? e : { writeTo: (res) => e.writeTo(watch(res)) }),
    );
}

/** Forwards to `res`, noting bytes, writes, and the most `res` held unsent at once. */
function watcher() {
  const seen = { bytes: 0, writes: 0, maxBuffered: 0 };
  const wrap = (res: ServerResponse): ChunkSink => ({
    get destroyed() {
      return res.destroyed;
    },
    write(chunk, done) {
      seen.bytes += Buffer.byteLength(chunk);
      seen.writes += 1;
      const more = res.write(chunk, done);
      seen.maxBuffered = Math.max(seen.maxBuffered, res.writableLength);
      return more;
    },
    once: (event, listener) => res.once(event, listener),
    removeListener: (event, listener) => res.removeListener(event, listener),
  });
  return { seen, wrap };
}

function get(url: string, method = 'GET'): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    request(`${url}/metrics`, { method, agent: false }, resolve).on('error', reject).end();
  });
}

function body(res: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  return new Promise((resolve, reject) => {
    res.on('data', (d: Buffer) => parts.push(d));
    res.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    res.on('error', reject);
  });
}

describe('GET /metrics', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    errors.length = 0;
  });

  async function start(metrics: HttpHandlers['metrics'], metricsStallMs?: number): Promise<string> {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      log,
      handlers: { ready: () => true, metrics, devices: () => [], history: () => null },
      ...(metricsStallMs === undefined ? {} : { metricsStallMs }),
    });
    return server.url;
  }

  it('streams 3,000 devices in chunks: the bytes of a one-piece render', async () => {
    const src = source(3000);
    const expected = await exporter(src, ONE_PIECE).render();
    const { seen, wrap } = watcher();
    const url = await start(metricsHandler(exporter(src, 4096), wrap));
    const res = await get(url);
    expect(res.statusCode).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await body(res)).toBe(expected);
    expect(seen.writes).toBeGreaterThan(expected.length / (4096 + 16 * 1024));
  });

  it('holds a client that does not read to about one chunk, then sends it all', async () => {
    // ~13 MB: more than the loopback socket's kernel buffers take while nobody reads.
    const src = source(12_000);
    const m = exporter(src);
    const expected = await m.render();
    const { seen, wrap } = watcher();
    const url = await start(metricsHandler(m, wrap));
    const res = await get(url);
    res.pause();
    // Wait until the server has stopped writing: it waits for 'drain'.
    let writes = -1;
    while (writes !== seen.writes) {
      writes = seen.writes;
      await sleep(150);
    }
    expect(seen.bytes).toBeLessThan(Buffer.byteLength(expected) / 2);
    expect(seen.maxBuffered).toBeLessThanOrEqual(2 * (CHUNK + 16 * 1024));
    const text = await body(res.resume());
    expect(text.length).toBe(expected.length);
    expect(text).toBe(expected);
    expect(seen.maxBuffered).toBeLessThanOrEqual(2 * (CHUNK + 16 * 1024));
  });

  it('answers HEAD with the headers alone, rendering no text', async () => {
    let written = false;
    const url = await start((send) =>
      send('text/plain', {
        writeTo: () => {
          written = true;
          return Promise.resolve();
        },
      }),
    );
    const res = await get(url, 'HEAD');
    expect(res.statusCode).toBe(200);
    expect(await body(res)).toBe('');
    expect(written).toBe(false);
  });

  it('ends the scrape quietly when the client goes away, and serves the next one whole', async () => {
    const src = source(6000);
    const m = exporter(src);
    const expected = await m.render();
    const { seen, wrap } = watcher();
    let scrapes = 0;
    const handler = metricsHandler(m, wrap);
    const url = await start((send) => handler(send).finally(() => (scrapes += 1)));
    const res = await get(url);
    await new Promise((done) => res.once('data', done));
    res.destroy();
    while (scrapes === 0) await sleep(10);
    expect(seen.bytes).toBeLessThan(Buffer.byteLength(expected));
    expect(await body(await get(url))).toBe(expected);
    expect(errors).toEqual([]);
  });

  it('drops a client that stops reading for good, freeing the scrape, and serves the next one', async () => {
    const src = source(12_000);
    const m = exporter(src);
    const expected = await m.render();
    let scrapes = 0;
    const handler = metricsHandler(m);
    const url = await start((send) => handler(send).finally(() => (scrapes += 1)), 300);
    const res = await get(url);
    res.pause();
    const started = Date.now();
    // The server gives up on it: its scrape settles (the paused client does not even notice).
    while (scrapes === 0) await sleep(10);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    res.destroy();
    expect(await body(await get(url))).toBe(expected);
    expect(errors).toEqual([]);
  });
});
