// One device's history a page at a time, for `history` and `GET /api/v1/devices/{n}/history`
// (SPEC §5, §6): oldest first, at most `limit` changes, and a cursor that says where the next page
// starts. A number configured in several accounts is several devices: their histories follow one
// another, in the order of the accounts given, and the cursor names the account it is in.
//
// The cursor is opaque to its reader (base64url of a small JSON array) and holds a position, not
// an offset: changes written meanwhile neither repeat nor skip a row on the next page.

import type { HistoryPosition, HistoryRow, Store } from '../store/store.js';

/** Enough for any history the monitor writes in a quarter at a change a few times a day. */
export const DEFAULT_HISTORY_LIMIT = 1_000;
export const MAX_HISTORY_LIMIT = 10_000;

export interface HistoryCursor extends HistoryPosition {
  readonly account: string;
}

/** The position before any change (times and ids are above it). */
const FROM_START: HistoryPosition = { at: Number.MIN_SAFE_INTEGER, id: Number.MIN_SAFE_INTEGER };

export function encodeHistoryCursor(cursor: HistoryCursor): string {
  return Buffer.from(JSON.stringify([cursor.account, cursor.at, cursor.id])).toString('base64url');
}

/** Null for anything this module did not make. */
export function decodeHistoryCursor(text: string): HistoryCursor | null {
  if (text.length > 512 || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 3) return null;
  const [account, at, id] = value as unknown[];
  if (typeof account !== 'string' || !Number.isSafeInteger(at) || !Number.isSafeInteger(id)) return null;
  return { account, at: at as number, id: id as number };
}

/** A `--limit` / `limit=` value: a whole number in [1, MAX_HISTORY_LIMIT]; null otherwise. */
export function parseHistoryLimit(text: string): number | null {
  if (!/^\d{1,6}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= MAX_HISTORY_LIMIT ? n : null;
}

export interface HistoryPagesQuery {
  readonly since: number | null;
  readonly limit: number;
  readonly cursor: HistoryCursor | null;
}

export interface HistoryPages {
  /** Oldest first within each account; the accounts in the order given. */
  readonly rows: HistoryRow[];
  readonly next: HistoryCursor | null;
}

/** One page of `device`'s history across `accounts` (each an account that has the number). */
export async function historyPages(
  store: Pick<Store, 'historyPage'>,
  accounts: readonly string[],
  device: string,
  query: HistoryPagesQuery,
): Promise<HistoryPages> {
  let first = 0;
  let after: HistoryPosition | undefined;
  if (query.cursor !== null) {
    first = accounts.indexOf(query.cursor.account);
    // The account no longer has the number (a reload changed the config): nothing follows.
    if (first < 0) return { rows: [], next: null };
    after = { at: query.cursor.at, id: query.cursor.id };
  }
  const rows: HistoryRow[] = [];
  for (let i = first; i < accounts.length; i++) {
    const account = accounts[i]!;
    const page = await store.historyPage(account, device, {
      ...(query.since === null ? {} : { since: query.since }),
      ...(i === first && after !== undefined ? { after } : {}),
      limit: query.limit - rows.length,
    });
    rows.push(...page.rows);
    if (page.next !== null) return { rows, next: { account, ...page.next } };
    const following = accounts[i + 1];
    if (rows.length >= query.limit && following !== undefined) {
      return { rows, next: { account: following, ...FROM_START } };
    }
  }
  return { rows, next: null };
}
