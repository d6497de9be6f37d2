// Keeping secrets out of messages (SPEC §9, §11): the one place that decides how a URL is shown
// and which parts of a text are hidden. Everything that writes a log line, an error, a database
// row or a page about an outbound call goes through `redactUrl` and `redactSecrets`.
//
// URLs (`redactUrl`). Channel URLs are capability URLs: whoever knows one can post to it (Slack
// `/services/T…/B…/X…`, Discord `/api/webhooks/ID/TOKEN`, Teams `…/invoke?…&sig=…`, Telegram
// `/bot<TOKEN>/sendMessage`, Zapier, n8n, an ntfy topic). So by default a URL is shown as
// scheme + host + port, its path as `/…`, user info dropped, query dropped and marked `?…`,
// fragment dropped: `https://hooks.slack.com/services/T0/B0/x?a=b` → `https://hooks.slack.com/…?…`.
// A URL shape may show more, never the secret part:
//   - a provider's fixed words before the capability (`lead`): SLACK_URL shows
//     `https://hooks.slack.com/services/…`, DISCORD_URL `https://discord.com/api/webhooks/…`;
//   - an API method after it (`tail`): TELEGRAM_URL shows `https://api.telegram.org/…/sendMessage`;
//   - the whole path (`SERVICE_URL`), for URLs that are not capabilities: the WhatsGate base URL
//     (`https://acme.whatsgate.net/api`; its token travels in a header).
//
// Secrets in text (`redactSecrets`): every configured secret is replaced by `[redacted]` wherever
// it appears — as written, URL- and form-encoded, JSON-escaped, hex, and base64 (standard and url-safe),
// including inside a longer base64 blob at any byte offset: an SMTP server echoing AUTH PLAIN
// (`base64("\0user\0pass")`) or a Basic header (`base64("user:pass")`) is caught without knowing
// the user, and the whole blob is hidden. Any length counts: a configured secret is a credential.
//
// For a channel author (one folder per channel, SPEC §11):
//   1. config.ts — `secrets(config)` returns the credentials plus `urlSecrets(url, SHAPE)`: every
//      path segment the shape does not show, every query value and the URL's password, so a
//      provider's error body echoing the URL is redacted too.
//   2. notifier.ts — `postJson({ url, urlShape: SHAPE, secrets, … })`; any message of your own
//      names the URL as `redactUrl(url, SHAPE)` and passes text through `redactSecrets`.
//   Without a shape of your own, CAPABILITY_URL (the default) is always safe.

export const REDACTED = '[redacted]';

/** What `redactUrl` shows for text that does not parse as a URL. */
export const UNPARSABLE_URL = '(an unparsable URL)';

/** How much of a URL's path may be shown; see the header. Regexes without the `g` flag (stateless). */
export interface UrlShape {
  /** The whole path is shown (not a capability URL). The query is still dropped. */
  readonly showPath?: boolean;
  /** Leading path segments shown while each matches (whole segment): the provider's fixed words. */
  readonly lead?: RegExp;
  /** The last path segment, shown when it matches: an API method after the secret. */
  readonly tail?: RegExp;
}

/** Any channel URL whose provider has no shape of its own: host only. */
export const CAPABILITY_URL: UrlShape = {};
/** Not a capability: the path is shown (the WhatsGate base URL). */
export const SERVICE_URL: UrlShape = { showPath: true };

// Provider shapes for the channels of SPEC §11. Only fixed API words are listed; IDs, tokens
// and topics never match them.
export const SLACK_URL: UrlShape = { lead: /^(?:services|workflows|triggers)$/ };
export const DISCORD_URL: UrlShape = { lead: /^(?:api|v\d{1,2}|webhooks)$/, tail: /^(?:slack|github)$/ };
export const TEAMS_URL: UrlShape = { lead: /^(?:powerautomate|automations|direct|workflows)$/ };
export const TELEGRAM_URL: UrlShape = { tail: /^(?:sendMessage|sendPhoto|sendDocument|getMe)$/ };
/** The topic is the capability of an ntfy URL (`https://ntfy.sh/<topic>`). */
export const NTFY_URL: UrlShape = CAPABILITY_URL;
/** `http://am:9093/api/v2/alerts`: the API path is public, anything before it (a proxy's) is not. */
export const ALERTMANAGER_URL: UrlShape = { lead: /^(?:api|v2|alerts)$/ };
/** `/v2/enqueue` is public; the routing key travels in the body. */
export const PAGERDUTY_URL: UrlShape = { lead: /^(?:v2|enqueue)$/ };

function pathSegments(parsed: URL): string[] {
  return parsed.pathname.split('/').filter((s) => s !== '');
}

/** The segments a shape shows: `shown[i]` true for segment i. */
function shownSegments(segments: readonly string[], shape: UrlShape): boolean[] {
  if (shape.showPath === true) return segments.map(() => true);
  const shown = segments.map(() => false);
  for (let i = 0; i < segments.length && shape.lead?.test(segments[i]!) === true; i++) shown[i] = true;
  const last = segments.length - 1;
  // A lone segment is never shown as a "method": it may be the whole capability.
  if (last > 0 && !shown[last - 1]! && shape.tail?.test(segments[last]!) === true) shown[last] = true;
  return shown;
}

