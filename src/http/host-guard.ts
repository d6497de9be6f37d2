// DNS rebinding (issue 11 item 7). A page on evil.example re-points its own name at 127.0.0.1;
// the browser then sends it to the monitor as same-origin, with `Host: evil.example`, and reads
// the answer: the status page, the device list, a live QR code that links the attacker's phone.
// The browser always sends the name the page used, so without basic auth the pages answer only
// to names that cannot be rebound: `localhost`, an IP address (a page whose origin is an address
// is not the attacker's), and the host of `public_url`. With basic auth the browser has no
// credentials for the attacker's origin, so any name is fine.
//
// The QR and status JSON (what the re-link page's script fetches) also refuse an `Origin` other
// than the request's own or `public_url`'s: a second line for when the Host check does not run.

import { isIP } from 'node:net';

/** Answered to any Host: probes and scrapers address the monitor by whatever name or address they use. */
export const ANY_HOST_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

export const MISDIRECTED_MESSAGE =
  'misdirected request: without web.basic_auth this monitor answers only to localhost, ' +
  'an IP address or the host of public_url\n';

/** The host name of a `Host` header (lower case, IPv6 in brackets, no port); null when malformed. */
export function hostOf(header: string): string | null {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]/@\s]+)(?::\d{1,5})?$/i.exec(header.trim());
  return match?.[1]?.toLowerCase() ?? null;
}

/** Whether a request with this `Host` may be answered by the pages while basic auth is off. */
export function isTrustedHost(header: string | undefined, publicUrl: string | null): boolean {
  // Every browser sends Host; only an HTTP/1.0 tool may leave it out, and it is no rebinding.
  if (header === undefined) return true;
  const host = hostOf(header);
  if (host === null) return false;
  if (host === 'localhost') return true;
  if (isIP(host.startsWith('[') ? host.slice(1, -1) : host) !== 0) return true;
  return publicUrl !== null && hostOf(new URL(publicUrl).host) === host;
}

/** An absent `Origin` is fine (same-origin GETs carry none); a present one must be ours. */
export function isSameOrigin(
  origin: string | undefined,
  host: string | undefined,
  publicUrl: string | null,
): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin); // `null` (a sandboxed or file page) does not parse: refused
  } catch {
    return false;
  }
  if (publicUrl !== null && url.origin === new URL(publicUrl).origin) return true;
  if (host === undefined) return false;
  try {
    // Read with the origin's scheme, so `Host: x:80` and `http://x` compare equal.
    return new URL(`${url.protocol}//${host.trim()}`).host === url.host;
  } catch {
    return false;
  }
}
