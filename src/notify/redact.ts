// Keeping secrets out of errors and output (SPEC §9). Alertmanager's RedactURL drops the user
// info; query strings go too, because hook URLs often carry their token there.

const REDACTED = '[redacted]';

/** `https://user:pass@host/p?token=x` → `https://host/p?…`. Unparseable text is returned as is. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  parsed.username = '';
  parsed.password = '';
  const query = parsed.search !== '';
  parsed.search = '';
  parsed.hash = '';
  return `${parsed.href}${query ? '?…' : ''}`;
}

/** Replaces every occurrence of each secret (and its URL-encoded form) in `text`. */
export function redactSecrets(text: string, secrets: readonly (string | null)[]): string {
  let out = text;
  for (const secret of secrets) {
    // Very short "secrets" would blank out ordinary words; config validation rejects those anyway.
    if (secret === null || secret.length < 4) continue;
    out = out.split(secret).join(REDACTED);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join(REDACTED);
  }
  return out;
}

/** What a URL may hide: its password and its query values (hook tokens often live there). */
export function urlSecrets(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const out: string[] = [];
  if (parsed.password !== '') out.push(parsed.password, decodeURIComponent(parsed.password));
  for (const value of parsed.searchParams.values()) if (value !== '') out.push(value);
  return out;
}

/**
 * Every secret a channel config holds: passwords (also inside URLs), the webhook secret, query
 * values of URLs, auth-like headers.
 */
export function channelSecrets(channel: {
  readonly type: string;
  readonly smtp?: { readonly url: string | null; readonly password: string | null };
  readonly url?: string;
  readonly urls?: readonly string[];
  readonly secret?: string | null;
  readonly headers?: Readonly<Record<string, string>>;
}): string[] {
  const out: string[] = [];
  for (const url of [...(channel.url === undefined ? [] : [channel.url]), ...(channel.urls ?? [])]) {
    out.push(...urlSecrets(url));
  }
  if (channel.smtp !== undefined) {
    if (channel.smtp.password !== null) out.push(channel.smtp.password);
    if (channel.smtp.url !== null) out.push(...urlSecrets(channel.smtp.url));
  }
  if (channel.secret !== undefined && channel.secret !== null) out.push(channel.secret);
  // Extra webhook headers are where tokens go (Authorization: Bearer …).
  for (const [name, value] of Object.entries(channel.headers ?? {})) {
    if (/auth|token|key|secret|cookie|signature|password/i.test(name)) out.push(value);
  }
  return out;
}