/**
 * `https://user:pass@hooks.slack.com/services/T/B/X?t=1#f` → `https://hooks.slack.com/…?…`
 * (CAPABILITY_URL), or as the shape allows. Unparsable text is not echoed: it may be a URL
 * with a secret and one typo.
 */
export function redactUrl(url: string | URL, shape: UrlShape = CAPABILITY_URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return UNPARSABLE_URL;
  }
  const query = parsed.search !== '' ? '?…' : '';
  const origin = parsed.host === '' ? `${parsed.protocol}` : `${parsed.protocol}//${parsed.host}`;
  const segments = pathSegments(parsed);
  // No segments: `https://h/`, or `smtp://h:587` whose scheme has no path at all.
  if (shape.showPath === true || segments.length === 0) return `${origin}${parsed.pathname}${query}`;
  const shown = shownSegments(segments, shape);
  const parts: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    if (shown[i]!) parts.push(segments[i]!);
    else if (parts.at(-1) !== '…') parts.push('…');
  }
  const trailing = parsed.pathname.endsWith('/') && parts.at(-1) !== '…' && parts.length > 0 ? '/' : '';
  return `${origin}/${parts.join('/')}${trailing}${query}`;
}

/** Shortest URL part counted as a secret: shorter ones (`v=1`, `/api`) are no capability. */
const MIN_URL_PART = 4;

/**
 * What a URL may hide: its password (as written and decoded), every path segment the shape does
 * not show (as written and decoded), every query value. Unparsable text hides nothing here —
 * the channel's config check refuses it.
 */
export function urlSecrets(url: string, shape: UrlShape = CAPABILITY_URL): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const out: string[] = [];
  const add = (value: string, min: number): void => {
    if (value.length >= min && !out.includes(value)) out.push(value);
  };
  if (parsed.password !== '') {
    add(parsed.password, 1);
    add(safeDecode(parsed.password), 1);
  }
  const segments = pathSegments(parsed);
  const shown = shownSegments(segments, shape);
  segments.forEach((segment, i) => {
    if (shown[i]!) return;
    add(segment, MIN_URL_PART);
    add(safeDecode(segment), MIN_URL_PART);
  });
  for (const value of parsed.searchParams.values()) add(value, MIN_URL_PART);
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The exact forms a secret can take in text, besides base64 (handled by `base64Cores`). */
export function literalForms(secret: string): string[] {
  const forms = [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ v: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
  ];
  const bytes = Buffer.from(secret, 'utf8');
  forms.push(bytes.toString('base64'));
  // Hex of a 1–3 character secret (2–6 digits) would blank out ordinary numbers.
  if (bytes.length >= 4) forms.push(bytes.toString('hex'), bytes.toString('hex').toUpperCase());
  return [...new Set(forms)].filter((f) => f !== '');
}

/** Fewer base64 characters than this could match by chance inside unrelated base64. */
const MIN_CORE = 4;

/**
 * The base64 characters fixed by the secret alone, for each of the three byte offsets it can sit
 * at inside a longer encoded blob (standard and url-safe alphabets). Any base64 text carrying
 * the secret contains one of them.
 */
export function base64Cores(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const cores: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    // Character i carries bits [6i, 6i+6); the secret holds bits [8·shift, 8·(shift+length)).
    const core = encoded.slice(Math.ceil((8 * shift) / 6), Math.floor((8 * (shift + bytes.length)) / 6));
    if (core.length >= MIN_CORE) cores.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...new Set(cores)];
}

/** A run of base64 (either alphabet) with its padding. */
const BASE64_RUN = /[A-Za-z0-9+/_-]+={0,2}/g;

/**
 * Replaces every secret in `text` by `[redacted]`, in every form listed in the header. Null,
 * undefined and empty entries are skipped (an unset optional secret).
 */
export function redactSecrets(text: string, secrets: readonly (string | null | undefined)[]): string {
  const list = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s !== ''))];
  if (list.length === 0) return text;
  // Longest first: a secret containing another is hidden whole.
  list.sort((a, b) => b.length - a.length);
  // Base64 blobs first, whole: replacing a literal form inside one first would leave the rest
  // of the blob (the user of an AUTH PLAIN line) behind without the core that marks it.
  const cores = list.flatMap(base64Cores);
  let out =
    cores.length === 0
      ? text
      : text.replace(BASE64_RUN, (run) => (cores.some((c) => run.includes(c)) ? REDACTED : run));
  const forms = [...new Set(list.flatMap(literalForms))].sort((a, b) => b.length - a.length);
  for (const form of forms) out = out.split(form).join(REDACTED);
  return out;
}

/** Header names whose values are credentials (`Authorization: Bearer …`, `X-Api-Key`). */
export function isSecretHeader(name: string): boolean {
  return /auth|token|key|secret|cookie|signature|password/i.test(name);
}
