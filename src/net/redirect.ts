// Redirects are never followed, by the gateway client or by a channel: following one would send
// the gateway's token header, or replay a capability URL's request, to wherever the answer
// points. One wording for both, so an operator reads the same line whichever side it came from:
// `HTTP 302 from GET https://acme.whatsgate.net/api/status/1: redirect not followed (to https://…)`.

import { redactUrl, type UrlShape } from './redact.js';

export function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/**
 * `redirect not followed (to <location>)`, the location resolved against the request URL and
 * shown as `shape` allows (a relative `Location` keeps the request's host).
 */
export function redirectNotFollowed(
  location: string | undefined,
  requestUrl: string,
  shape: UrlShape,
): string {
  if (location === undefined || location.trim() === '') return 'redirect not followed (no Location)';
  let target: string;
  try {
    target = new URL(location.trim(), requestUrl).href;
  } catch {
    return 'redirect not followed (to an unparsable Location)';
  }
  return `redirect not followed (to ${redactUrl(target, shape)})`;
}
