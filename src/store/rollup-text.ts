// What both stores' bulk reads answer per device, as text: parsing a few words costs the client
// less than rows of fields or JSON, tens of thousands of times.
// - The totals at an instant: `at to connected down` from the last row at or before it, or
//   `x x connected down` (the first row's totals, or zeros) when the device has no row that early.
// - Changes: `at from to` each, `-` for no `from`.

import { connectedWeight, downWeight } from './rollup-weights.js';
import type { HistoryChange, HistoryStatus, HistoryTotals } from './store.js';

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

/** A device's changes from their text, in the text's order. */
export function changesFromText(text: string): HistoryChange[] {
  const words = text.split(' ');
  const out: HistoryChange[] = [];
  for (let w = 0; w + 2 < words.length; w += 3) {
    const from = words[w + 1]!;
    out.push({
      at: Number(words[w]),
      from: from === '-' ? null : (from as HistoryChange['from']),
      to: words[w + 2] as HistoryChange['to'],
    });
  }
  return out;
}
