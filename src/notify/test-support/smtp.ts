// A real SMTP server in the test process (smtp-server on 127.0.0.1), handing back each message
// parsed by mailparser.

import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface SmtpSink {
  readonly port: number;
  readonly mails: ParsedMail[];
  /** Resolves with the `n`-th message (1-based) once it has been received and parsed. */
  mail(n: number): Promise<ParsedMail>;
  close(): Promise<void>;
}

/** `port` 0 picks a free one; a fixed port is for a daemon whose config names it before it runs. */
export async function startSmtp(options: Partial<SMTPServerOptions> = {}, port = 0): Promise<SmtpSink> {
  const mails: ParsedMail[] = [];
  const waiters: { n: number; resolve: (m: ParsedMail) => void }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      // skipImageLinks: keep the HTML's cid: references as sent (mailparser would inline them).
      simpleParser(stream, { skipImageLinks: true }).then(
        (mail) => {
          mails.push(mail);
          for (const w of waiters.filter((w) => w.n === mails.length)) w.resolve(mail);
          callback();
        },
        (err: Error) => callback(err),
      );
    },
    ...options,
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.server.address() as AddressInfo).port;
  return {
    port: bound,
    mails,
    mail(n) {
      const have = mails[n - 1];
      if (have !== undefined) return Promise.resolve(have);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
