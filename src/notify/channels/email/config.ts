// The email channel's config: `smtp` as one URL, or host/port/secure/user/password(_file).

import { z } from 'zod';
import { hostnameProblem, smtpUrlProblem } from '../../../fields/fields.js';
import type { Tree } from '../../../fields/raw-tree.js';
import {
  channelTimeout,
  checked,
  expecting,
  mailbox,
  secret,
  secretFile,
  text,
} from '../../../fields/schema-kit.js';
import { urlSecrets } from '../../../net/redact.js';
import type { ChannelCheckContext, ChannelResolveContext } from '../definition.js';

export const emailSchema = z.strictObject({
  type: z.literal('email'),
  smtp: checked(z.string({ error: expecting('an smtp:// or smtps:// URL') }), smtpUrlProblem)
    .optional()
    .describe('smtp://user:pass@host:587; or host/port/secure/user/password'),
  host: checked(z.string(), hostnameProblem).optional(),
  port: z.int().min(1).max(65535).optional().describe('default 465 when secure, else 587'),
  secure: z.boolean().optional().describe('TLS from the start (default: port is 465)'),
  user: text().optional(),
  password: secret().optional(),
  password_file: secretFile().optional(),
  from: mailbox(),
  to: z.union([mailbox(), z.array(mailbox()).min(1)], {
    error: expecting('an email address or a list of them'),
  }),
  ehlo_name: checked(z.string(), hostnameProblem)
    .optional()
    .describe(
      'the name this host gives in SMTP EHLO (default: the domain of from); a container hostname there marks mail as spam',
    ),
  timeout: channelTimeout(),
});

export interface SmtpSettings {
  /** `smtp://user:pass@host:587` or `smtps://…`; when set, host/port/secure/user/password are not. */
  readonly url: string | null;
  readonly host: string | null;
  readonly port: number | null;
  readonly secure: boolean;
  readonly user: string | null;
  readonly password: string | null;
}

export interface EmailChannelConfig {
  readonly type: 'email';
  readonly name: string;
  readonly smtp: SmtpSettings;
  readonly from: string;
  readonly to: readonly string[];
  /** What EHLO says; null: the domain of `from` (emailDomain), never the container's hostname. */
  readonly ehloName: string | null;
  readonly timeoutMs: number;
}

/** The address in `ops@example.com` or `Ops <ops@example.com>` (validated by mailboxProblem). */
export function mailboxAddress(mailbox: string): string {
  const angle = /<([^<>]+)>\s*$/.exec(mailbox);
  return (angle?.[1] ?? mailbox).trim();
}

/** The display name of `Ops <ops@example.com>`, unquoted; null when there is none. */
export function mailboxName(mailbox: string): string | null {
  const angle = /^([^<>]*)<[^<>]+>\s*$/.exec(mailbox);
  const name = angle?.[1]?.trim().replace(/^"(.*)"$/, '$1') ?? '';
  return name === '' ? null : name;
}

/** `example.com` for `Ops <ops@example.com>`: the EHLO name and Message-ID domain by default. */
export function emailDomain(mailbox: string): string {
  const address = mailboxAddress(mailbox);
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

const DIRECT_KEYS = ['host', 'port', 'secure', 'user', 'password', 'password_file'];

export function checkEmail(channel: Tree, at: ChannelCheckContext): void {
  const { issues, path } = at;
  if (channel['smtp'] !== undefined) {
    for (const key of DIRECT_KEYS) {
      if (channel[key] !== undefined) {
        issues.add([...path, key], 'not allowed together with smtp (put it in the smtp URL, or drop smtp)');
      }
    }
    return;
  }
  if (channel['host'] === undefined) issues.add([...path, 'smtp'], 'required (or host)');
  const hasPassword = channel['password'] !== undefined || channel['password_file'] !== undefined;
  if (channel['user'] !== undefined && !hasPassword)
    issues.add([...path, 'password'], 'required with user (or password_file)');
  if (channel['user'] === undefined && hasPassword) issues.add([...path, 'user'], 'required with a password');
  at.readSecret('password');
}

export function resolveEmail(
  raw: z.output<typeof emailSchema>,
  at: ChannelResolveContext,
): EmailChannelConfig {
  const smtp: SmtpSettings =
    raw.smtp !== undefined
      ? {
          url: raw.smtp,
          host: null,
          port: null,
          secure: raw.smtp.startsWith('smtps:'),
          user: null,
          password: null,
        }
      : {
          url: null,
          host: raw.host ?? null,
          port: raw.port ?? (raw.secure === true ? 465 : 587),
          secure: raw.secure ?? raw.port === 465,
          user: raw.user ?? null,
          password: at.secret('password'),
        };
  const to = typeof raw.to === 'string' ? [raw.to] : raw.to;
  return {
    type: 'email',
    name: at.name,
    smtp,
    from: raw.from,
    to,
    ehloName: raw.ehlo_name ?? null,
    timeoutMs: at.timeoutMs(raw.timeout),
  };
}

/**
 * The password (a field, or inside the smtp URL), and what SMTP AUTH sends of the login: PLAIN's
 * `base64("\0user\0password")` and LOGIN's `base64(user)`. A server echoing the AUTH line in its
 * refusal (`535 5.7.8 Authentication failed: AHVzZXIAcGFzcw==`) is redacted by these. The user
 * itself is no secret and stays readable (it is often the sender address); only its encoded form
 * is hidden — redactSecrets also finds the password inside any base64 blob on its own.
 */
export function emailSecrets(config: Pick<EmailChannelConfig, 'smtp'>): string[] {
  const out: string[] = [];
  let login: { user: string; password: string } | null = null;
  if (config.smtp.password !== null) {
    out.push(config.smtp.password);
    if (config.smtp.user !== null) login = { user: config.smtp.user, password: config.smtp.password };
  }
  if (config.smtp.url !== null) {
    out.push(...urlSecrets(config.smtp.url));
    login = urlLogin(config.smtp.url) ?? login;
  }
  if (login !== null) {
    const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
    out.push(b64(`\0${login.user}\0${login.password}`), b64(login.user));
  }
  return [...new Set(out)].filter((s) => s !== '');
}

function urlLogin(url: string): { user: string; password: string } | null {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' || parsed.password === '') return null;
    return { user: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
  } catch {
    return null;
  }
}
