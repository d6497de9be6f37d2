// /metrics goes out in chunks. At 10,000 devices the exposition is ~11 MB, at 100,000 ~110 MB:
// rendered in one piece it blocks the event loop for the whole render (polls start late, the
// scheduler skips ticks) and needs a buffer the size of the text, which either stays allocated
// between scrapes or is garbage the size of the text on every scrape. Instead the blocks we
// write ourselves (accounts, devices) go into small pooled buffers, each handed to the socket as
// soon as it is full:
// - back-pressure: when `write` returns false, nothing more is rendered until 'drain', so a slow
//   reader holds the daemon to about one chunk in flight, not the whole text;
// - the event loop gets a turn (setImmediate) whenever a slice of rendering has run SLICE_MS,
//   even when the socket never pushes back — a 'drain' can arrive in the same macrotask
//   (process.nextTick), which would not let timers or I/O run;
// - a chunk's buffer goes back to the pool only from the write's callback, when the socket is
//   done with its bytes.
// What is written is fixed when the scrape starts (prom-client's text and snapshots of the
// accounts and devices), so the bytes equal a one-piece render made at the same moment.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { TextWriter } from './text-writer.js';

/**
 * Where an exposition is written: the parts of a `ServerResponse` (or any `Writable`) used.
 * `write`'s callback must be called once the sink is done with the chunk's bytes.
 */
export interface ChunkSink {
  write(chunk: Uint8Array | string, callback: (error?: Error | null) => void): boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  removeListener(event: 'drain' | 'close', listener: () => void): unknown;
  readonly destroyed: boolean;
}

/** Rendering time after which the event loop gets a turn. */
export const SLICE_MS = 10;

/** How much of a block goes to the socket at a time, by default. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;

/**
 * Idle chunk buffers. A few are kept between scrapes (a few hundred KiB at most); more in use
 * at once (overlapping scrapes) are allocated and left to the GC.
 */
export class ChunkPool {
  readonly #idle: Uint8Array[] = [];

  /**
   * `chunkBytes`: when a chunk is handed over. Buffers have room for a line beyond it, so a
   * chunk rarely outgrows its buffer (the writer grows one if it must; that one is not kept).
   */
  constructor(
    readonly chunkBytes: number,
    readonly maxIdle = 4,
  ) {}

  get bufferBytes(): number {
    // A one-piece render (ONE_PIECE) starts at 64 KiB and grows; its buffers are not kept.
    return Number.isFinite(this.chunkBytes) ? this.chunkBytes + 16 * 1024 : 64 * 1024;
  }

  take(): Uint8Array {
    return this.#idle.pop() ?? new Uint8Array(this.bufferBytes);
  }

  give(buffer: Uint8Array): void {
    if (buffer.length === this.bufferBytes && this.#idle.length < this.maxIdle) this.#idle.push(buffer);
  }
}

/** Text written from a snapshot taken when the scrape started, in chunks. */
export interface Block {
  /**
   * Writes into `out`, pausing (a `yield`) whenever `out` holds `chunkBytes` or more; the
   * caller takes the bytes (`out.take`) before resuming.
   */
  chunks(out: TextWriter, chunkBytes: number): Generator<void, void, void>;
  /** Written (or abandoned): the snapshot may serve the next scrape. */
  recycle(): void;
}

/**
 * One scrape's exposition, fixed when it was made; written once, and only until `release`
 * (`Metrics.withExposition` lends it): afterwards its snapshot may serve another scrape.
 */
export class Exposition {
  readonly contentType: string;
  /** prom-client's text and our blocks, in the order they are written. */
  readonly #pieces: readonly (string | Block)[];
  readonly #pool: ChunkPool;
  #used = false;
  #writing = false;
  #released = false;

  constructor(contentType: string, pieces: readonly (string | Block)[], pool: ChunkPool) {
    this.contentType = contentType;
    this.#pieces = pieces;
    this.#pool = pool;
  }

  /**
   * Writes the whole text to `sink` (not ending it), honouring back-pressure. Resolves early,
   * without an error, if the sink is destroyed meanwhile (the client went away).
   */
  async writeTo(sink: ChunkSink): Promise<void> {
    if (this.#used || this.#released) throw new Error('an exposition is written once, while lent');
    this.#used = true;
    this.#writing = true;
    try {
      await this.#write(sink);
    } finally {
      this.#writing = false;
    }
  }

  /**
   * Ends the loan: the snapshot goes back for the next scrape — unless a write its borrower did
   * not wait for still reads it; then it is left to the GC.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#writing) return;
    for (const piece of this.#pieces) if (typeof piece !== 'string') piece.recycle();
  }

  async #write(sink: ChunkSink): Promise<void> {
    const pool = this.#pool;
    const pace = new Pace(sink);
    const out = new TextWriter(pool.take());
    for (const piece of this.#pieces) {
      if (typeof piece === 'string') {
        // What a block left in `out` goes first: the text must stay in order.
        if (out.length > 0 && !(await sendChunk(out, pool, pace))) return;
        if (piece !== '' && !(await pace.send(piece, ignore))) return;
        continue;
      }
      for (const _ of piece.chunks(out, pool.chunkBytes)) {
        if (!(await sendChunk(out, pool, pace))) return;
      }
    }
    if (out.length > 0) await sendChunk(out, pool, pace);
    else pool.give(out.buffer);
  }
}

/** Hands what `out` holds to the sink and gives `out` a fresh buffer; false: the sink is gone. */
function sendChunk(out: TextWriter, pool: ChunkPool, pace: Pace): Promise<boolean> {
  const buffer = out.buffer;
  const bytes = out.take(pool.take());
  return pace.send(bytes, () => pool.give(buffer));
}

function ignore(): void {}

/** The whole text as one string: for tests and small setups (it copies every chunk). */
export async function expositionText(exposition: Exposition): Promise<string> {
  const parts: Buffer[] = [];
  await exposition.writeTo({
    destroyed: false,
    write(chunk, done) {
      parts.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
      done();
      return true;
    },
    once: ignore,
    removeListener: ignore,
  });
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Writes with back-pressure and gives the event loop a turn every SLICE_MS. The first write is
 * followed by a turn whatever the time: the scrape has just taken its device snapshot in the same
 * turn (5–10 ms at 100,000 devices).
 */
class Pace {
  readonly #sink: ChunkSink;
  #sliceStart = Number.NEGATIVE_INFINITY;

  constructor(sink: ChunkSink) {
    this.#sink = sink;
  }

  async send(chunk: Uint8Array | string, done: () => void): Promise<boolean> {
    const sink = this.#sink;
    if (sink.destroyed) {
      done();
      return false;
    }
    if (!sink.write(chunk, done)) await drained(sink);
    if (performance.now() - this.#sliceStart >= SLICE_MS) {
      await nextTurn();
      this.#sliceStart = performance.now();
    }
    return !sink.destroyed;
  }
}

/** Resolves on 'drain', or on 'close' (then `destroyed` says so). */
function drained(sink: ChunkSink): Promise<void> {
  if (sink.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      sink.removeListener('drain', done);
      sink.removeListener('close', done);
      resolve();
    };
    sink.once('drain', done);
    sink.once('close', done);
  });
}
