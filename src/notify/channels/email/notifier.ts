// The email channel's sender (nodemailer over SMTP, loaded on the first send). SMTP classifies
// its own replies: 4yz is a transient failure (retry), 5yz a permanent one (give up); no reply at
// all (connection, TLS, timeout) is retried.

import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { redactSecrets, redactUrl } from '../../../net/redact.js';
import { emailSecrets, type EmailChannelConfig } from './config.js';
import type { RenderContext } from '../../message.js';
import {
  permanent,
  retryable,
  SENT,
  type Notifier,
  type OutgoingMessage,
  type SendResult,
} from '../../notifier.js';
import { renderEmail } from './render.js';
import { ehloName, mailOptions } from './compose.js';

/** The nodemailer options for a channel: the `smtp` URL, or host/port/secure/user/password. */
export function transportOptions(config: EmailChannelConfig): SMTPTransport.Options {
  const timeouts = {
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
    // nodemailer's EHLO default is os.hostname(): in a container a random id that no DNS knows.
    name: ehloName(config),
  };
  const { smtp } = config;
  if (smtp.url !== null) return { url: smtp.url, ...timeouts };
  const options: SMTPTransport.Options = {
    host: smtp.host ?? 'localhost',
    port: smtp.port ?? (smtp.secure ? 465 : 587),
    secure: smtp.secure,
    ...timeouts,
  };
  if (smtp.user !== null) options.auth = { user: smtp.user, pass: smtp.password ?? '' };
  return options;
}

/** Where mail goes, for messages: `smtp://host:587`, never with credentials. */
export function smtpTarget(config: EmailChannelConfig): string {
  const { smtp } = config;
  if (smtp.url !== null) return redactUrl(smtp.url);
  const port = smtp.port ?? (smtp.secure ? 465 : 587);
  return `${smtp.secure ? 'smtps' : 'smtp'}://${smtp.host ?? 'localhost'}:${port}`;
}

interface SmtpError {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly responseCode?: unknown;
}

/** SMTP reply codes decide when there is one; otherwise the error never reached a server verdict. */
export function classifySmtpError(err: unknown, target: string, secrets: readonly string[]): SendResult {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SmtpError;
  const text = typeof e.message === 'string' ? e.message : String(err);
  const code = typeof e.code === 'string' ? ` (${e.code})` : '';
  const message = redactSecrets(`SMTP ${target}: ${text.replace(/\s+/g, ' ').trim()}${code}`, secrets);
  const reply = typeof e.responseCode === 'number' ? e.responseCode : null;
  if (reply !== null && reply >= 500 && reply < 600) return permanent(message);
  if (e.code === 'EMESSAGE') return permanent(message);
  return retryable(message);
}

export class EmailNotifier implements Notifier {
  readonly type = 'email';
  readonly channel: string;
  readonly #config: EmailChannelConfig;
  readonly #ctx: RenderContext;
  readonly #secrets: string[];
  readonly #target: string;
  #transport: Transporter<SMTPTransport.SentMessageInfo> | null = null;

  constructor(config: EmailChannelConfig, ctx: RenderContext) {
    this.channel = config.name;
    this.#config = config;
    this.#ctx = ctx;
    this.#secrets = emailSecrets(config);
    this.#target = smtpTarget(config);
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    if (signal.aborted) return retryable(`SMTP ${this.#target}: aborted (the monitor is stopping)`);
    const content = renderEmail(message.events, this.#ctx);
    this.#transport ??= (await import('nodemailer')).createTransport(transportOptions(this.#config));
    if (signal.aborted) return retryable(`SMTP ${this.#target}: aborted (the monitor is stopping)`);
    const sending = this.#transport.sendMail(mailOptions(this.#config, content, message));
    // nodemailer takes no AbortSignal: on abort the attempt is given up here, and the
    // connection ends by its own socket timeout.
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<SendResult>((resolve) => {
      onAbort = () => resolve(retryable(`SMTP ${this.#target}: aborted (the monitor is stopping)`));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([
        sending.then(
          (): SendResult => SENT,
          (err: unknown) => classifySmtpError(err, this.#target, this.#secrets),
        ),
        aborted,
      ]);
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }

  close(): Promise<void> {
    this.#transport?.close();
    this.#transport = null;
    return Promise.resolve();
  }
}
