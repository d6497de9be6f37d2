// A multipart/form-data body (RFC 7578) built by hand: sendPhoto needs one file part and a few
// fields, which does not justify a dependency, and a Buffer keeps the request replayable.

import { randomBytes } from 'node:crypto';

export interface FilePart {
  readonly filename: string;
  readonly contentType: string;
  readonly data: Buffer;
}

export interface Multipart {
  readonly contentType: string;
  readonly body: Buffer;
}

/** Quotes a name or filename for Content-Disposition (ours are ASCII; quotes and CR/LF dropped). */
function quoted(text: string): string {
  return `"${text.replace(/["\r\n\\]/g, '_')}"`;
}

export function multipart(
  fields: Readonly<Record<string, string>>,
  files: Readonly<Record<string, FilePart>>,
  boundary = `whatsgate-${randomBytes(12).toString('hex')}`,
): Multipart {
  const chunks: Buffer[] = [];
  const text = (s: string): void => {
    chunks.push(Buffer.from(s, 'utf8'));
  };
  for (const [name, value] of Object.entries(fields)) {
    text(`--${boundary}\r\nContent-Disposition: form-data; name=${quoted(name)}\r\n\r\n${value}\r\n`);
  }
  for (const [name, file] of Object.entries(files)) {
    text(
      `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(name)}; filename=${quoted(file.filename)}\r\n` +
        `Content-Type: ${file.contentType}\r\n\r\n`,
    );
    chunks.push(file.data);
    text('\r\n');
  }
  text(`--${boundary}--\r\n`);
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}
