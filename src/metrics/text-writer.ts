// A growable UTF-8 byte buffer for building the exposition text. Building ~120,000 lines as
// JavaScript strings (ropes or arrays to join) keeps every piece alive until the end, so the
// garbage survives into the old generation and the process's RSS balloons past 200 MB at
// 10,000 devices. Writing bytes into one reused buffer leaves almost nothing to collect.

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

  constructor(initialBytes = 64 * 1024) {
    this.#buf = new Uint8Array(initialBytes);
  }

  get length(): number {
    return this.#len;
  }

  /**
   * Starts over. A buffer grown for one huge scrape shrinks back once scrapes are small again
   * (judged by what was written since the last reset), so a reload from 10,000 devices to 10
   * does not hold megabytes for good.
   */
  reset(): void {
    if (this.#buf.length > 1024 * 1024 && this.#len * 4 < this.#buf.length) {
      this.#buf = new Uint8Array(Math.max(64 * 1024, this.#len * 2));
    }
    this.#len = 0;
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

  /** What was written, without copying: valid until the next write or reset. */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  toString(): string {
    return Buffer.from(this.#buf.buffer, this.#buf.byteOffset, this.#len).toString('utf8');
  }

  /** Makes room for `extra` more bytes at once, so a known-large write grows the buffer once. */
  reserve(extra: number): void {
    this.#ensure(extra);
  }

  #ensure(extra: number): void {
    const need = this.#len + extra;
    if (need <= this.#buf.length) return;
    // Doubling for small steps; one exact step (plus slack) for a big reservation.
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
