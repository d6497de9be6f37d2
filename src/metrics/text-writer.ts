// A growable UTF-8 byte buffer for building the exposition text. Building ~120,000 lines as
// JavaScript strings (ropes or arrays to join) keeps every piece alive until the end, so the
// garbage survives into the old generation and the process's RSS balloons past 200 MB at
// 10,000 devices. Writing bytes into reused buffers leaves almost nothing to collect; `take`
// hands a filled buffer to the socket and carries on in another, so /metrics goes out in
// chunks and no buffer ever holds the whole exposition.

import { formatSampleValue } from './exposition.js';

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const LINE_FEED = 0x0a;
const LETTER_N = 0x6e;

const encoder = new TextEncoder();

/** Pre-encodes a constant piece of text (metric names, label keys) once. */
export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}

export class TextWriter {
  #buf: Uint8Array;
  #len = 0;

  /** `initial`: a size, or a buffer to write into (from a pool: see `take`). */
  constructor(initial: number | Uint8Array = 64 * 1024) {
    this.#buf = typeof initial === 'number' ? new Uint8Array(initial) : initial;
  }

  get length(): number {
    return this.#len;
  }

  /**
   * The buffer being written into, whole: what a pool gets back once the bytes `take` handed
   * out are no longer needed. Not the same object after a write that had to grow it.
   */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /**
   * Hands out what was written (a view, no copy) and goes on writing into `next` from its
   * start. The view stays valid for as long as nobody writes into its buffer again.
   */
  take(next: Uint8Array): Uint8Array {
    const written = this.#buf.subarray(0, this.#len);
    this.#buf = next;
    this.#len = 0;
    return written;
  }

  bytes(piece: Uint8Array): void {
    this.#ensure(piece.length);
    this.#buf.set(piece, this.#len);
    this.#len += piece.length;
  }

  byte(value: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = value;
  }

  /** Writes text as UTF-8, verbatim. */
  text(value: string): void {
    this.#write(value, false);
  }

  /** Writes a label value as UTF-8 with the format's escapes (`\\`, `\"`, `\n`). */
  labelValue(value: string): void {
    this.#write(value, true);
  }

  /** A sample value: the integers counters and flags use without allocating, else Go-parseable text. */
  number(value: number): void {
    if (Number.isInteger(value) && value >= 0 && value < 2 ** 31) {
      this.#ensure(10);
      const buf = this.#buf;
      if (value < 10) {
        buf[this.#len++] = 0x30 + value;
        return;
      }
      let digits = 0;
      for (let v = value; v > 0; v = Math.floor(v / 10)) digits += 1;
      let end = this.#len + digits;
      this.#len = end;
      for (let v = value; v > 0; v = Math.floor(v / 10)) buf[--end] = 0x30 + (v % 10);
      return;
    }
    this.text(formatSampleValue(value));
  }

  /** A copy of what was written. */
  toBytes(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }

  toString(): string {
    return Buffer.from(this.#buf.buffer, this.#buf.byteOffset, this.#len).toString('utf8');
  }

  #ensure(extra: number): void {
    const need = this.#len + extra;
    if (need <= this.#buf.length) return;
    // Doubling, or one step to what a long value needs (plus slack).
    const size = Math.max(this.#buf.length * 2, Math.ceil(need * 1.125));
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  // A hand-rolled encoder: most values are short ASCII (numbers, account names), for which a
  // loop beats a native call per value, and escaping happens in the same pass.
  #write(value: string, escape: boolean): void {
    const n = value.length;
    // Worst case: 3 bytes per UTF-16 unit (an escape is 2, a surrogate pair 4 for 2 units), so
    // one check up front covers the whole loop.
    this.#ensure(n * 3);
    const buf = this.#buf;
    let p = this.#len;
    for (let i = 0; i < n; i += 1) {
      const c = value.charCodeAt(i);
      if (c < 0x80) {
        if (escape && (c === BACKSLASH || c === QUOTE || c === LINE_FEED)) {
          buf[p++] = BACKSLASH;
          buf[p++] = c === LINE_FEED ? LETTER_N : c;
        } else {
          buf[p++] = c;
        }
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 0x3f);
      } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const low = value.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
          buf[p++] = 0xf0 | (cp >> 18);
          buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
          buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
          buf[p++] = 0x80 | (cp & 0x3f);
          i += 1;
        } else {
          p = writeReplacement(buf, p);
        }
      } else if (c >= 0xd800 && c <= 0xdfff) {
        // A lone surrogate is not valid UTF-8; Prometheus would reject the line.
        p = writeReplacement(buf, p);
      } else {
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      }
    }
    this.#len = p;
  }
}

/** U+FFFD REPLACEMENT CHARACTER. */
function writeReplacement(buf: Uint8Array, p: number): number {
  buf[p] = 0xef;
  buf[p + 1] = 0xbf;
  buf[p + 2] = 0xbd;
  return p + 3;
}
