// Keeping secrets out of messages (SPEC §9, §11). One URL redaction for every outbound call:
// user info dropped (Alertmanager's RedactURL), the query dropped and marked `?…` (hook and
// gateway URLs often carry their token there), the fragment dropped (never sent anyway).

const REDACTED = '[redacted]';

/** `https://user:pass@host/p?token=x#f` → `https://host/p?…`. Unparsable text is returned as is. */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return String(url);
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
    // Very short "secrets" (query values such as `v=1`) would blank out ordinary words.
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

/** Header names whose values are credentials (`Authorization: Bearer …`, `X-Api-Key`). */
export function isSecretHeader(name: string): boolean {
  return /auth|token|key|secret|cookie|signature|password/i.test(name);
}
