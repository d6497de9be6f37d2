// A local SMTP server for the demo: every message the daemon's email channel sends is saved as an
// .eml file (open it in any mail program) instead of being delivered. Built on smtp-server, a
// development dependency: a production install (npm install --omit=dev) has no catcher, and the
// demo says so instead of failing.

import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { SMTPServer, SMTPServerDataStream } from 'smtp-server';

/** A bound on one message: the demo's alerts are small, a QR code included. */
const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

export interface CaughtMail {
  /** Where the .eml file was written. */
  readonly file: string;
  /** The decoded Subject header ('' when missing). */
  readonly subject: string;
  readonly to: readonly string[];
}

export interface MailCatcherOptions {
  /** Folder for the .eml files; created when missing. */
  readonly dir: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly onMail?: (mail: CaughtMail) => void;
}

export interface MailCatcher {
  readonly port: number;
  /** `smtp://HOST:PORT`: what an email channel's `smtp` points at. */
  readonly url: string;
  close(): Promise<void>;
}

/** Thrown when smtp-server is not installed (a production install). */
export class MailCatcherUnavailableError extends Error {
  override name = 'MailCatcherUnavailableError';
}

export async function startMailCatcher(options: MailCatcherOptions): Promise<MailCatcher> {
  let Server: typeof SMTPServer;
  try {
    ({ SMTPServer: Server } = await import('smtp-server'));
  } catch (err) {
    throw new MailCatcherUnavailableError(
      'smtp-server is not installed (it is a development dependency: run npm ci in a checkout)',
      { cause: err },
    );
  }
  const host = options.host ?? '127.0.0.1';
  mkdirSync(options.dir, { recursive: true });
  let count = 0;

  const server = new Server({
    // Plain, unauthenticated SMTP on loopback: a catcher, not a relay.
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    banner: 'whatsgate-monitor demo mail catcher',
    size: MAX_MESSAGE_BYTES,
    closeTimeout: 1_000,
    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err: Error) => callback(err));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(Object.assign(new Error('message too large'), { responseCode: 552 }));
          return;
        }
        const raw = Buffer.concat(chunks);
        count += 1;
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const file = join(options.dir, `${stamp}-${String(count).padStart(3, '0')}.eml`);
        try {
          writeFileSync(file, raw);
        } catch (err) {
          callback(err as Error);
          return;
        }
        const to = session.envelope.rcptTo.map((r) => r.address);
        options.onMail?.({ file, subject: subjectOf(raw.toString('utf8')), to });
        callback(null, 'saved');
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // Later errors (a client misbehaving) must not crash the demo.
  server.on('error', () => undefined);
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    url: `smtp://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The Subject header of a raw message: unfolded, RFC 2047 encoded words decoded. */
export function subjectOf(raw: string): string {
  const headerEnd = raw.search(/\r?\n\r?\n/);
  const head = (headerEnd < 0 ? raw : raw.slice(0, headerEnd)).replace(/\r?\n[ \t]+/g, ' ');
  const line = head.split(/\r?\n/).find((l) => /^subject:/i.test(l));
  if (line === undefined) return '';
  return decodeWords(line.slice('subject:'.length).trim());
}

function decodeWords(text: string): string {
  // Whitespace between two adjacent encoded words is not part of the text (RFC 2047 §6.2).
  return text
    .replace(/(=\?[^?]+\?[bqBQ]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(
      /=\?([^?]+)\?([bqBQ])\?([^?]*)\?=/g,
      (_match, charset: string, encoding: string, data: string) => {
        const bytes =
          encoding.toUpperCase() === 'B'
            ? Buffer.from(data, 'base64')
            : Buffer.from(
                data
                  .replace(/_/g, ' ')
                  .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
                'latin1',
              );
        try {
          return new TextDecoder(charset).decode(bytes);
        } catch {
          return bytes.toString('utf8');
        }
      },
    );
}
