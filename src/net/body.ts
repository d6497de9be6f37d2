// Bounded reads of a response body: a 20 MB answer is refused (or cut) after the limit, never
// buffered whole, and a read that fails says how many bytes it got.

/** The body went past the limit of a whole-body read. */
export class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
}

/** How many bytes a failed read got, attached to the error it threw. */
const BYTES_READ = Symbol('bytesRead');

/** Bytes received before `err` (thrown by readBody) ended the read; 0 when unknown. */
export function bytesReadBefore(err: unknown): number {
  const n = (err as { [BYTES_READ]?: unknown } | null)?.[BYTES_READ];
  return typeof n === 'number' ? n : 0;
}

type Body = AsyncIterable<Uint8Array>;

/**
 * Reads at most `limit` bytes and stops the transfer past it. `whole`: past the limit is a
 * BodyTooLarge error; `prefix`: the first `limit` bytes are returned. A failing stream rejects
 * with its error, carrying the bytes read so far (bytesReadBefore).
 */
export async function readBody(body: Body, limit: number, mode: 'whole' | 'prefix'): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (size + buf.length > limit) {
        if (mode === 'whole') throw new BodyTooLarge();
        chunks.push(buf.subarray(0, limit - size));
        size = limit;
        break; // leaving the loop destroys the stream, which drops the connection
      }
      chunks.push(buf);
      size += buf.length;
    }
  } catch (err) {
    if (err !== null && typeof err === 'object') Object.assign(err, { [BYTES_READ]: size });
    throw err;
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Up to `limit` bytes for an error message; never rejects — what arrived before a failure is kept. */
export async function readSnippet(body: Body, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      chunks.push(buf);
      size += buf.length;
      if (size >= limit) break; // leaving the loop destroys the stream
    }
  } catch {
    // what arrived is enough for a message
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
