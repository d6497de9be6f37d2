// A chat webhook's URL is its credential: whoever holds it can post to the channel (SPEC §11).
// Slack and Discord keep the token in the path, Teams Workflows in the `sig` query value. So the
// path and the query values are secrets, and a shape problem never repeats the URL.

import { urlSecrets } from '../../net/redact.js';
import type { Problem } from '../../fields/fields.js';

/** Path segments at least this long are tokens or ids (words like `services` are shorter). */
const TOKEN_SEGMENT = 16;

/**
 * The path without its leading `/` (the whole capability), its token-like segments on their
 * own (an answer may quote just the token), the password and the query values.
 */
export function webhookUrlSecrets(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [url];
  }
  const out: string[] = [];
  const path = parsed.pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path !== '') out.push(path, decodeURIComponent(path));
  for (const segment of path.split('/')) {
    if (segment.length >= TOKEN_SEGMENT && segment !== path) out.push(segment);
  }
  out.push(...urlSecrets(url));
  return [...new Set(out)];
}

/**
 * An http(s) URL with a host and no fragment; then the provider's own shape (`shape`), checked
 * only when the host is the provider's — any other host is a proxy or a test receiver (the
 * override rule of SPEC §11) and passes as it is.
 */
export function webhookUrlProblem(
  text: string,
  provider: { readonly isProviderHost: (host: string) => boolean; readonly shape: (url: URL) => Problem },
): Problem {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'expected an http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'expected an http:// or https:// URL';
  if (url.hostname === '') return 'expected an http:// or https:// URL with a host';
  if (url.hash !== '') return 'must not have a #fragment';
  if (!provider.isProviderHost(url.hostname.toLowerCase())) return null;
  if (url.protocol !== 'https:') return 'must be https:// (the provider takes no plain http)';
  return provider.shape(url);
}
