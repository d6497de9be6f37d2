// The parameters of `GET /api/v1/devices/{number}/history` (SPEC §6): `since` (a duration or an
// ISO time), `limit` and `cursor` (report/history-page.ts), checked into a HistoryQuery; and the
// `Link` header that points to the next page.

import { parseDuration } from '../fields/duration.js';
import {
  DEFAULT_HISTORY_LIMIT,
  MAX_HISTORY_LIMIT,
  decodeHistoryCursor,
  encodeHistoryCursor,
  parseHistoryLimit,
  type HistoryCursor,
} from '../report/history-page.js';
import { HttpError } from './respond.js';

/** A history request's parameters, checked: `since`, `limit` (default DEFAULT_HISTORY_LIMIT), `cursor`. */
export interface HistoryQuery {
  readonly since: number | null;
  readonly limit: number;
  readonly cursor: HistoryCursor | null;
}

export interface HistoryAnswer {
  readonly rows: readonly unknown[];
  /** Where the next page starts; null on the last. Sent as a `Link: <…>; rel="next"` header. */
  readonly next: HistoryCursor | null;
}

export function historyQuery(params: URLSearchParams, now: number): HistoryQuery {
  const limitText = params.get('limit');
  const limit = limitText === null || limitText === '' ? DEFAULT_HISTORY_LIMIT : parseHistoryLimit(limitText);
  if (limit === null) {
    throw new HttpError(
      400,
      `limit: expected a whole number from 1 to ${MAX_HISTORY_LIMIT}, got "${limitText}"`,
    );
  }
  const cursorText = params.get('cursor');
  const cursor = cursorText === null || cursorText === '' ? null : decodeHistoryCursor(cursorText);
  if (cursorText !== null && cursorText !== '' && cursor === null) {
    throw new HttpError(
      400,
      'cursor: not one this server gave (take it from the Link header of the page before)',
    );
  }
  return { since: parseSince(params.get('since'), now), limit, cursor };
}

/**
 * The next page's address, relative to this one (`history?…`), so that it holds behind a proxy that
 * serves the monitor under a path prefix. Without `since`: every row after the cursor is later than
 * it anyway, and a duration would count from the next request's time.
 */
export function nextLink(url: URL, next: HistoryCursor): string {
  const params = new URLSearchParams(url.searchParams);
  params.delete('since');
  params.set('cursor', encodeHistoryCursor(next));
  return `<history?${params.toString()}>; rel="next"`;
}

function parseSince(value: string | null, now: number): number | null {
  if (value === null || value === '') return null;
  const duration = parseDuration(value);
  if (duration !== null) return now - duration;
  const abs = Date.parse(value);
  if (Number.isNaN(abs))
    throw new HttpError(400, `since: expected a duration like 7d or an ISO time, got "${value}"`);
  return abs;
}
