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
  /** `#buf` as a DataView, for `putWords`. */
  #words: DataView;
  #len = 0;

  /** `initial`: a size, or a buffer to write into (from a pool: see `take`). */
  constructor(initial: number | Uint8Array = 64 * 1024) {
    this.#buf = typeof initial === 'number' ? new Uint8Array(initial) : initial;
    this.#words = wordsOf(this.#buf);
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
    this.#words = wordsOf(next);
    this.#len = 0;
    return written;
  }

  bytes(piece: Uint8Array): void {
    const n = piece.length;
    this.#ensure(n);
    // A loop for a few bytes (separators, a status), whose native call costs more than it copies.
    if (n > 16) {
      this.#buf.set(piece, this.#len);
      this.#len += n;
      return;
    }
    const buf = this.#buf;
    let p = this.#len;
    for (let i = 0; i < n; i += 1) buf[p++] = piece[i]!;
    this.#len = p;
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

  /**
   * A sample value, as `String(value)` writes it (Go parses that): without making the string
   * for the integers counters and flags use and for timestamps in seconds with milliseconds —
   * 200,000 strings of garbage per scrape at 100,000 devices otherwise.
   */
  number(value: number): void {
    this.#ensure(MAX_NUMBER_BYTES);
    this.#len = putNumber(this.#buf, this.#len, value);
  }

  /**
   * Room for `extra` more bytes: the buffer to write into directly from `length` on, with the
   * put* functions, then `commit`. One check for a whole line (or a device's lines) rather than
   * one per piece: the device block writes ~2 million lines a scrape at 100,000 devices.
   */
  reserve(extra: number): Uint8Array {
    this.#ensure(extra);
    return this.#buf;
  }

  /** `reserve`'s buffer as a DataView (the same bytes), for `putWords`; ask again after `reserve`. */
  get words(): DataView {
    return this.#words;
  }

  /** After writing into `reserve`'s buffer: where the written bytes end. */
  commit(length: number): void {
    this.#len = length;
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
    this.#words = wordsOf(next);
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

/** The longest `String(value)` of a double, `-1.7976931348623157e+308`, rounded up. */
export const MAX_NUMBER_BYTES = 32;

/** Copies `piece` to `buf[p…]`; returns the end. The caller reserved the room. */
export function putBytes(buf: Uint8Array, p: number, piece: Uint8Array): number {
  const n = piece.length;
  // A loop for a few bytes (separators, a status), whose native call costs more than it copies.
  if (n > 16) {
    buf.set(piece, p);
    return p + n;
  }
  for (let i = 0; i < n; i += 1) buf[p + i] = piece[i]!;
  return p + n;
}

/** A DataView of `bytes`, for `putWords`. */
export function wordsOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Copies `source[start…end)` to `target[p…]` four bytes at a time; returns the end. For the ids
 * and info texts every line repeats (~30 B): a byte loop was a fifth of a scrape, and `set`
 * needs a view object per call.
 */
export function putWords(target: DataView, p: number, source: DataView, start: number, end: number): number {
  let i = start;
  for (; i + 4 <= end; i += 4, p += 4) target.setUint32(p, source.getUint32(i));
  for (; i < end; i += 1, p += 1) target.setUint8(p, source.getUint8(i));
  return p;
}

/**
 * `value` as `String(value)` writes it, to `buf[p…]` (MAX_NUMBER_BYTES reserved); returns the
 * end. Integers below 2^31 and non-negative values with at most three decimals (timestamps in
 * seconds from milliseconds) without making a string.
 */
export function putNumber(buf: Uint8Array, p: number, value: number): number {
  if (value >= 0 && value < 2 ** 31) {
    const int = value | 0;
    if (int === value) return putUint(buf, p, int);
    // k/1000 exactly: below 2^31 a double's spacing is under 2^-22, far finer than 0.001, so
    // no shorter decimal names the same double and String() writes exactly these digits.
    const k = Math.round(value * 1000);
    if (k / 1000 === value) {
      const whole = Math.floor(k / 1000);
      const frac = k - whole * 1000;
      p = putUint(buf, p, whole);
      buf[p++] = 0x2e;
      const tens = ((frac / 10) | 0) % 10;
      const units = frac % 10;
      buf[p++] = 0x30 + ((frac / 100) | 0);
      if (tens !== 0 || units !== 0) buf[p++] = 0x30 + tens;
      if (units !== 0) buf[p++] = 0x30 + units;
      return p;
    }
  }
  const text = formatSampleValue(value);
  // ASCII only: digits, `.`, `e`, signs, `NaN`, `Inf`.
  for (let i = 0; i < text.length; i += 1) buf[p++] = text.charCodeAt(i);
  return p;
}

/** A non-negative integer below 2^31 in decimal; returns the end. */
export function putUint(buf: Uint8Array, p: number, value: number): number {
  if (value < 10) {
    buf[p] = 0x30 + value;
    return p + 1;
  }
  const end =
    p +
    (value < 100
      ? 2
      : value < 1000
        ? 3
        : value < 10_000
          ? 4
          : value < 100_000
            ? 5
            : value < 1_000_000
              ? 6
              : value < 10_000_000
                ? 7
                : value < 100_000_000
                  ? 8
                  : value < 1_000_000_000
                    ? 9
                    : 10);
  let q = end;
  let v = value;
  while (v >= 10) {
    const next = (v / 10) | 0;
    buf[--q] = 0x30 + v - next * 10;
    v = next;
  }
  buf[--q] = 0x30 + v;
  return end;
}

/** U+FFFD REPLACEMENT CHARACTER. */
function writeReplacement(buf: Uint8Array, p: number): number {
  buf[p] = 0xef;
  buf[p + 1] = 0xbf;
  buf[p + 2] = 0xbd;
  return p + 3;
}
