// The totals at an instant as both stores answer them in bulk: one text a lookup, `at to
// connected down` from the last row at or before the instant, or `x x connected down` (the first
// row's totals, or zeros) when the device has no row that early. A text, not columns: parsing a
// few words costs the client less than a row of fields, tens of thousands of times.

import { connectedWeight, downWeight } from './rollup-weights.js';
import type { HistoryStatus, HistoryTotals } from './store.js';

/** HistoryTotals at `instant` from the words of its text, starting at `from`. */
export function totalsFromWords(words: readonly string[], from: number, instant: number): HistoryTotals {
  const to = words[from + 1] as HistoryStatus | 'x';
  const c = Number(words[from + 2]);
  const d = Number(words[from + 3]);
  if (to === 'x') return { connectedMs: c, downMs: d, last: null };
  const since = Number(words[from]);
  return {
    connectedMs: c + (instant - since) * connectedWeight(to),
    downMs: d + (instant - since) * downWeight(to),
    last: { at: since, to },
  };
}
