// The few HTTP helpers every part of the simulator answers with. Answers always carry an exact
// Content-Length, so the only malformed bodies a client ever sees are the ones a fault injects
// on purpose; request bodies are read up to a bound, so a runaway client cannot make the
// stand-in buffer without end.

import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_REQUEST_BODY_BYTES = 64 * 1024;

export function send(
  res: ServerResponse,
  code: number,
  contentType: string,
  body: string,
  headers = {},
): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(code, { ...headers, 'content-type': contentType, 'content-length': String(buf.length) });
  res.end(buf);
}

export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, code, 'application/json', JSON.stringify(body), headers);
}

/** The body as text, at most 64 KiB of it: the rest is dropped. */
export async function readRequestBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BODY_BYTES) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Undefined for anything that is not JSON: callers refuse it as they would a wrong shape. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A path segment decoded; a malformed escape is kept as written rather than failing the request. */
export function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
