// Single-value rules shared by the schema (to validate) and the resolver (to convert), so the two
// can never disagree about what a valid value is.

import { isIP } from 'node:net';
import { parse as parseCron, validateDetailed } from 'node-cron';

/** Why a value is invalid, or `null` when it is fine. Messages never echo the value. */
export type Problem = string | null;

// --- device numbers ---------------------------------------------------------------------------

/** E.164 caps phone numbers at 15 digits. */
const MAX_DIGITS = 15;

/**
 * Digits only: a leading `+` and spaces or dashes between digit groups are dropped, since people
 * copy numbers as `+49 151-1234567`. Anything else is refused rather than guessed at.
 */
export function normalizeDeviceNumber(input: string | number): string | null {
  const text = typeof input === 'number' ? (Number.isSafeInteger(input) ? String(input) : '') : input.trim();
  if (!/^\+?\d(?:[ -]?\d)*$/.test(text)) return null;
  const digits = text.replace(/[^\d]/g, '');
  return digits.length <= MAX_DIGITS ? digits : null;
}

export const DEVICE_NUMBER_HINT = `digits only (at most ${MAX_DIGITS}), optionally with a leading + and spaces or dashes between groups`;

// --- listen -----------------------------------------------------------------------------------

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** `127.0.0.1:8749`, `[::1]:8749`, `localhost:8749`, `:8749` (every IPv4 interface). */
/** The address, or why it is not one. */
export function parseListen(input: string): ListenAddress | string {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(input.trim());
  if (match === null) {
    return input.split(':').length > 2
      ? 'expected host:port; write IPv6 addresses in brackets, e.g. [::1]:8749'
      : 'expected host:port, e.g. 127.0.0.1:8749';
  }
  const port = Number(match[3]);
  if (port > 65535) return 'port must be between 0 and 65535';
  const v6 = match[1];
  if (v6 !== undefined) {
    return isIP(v6) === 6 ? { host: v6, port } : 'the address in brackets is not an IPv6 address';
  }
  const host = match[2] ?? '';
  if (host === '') return { host: '0.0.0.0', port };
  if (isIP(host) === 4 || isHostname(host)) return { host, port };
  return 'expected host:port, e.g. 127.0.0.1:8749';
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function formatListen(listen: ListenAddress): string {
  return isIP(listen.host) === 6 ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}

// --- names ------------------------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

export function isDnsLabel(text: string): boolean {
  return DNS_LABEL.test(text);
}

function isHostname(text: string): boolean {
  return text.length <= 253 && text.split('.').every(isDnsLabel);
}

export function hostnameProblem(text: string): Problem {
  return isHostname(text) || isIP(text) !== 0 ? null : 'expected a host name or IP address';
}

/** Labels every per-device series or alert already carries (SPEC §7, §8). */
export const RESERVED_LABELS: readonly string[] = ['account', 'device', 'name', 'alertname'];

export function labelNameProblem(name: string): Problem {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) {
    return 'not a valid Prometheus label name (letters, digits and _, not starting with a digit)';
  }
  if (name.startsWith('__')) return 'label names starting with __ are reserved by Prometheus';
  if (RESERVED_LABELS.includes(name)) {
    return `label "${name}" is reserved (${RESERVED_LABELS.join(', ')} are set by the monitor)`;
  }
  return null;
}

export function channelNameProblem(name: string): Problem {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)
    ? null
    : 'channel names may contain letters, digits, _, . and - only';
}

// --- time -------------------------------------------------------------------------------------

export function timezoneProblem(zone: string): Problem {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return null;
  } catch {
    return `unknown time zone "${zone}" (expected an IANA name such as UTC or Europe/Berlin)`;
  }
}

export function cronProblem(expression: string): Problem {
  const result = validateDetailed(expression);
  if (result.valid) return null;
  const reasons = result.errors.map((e) => e.message).join('; ');
  return `invalid cron expression "${expression}"${reasons === '' ? '' : `: ${reasons}`}`;
}

const DAY_MS = 86_400_000;

// 28 years: a whole number of weeks and of leap cycles (2100 aside), so the days repeat after it.
const CYCLE_DAYS = 10_227;
const CYCLE_START = Date.UTC(2000, 0, 1);

/**
 * The longest wait between two ticks of a cron expression, in ms; Infinity when it never ticks
 * (`0 0 31 2 *`). Exact for every expression: the times of day give the gaps within a day, and
 * the matching days over a 28-year cycle the gaps between days (`0 0 29 2 *`: 1461 days).
 * Days follow cron's rule: with both day of month and day of week restricted, either matches.
 */
