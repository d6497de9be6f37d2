// `Retry-After` (RFC 9110 §10.2.3), the one parser for every outbound call: the gateway's 429
// and every channel's 429/503.

/**
 * `Retry-After` as milliseconds from `nowMs`: delay-seconds or an HTTP-date. A date in the past
 * means "now" (0); anything unparsable is `undefined` so the caller backs off on its own terms.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only full dates: Date.parse would otherwise accept things like "1" or "soon 5".
  if (!/[a-z]{3}.*\d{4}/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
