// /metrics in chunks: the same bytes as a one-piece render, back-pressure from a slow reader,
// a client that goes away, and turns of the event loop while a big exposition is written.
import { Writable } from 'node:stream';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ONE_PIECE } from './device-block.js';
import type { ChunkSink } from './exposition-stream.js';
import { Metrics } from './metrics.js';
import { parseExposition } from './test-support/exposition-parser.js';
import { account, fakeSource, manyDevices, withDelivery } from './test-support/fixtures.js';
import type { FakeSource } from './test-support/fixtures.js';

const CHUNK = 64 * 1024;

function source(devices: number): FakeSource {
  return fakeSource(
    withDelivery(manyDevices(devices, 4)),
    [0, 1, 2, 3].map((i) => account({ account: `acct-${i}` })),
    [{ channel: 'ops', pending: 1 }],
  );
}

function metrics(src: FakeSource, chunkBytes?: number): Metrics {
  return new Metrics({
    source: src,
    version: '1.0.0',
    channels: ['ops'],
    processMetrics: false,
    ...(chunkBytes === undefined ? {} : { chunkBytes }),
  });
}

/** Counts what passes through to `inner`, and the most `inner` held unwritten at once. */
function probe(inner: Writable): ChunkSink & { bytes: number; writes: number; maxBuffered: number } {
  const sink = {
    bytes: 0,
    writes: 0,
    maxBuffered: 0,
    get destroyed() {
      return inner.destroyed;
    },
    write(chunk: Uint8Array | string, done: (error?: Error | null) => void): boolean {
      sink.bytes += Buffer.byteLength(chunk);
      sink.writes += 1;
      const more = inner.write(chunk, done);
      sink.maxBuffered = Math.max(sink.maxBuffered, inner.writableLength);
      return more;
    },
    once(event: 'drain' | 'close', listener: () => void) {
      return inner.once(event, listener);
    },
    removeListener(event: 'drain' | 'close', listener: () => void) {
      return inner.removeListener(event, listener);
    },
  };
  return sink;
}

/** A reader that copies every chunk (the daemon recycles its buffers) and answers on a later turn. */
function collector(): { stream: Writable; text: () => string; chunks: number[] } {
  const parts: Buffer[] = [];
  const chunks: number[] = [];
  const stream = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, done) {
      parts.push(Buffer.from(chunk));
      chunks.push(chunk.length);
      setImmediate(done);
    },
  });
  return { stream, text: () => Buffer.concat(parts).toString('utf8'), chunks };
}

describe('exposition stream', () => {
  it('writes, in chunks through back-pressure, the same bytes as a one-piece render', async () => {
    const src = source(3000);
    const expected = await metrics(src, ONE_PIECE).render();
    for (const chunkBytes of [CHUNK, 1000]) {
      const reader = collector();
      await metrics(src, chunkBytes).withExposition(async (e) => {
        await e.writeTo(reader.stream);
        await new Promise((done) => reader.stream.end(done));
      });
      expect(reader.text()).toBe(expected);
      // Many pieces, none near the size of the text (the first ones are prom-client's).
      expect(reader.chunks.length).toBeGreaterThan(expected.length / (chunkBytes + 16 * 1024));
      expect(Math.max(...reader.chunks.slice(2))).toBeLessThanOrEqual(chunkBytes + 16 * 1024);
    }
    parseExposition(expected);
  });

  it('holds a slow reader to about one chunk in flight, not the whole text', async () => {
    const src = source(3000);
    const m = metrics(src);
    const expected = Buffer.byteLength(await m.render());
    let paused = true;
    const waiting: (() => void)[] = [];
    const received: number[] = [];
    const reader = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _encoding, done) {
        received.push(chunk.length);
        if (paused) waiting.push(done);
        else setImmediate(done);
      },
    });
    const sink = probe(reader);
    let finished = false;
    const scrape = m.withExposition((e) => e.writeTo(sink)).then(() => (finished = true));

    await sleep(100);
    expect(finished).toBe(false);
    expect(sink.bytes).toBeLessThan(expected / 4);
    // The writer's buffer plus one chunk waiting: far below the ~3 MB of the text.
    expect(sink.maxBuffered).toBeLessThanOrEqual(CHUNK + 16 * 1024);

    paused = false;
    for (const done of waiting.splice(0)) done();
    await scrape;
    await new Promise((done) => reader.end(done));
    expect(sink.bytes).toBe(expected);
    expect(received.reduce((a, b) => a + b, 0)).toBe(expected);
    expect(sink.maxBuffered).toBeLessThanOrEqual(CHUNK + 16 * 1024);
  });

  it('stops when the reader goes away, and the next scrape is whole', async () => {
    const src = source(2000);
    const m = metrics(src, 4096);
    const expected = await m.render();
    let seen = 0;
    const reader = new Writable({
      write(chunk: Buffer, _encoding, done) {
        seen += chunk.length;
        if (seen > 100_000) reader.destroy();
        setImmediate(done);
      },
    });
    reader.on('error', () => {});
    const sink = probe(reader);
    await m.withExposition((e) => e.writeTo(sink));
    expect(sink.bytes).toBeLessThan(expected.length);
    expect(await m.render()).toBe(expected);
  });

  it('gives the event loop turns while a big exposition goes to a reader that never pushes back', async () => {
    const m = metrics(source(20_000));
    let turns = 0;
    let writing = true;
    const ticker = (async () => {
      while (writing) {
        await nextTurn();
        turns += 1;
      }
    })();
    const start = turns;
    let bytes = 0;
    await m.withExposition((e) =>
      e.writeTo({
        destroyed: false,
        write(chunk, done) {
          bytes += chunk.length;
          done();
          return true;
        },
        once: () => undefined,
        removeListener: () => undefined,
      }),
    );
    writing = false;
    await ticker;
    expect(bytes).toBeGreaterThan(10_000_000);
    // ~20 MB at a few ms a MB: several slices of SLICE_MS, each followed by a turn.
    expect(turns - start).toBeGreaterThan(1);
  });
});
