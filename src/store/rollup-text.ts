// What both stores' bulk reads answer per device, as text: parsing a few words costs the client
// less than rows of fields or JSON, tens of thousands of times.
// - The totals at an instant: `at to connected down` from the last row at or before it, or
//   `x x connected down` (the first row's totals, or zeros) when the device has no row that early.
// - Changes: `at from to` each, `-` for no `from`.
//
// The words are read in place rather than split: a status page or an audit reads about 300,000
// of them, and a string for each (then its number) was most of the client's time on those reads,
// and their garbage.

import { DEVICE_STATUSES } from '../monitor/model.js';
import { connectedWeight, downWeight } from './rollup-weights.js';
import type { HistoryChange, HistoryStatus, HistoryTotals } from './store.js';

/** Every status word of a text (most frequent first), and the two placeholders. */
const KNOWN_WORDS: readonly string[] = [...DEVICE_STATUSES, 'deleted', '-', 'x'];

/** A cursor over one text's words. */
class Words {
  #pos = 0;
  private start = 0;
  private end = 0;

  constructor(private readonly text: string) {}

  get more(): boolean {
    return this.#pos < this.text.length;
  }

  /** Moves to the next word: it is text[start, end). */
  #next(): void {
    this.start = this.#pos;
    const space = this.text.indexOf(' ', this.start);
    this.end = space === -1 ? this.text.length : space;
    this.#pos = this.end + 1;
  }

  /** The next word as a number, as Number() reads it. */
  number(): number {
    this.#next();
    const { text, start, end } = this;
    const negative = text.charCodeAt(start) === 45; // '-'
    const first = negative ? start + 1 : start;
    // Up to 15 digits the sum below is exact; anything else (more digits, a point, nothing at
    // all) goes to Number, whose rules are the reference.
    if (first === end || end - first > 15) return Number(text.slice(start, end));
    let n = 0;
    for (let i = first; i < end; i++) {
      const digit = text.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) return Number(text.slice(start, end));
      n = n * 10 + digit;
    }
    return negative ? -n : n;
  }

  /** The next word; a status is the constant, not a new string. */
  word(): string {
    this.#next();
    const { text, start, end } = this;
    for (const w of KNOWN_WORDS) {
      if (w.length === end - start && text.startsWith(w, start)) return w;
    }
    return text.slice(start, end);
  }

  /** HistoryTotals at `instant` from the next four words. */
  totals(instant: number): HistoryTotals {
    const since = this.number();
    const to = this.word() as HistoryStatus | 'x';
    const c = this.number();
    const d = this.number();
    if (to === 'x') return { connectedMs: c, downMs: d, last: null };
    return {
      connectedMs: c + (instant - since) * connectedWeight(to),
      downMs: d + (instant - since) * downWeight(to),
      last: { at: since, to },
    };
  }
}

/** HistoryTotals at each instant, from a text of that many totals in the same order. */
export function totalsFromText(text: string, instants: readonly number[]): HistoryTotals[] {
  const words = new Words(text);
  return instants.map((t) => words.totals(t));
}

/** HistoryTotals at `instant` from a text of one totals. */
export function oneTotalsFromText(text: string, instant: number): HistoryTotals {
  return new Words(text).totals(instant);
}

/** A device's changes from their text, in the text's order. */
export function changesFromText(text: string): HistoryChange[] {
  const words = new Words(text);
  const out: HistoryChange[] = [];
  while (words.more) {
    const at = words.number();
    const from = words.word();
    out.push({
      at,
      from: from === '-' ? null : (from as HistoryChange['from']),
      to: words.word() as HistoryChange['to'],
    });
  }
  return out;
}
