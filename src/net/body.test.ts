import { describe, expect, it } from 'vitest';
import { BodyTooLarge, bytesReadBefore, readBody, readSnippet } from './body.js';

async function* chunks(...parts: (string | Error)[]): AsyncIterable<Uint8Array> {
  for (const part of parts) {
    if (part instanceof Error) throw part;
    await Promise.resolve();
    yield Buffer.from(part);
  }
}

describe('bounded body reads', () => {
  it('reads a whole body within the limit', async () => {
    expect(await readBody(chunks('ab', 'cd'), 4, 'whole')).toBe('abcd');
  });

  it('refuses past the limit (whole) or keeps the prefix (prefix)', async () => {
    await expect(readBody(chunks('ab', 'cd', 'ef'), 4, 'whole')).rejects.toBeInstanceOf(BodyTooLarge);
    expect(await readBody(chunks('ab', 'cd', 'ef'), 5, 'prefix')).toBe('abcde');
  });

  it('a failing stream rejects with the bytes it got attached', async () => {
    const err = await readBody(chunks('abc', 'de', new Error('closed')), 100, 'whole').catch(
      (e: unknown) => e,
    );
    expect(bytesReadBefore(err)).toBe(5);
  });

  it('a snippet never rejects: what arrived is kept', async () => {
    expect(await readSnippet(chunks('abc', new Error('closed')), 100)).toBe('abc');
    expect(await readSnippet(chunks('abcdef'), 4)).toBe('abcd');
  });
});