export function cronLongestGapMs(expression: string): number {
  const fields = parseCron(expression);
  const ticks: number[] = [];
  for (const h of fields.hour) {
    for (const m of fields.minute) {
      for (const s of fields.second) ticks.push((h * 3600 + m * 60 + s) * 1000);
    }
  }
  ticks.sort((a, b) => a - b);
  const first = ticks[0];
  const last = ticks[ticks.length - 1];
  if (first === undefined || last === undefined) return Number.POSITIVE_INFINITY;
  let withinDay = 0;
  for (let i = 1; i < ticks.length; i++)
    withinDay = Math.max(withinDay, (ticks[i] ?? 0) - (ticks[i - 1] ?? 0));

  const days = new Set(fields.dayOfMonth.map(Number));
  const months = new Set(fields.month.map(Number));
  const weekdays = new Set(fields.dayOfWeek.map((d) => (Number(d) === 7 ? 0 : Number(d))));
  const domRestricted = days.size < 31;
  const dowRestricted = weekdays.size < 7;
  const matching: number[] = [];
  for (let day = 0; day < CYCLE_DAYS; day++) {
    const date = new Date(CYCLE_START + day * DAY_MS);
    if (!months.has(date.getUTCMonth() + 1)) continue;
    const dom = days.has(date.getUTCDate());
    const dow = weekdays.has(date.getUTCDay());
    if (domRestricted && dowRestricted ? dom || dow : dom && dow) matching.push(day);
  }
  const firstDay = matching[0];
  const lastDay = matching[matching.length - 1];
  if (firstDay === undefined || lastDay === undefined) return Number.POSITIVE_INFINITY;
  // Between two matching days: from the last tick of one to the first of the next.
  const between = (from: number, to: number): number => (to - from) * DAY_MS - last + first;
  let gap = Math.max(withinDay, between(lastDay, firstDay + CYCLE_DAYS));
  for (let i = 1; i < matching.length; i++) gap = Math.max(gap, between(matching[i - 1]!, matching[i]!));
  return gap;
}

// --- URLs and secrets -------------------------------------------------------------------------

/** Parses an http(s) URL; the message never repeats the URL, which may carry credentials. */
export function httpUrlProblem(text: string, what = 'an http:// or https:// URL'): Problem {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `expected ${what}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `expected ${what}`;
  if (url.hostname === '') return `expected ${what} with a host`;
  if (url.search !== '' || url.hash !== '') return 'must not have a query string or fragment';
  return null;
}

export function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function smtpUrlProblem(text: string): Problem {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'expected an smtp:// or smtps:// URL';
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') return 'expected an smtp:// or smtps:// URL';
  if (url.hostname === '') return 'expected an smtp:// or smtps:// URL with a host';
  return null;
}

/**
 * A path the monitor opens. The OS would refuse a NUL only when the file is opened (after
 * `check-config` said OK); control characters are never meant and hide in logs.
 */
export function pathProblem(path: string): Problem {
  if (path.trim() === '') return 'must not be empty';
  if (path.includes('\u0000')) return 'must not contain a NUL character';
  // eslint-disable-next-line no-control-regex
  if (/[\u0001-\u001f\u007f]/.test(path)) return 'must not contain line breaks or control characters';
  return null;
}

/** A secret goes into an HTTP header or SMTP login, where line breaks would corrupt the request. */
export function secretProblem(value: string): Problem {
  if (value === '') return 'must not be empty';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'must not contain line breaks or control characters';
  return null;
}

/** Standard Webhooks: a signing key should be 24 to 64 random bytes. */
export const WEBHOOK_SECRET_MIN_BYTES = 24;

/**
 * A `whsec_` secret, the only form the official Standard Webhooks libraries read by default:
 * `whsec_` + base64 of at least 24 bytes. Plain text would be base64-decoded by the receiver's
 * library into some other key, and every signature would fail to verify.
 */
export function webhookSecretProblem(value: string): Problem {
  const howTo =
    'make one with `whatsgate-monitor webhook-secret`, or set secret_format: raw to sign with this text as it is';
  if (!value.startsWith('whsec_'))
    return `not a Standard Webhooks secret: expected whsec_ followed by base64 (${howTo})`;
  const key = value.slice('whsec_'.length);
  if (key === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(key) || key.length % 4 !== 0)
    return `a whsec_ secret must be followed by base64 (${howTo})`;
  const bytes = Buffer.from(key, 'base64').length;
  return bytes >= WEBHOOK_SECRET_MIN_BYTES
    ? null
    : `a whsec_ secret must hold at least ${WEBHOOK_SECRET_MIN_BYTES} bytes, this one has ${bytes} (${howTo})`;
}

/** htpasswd -nBC 10 output: `$2y$10$` + 53 characters of bcrypt base64. */
export function bcryptProblem(hash: string): Problem {
  const match = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/.exec(hash);
  if (match === null)
    return 'expected a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters), e.g. from htpasswd -nBC 10';
  const cost = Number(match[1]);
  return cost >= 4 && cost <= 31 ? null : 'bcrypt cost must be between 04 and 31';
}

export function headerNameProblem(name: string): Problem {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return 'not a valid HTTP header name';
  const lower = name.toLowerCase();
  if (
    lower.startsWith('webhook-') ||
    lower === 'content-length' ||
    lower === 'content-type' ||
    lower === 'host'
  ) {
    return `header "${name}" is set by the monitor`;
  }
  return null;
}

export function headerValueProblem(value: string): Problem {
  // eslint-disable-next-line no-control-regex
  return /[\r\n\u0000]/.test(value) ? 'header values must not contain line breaks' : null;
}

/** `ops@example.com` or `Ops <ops@example.com>`. */
export function mailboxProblem(text: string): Problem {
  const angle = /^[^<>]*<([^<>]+)>\s*$/.exec(text);
  const address = (angle?.[1] ?? text).trim();
  return /^[^\s@<>]+@[^\s@<>]+$/.test(address)
    ? null
    : `expected an email address such as ops@example.com or "Ops <ops@example.com>"`;
}
