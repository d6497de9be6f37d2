import { describe, expect, it } from 'vitest';
import { formatSampleValue } from './exposition.js';
import { TextWriter } from './text-writer.js';

function written(write: (w: TextWriter) => void, initialBytes?: number): string {
  const w = new TextWriter(initialBytes);
  write(w);
  return w.toString();
}

describe('TextWriter', () => {
  it.each([
    ['plain', 'Sales phone', 'Sales phone'],
    ['backslash', 'a\\b', 'a\\\\b'],
    ['double quote', 'say "hi"', 'say \\"hi\\"'],
    ['line feed', 'two\nlines', 'two\\nlines'],
    ['all three', '\\"\n', '\\\\\\"\\n'],
    ['tab and carriage return stay literal', 'a\tb\rc', 'a\tb\rc'],
    ['non-ASCII', 'Zürich — 東京 📱', 'Zürich — 東京 📱'],
    ['empty', '', ''],
  ])('escapes a label value: %s', (_case, input, expected) => {
    expect(written((w) => w.labelValue(input))).toBe(expected);
  });

  it('writes text verbatim, quotes and backslashes included', () => {
    expect(written((w) => w.text('a "b" \\ c\n'))).toBe('a "b" \\ c\n');
  });

  it('encodes UTF-8 exactly as Buffer does', () => {
    const samples = ['é', 'ß€', '𝄞 music', 'Ünïcödé 😀 ok', 'x'.repeat(1000) + '語'];
    for (const s of samples) {
      const w = new TextWriter(4);
      w.text(s);
      expect(Buffer.from(w.toBytes()).equals(Buffer.from(s, 'utf8'))).toBe(true);
    }
  });

  it('replaces lone surrogates with U+FFFD rather than writing invalid UTF-8', () => {
    expect(written((w) => w.labelValue('a\ud800b\udc00c\ud83d'))).toBe('a\ufffdb\ufffdc\ufffd');
  });

  it.each([
    [0, '0'],
    [1, '1'],
    [9, '9'],
    [10, '10'],
    [1234567890, '1234567890'],
    [2 ** 31 - 1, '2147483647'],
    [2 ** 31, '2147483648'],
    [1732468000.5, '1732468000.5'],
    [1e21, '1e+21'],
    [-3, '-3'],
    [0.001, '0.001'],
    [Number.NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ])('writes the number %s as %s', (value, expected) => {
    expect(written((w) => w.number(value))).toBe(expected);
  });

  it('writes every kind of number exactly as String() does', () => {
    const values = [
      0,
      0.5,
      0.001,
      0.01,
      0.1,
      0.999,
      1.001,
      1.01,
      1.1,
      99.999,
      2 ** 31 - 0.001,
      2 ** 31 + 0.5,
    ];
    for (let i = 0; i < 20_000; i += 1) {
      const ms = 1_700_000_000_000 + Math.floor(Math.random() * 100_000_000_000);
      values.push(
        ms / 1000,
        Math.random() * 1000,
        Math.random() * 2 ** 31,
        Math.floor(Math.random() * 1e6) / 1000,
      );
      values.push(
        Math.round(Math.random() * 1e4) / 100,
        Math.random() * 1e-3,
        -Math.random() * 1e9,
        1 / (i + 3),
      );
    }
    // Each digit count, either side of its bound; every millisecond of one second.
    for (let p = 1; p <= 1e10; p *= 10) values.push(p - 1, p, p + 1, p - 0.001, p + 0.05);
    for (let ms = 0; ms < 1000; ms += 1) values.push(1_732_468_000 + ms / 1000);
    const w = new TextWriter();
    for (const v of values) {
      w.number(v);
      w.byte(0x0a);
    }
    expect(w.toString()).toBe(values.map((v) => `${formatSampleValue(v)}\n`).join(''));
  });

  it('copies short and long pieces alike', () => {
    const short = new TextEncoder().encode('abc');
    const long = new TextEncoder().encode('x'.repeat(200));
    const w = new TextWriter(1);
    w.bytes(short);
    w.bytes(long);
    w.bytes(short);
    expect(w.toString()).toBe(`abc${'x'.repeat(200)}abc`);
  });

  it('grows from a tiny buffer without losing bytes', () => {
    const w = new TextWriter(1);
    let expected = '';
    for (let i = 0; i < 5000; i += 1) {
      w.labelValue(`v"${i}`);
      w.byte(0x0a);
      expected += `v\\"${i}\n`;
    }
    expect(w.toString()).toBe(expected);
    expect(w.length).toBe(Buffer.byteLength(expected));
  });

  it('take hands out what was written and goes on in the next buffer, which it may outgrow', () => {
    const first = new Uint8Array(16);
    const second = new Uint8Array(16);
    const w = new TextWriter(first);
    w.text('abc');
    expect(w.buffer).toBe(first);
    const taken = w.take(second);
    expect(taken.buffer).toBe(first.buffer);
    expect(Buffer.from(taken).toString()).toBe('abc');
    expect(w.length).toBe(0);
    w.text('a longer text');
    // Grown: the pooled buffer is left behind, and `buffer` says so.
    expect(w.buffer).not.toBe(second);
    expect(w.toString()).toBe('a longer text');
    expect(Buffer.from(taken).toString()).toBe('abc');
  });
});
