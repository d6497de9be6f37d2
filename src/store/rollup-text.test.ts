import { describe, expect, it } from 'vitest';
import { DEVICE_STATUSES } from '../monitor/model.js';
import { changesFromText, oneTotalsFromText, totalsFromText } from './rollup-text.js';

describe('rollup-text', () => {
  it.each([
    ['digits', '1743336000000', 1743336000000],
    ['a negative total', '-250', -250],
    ['zero', '0', 0],
    ['a fraction (a REAL in SQLite)', '12.5', 12.5],
    ['more digits than a double holds exactly', '12345678901234567', Number('12345678901234567')],
    ['an exponent', '1e3', 1000],
  ])('reads a number as Number does: %s', (_, word, expected) => {
    expect(oneTotalsFromText(`${word} x 0 0`, 0)).toEqual({ connectedMs: 0, downMs: 0, last: null });
    expect(oneTotalsFromText(`0 connected ${word} 0`, 0).connectedMs).toBe(expected);
    expect(changesFromText(`${word} - connected`)[0]!.at).toBe(expected);
  });

  it('totals: the row at or before each instant carried to it by its status; `x` before the first', () => {
    const text = '100 connected 1000 50 80 disconnected 900 30 x x 7 8';
    expect(totalsFromText(text, [150, 90, 10])).toEqual([
      { connectedMs: 1050, downMs: 50, last: { at: 100, to: 'connected' } },
      { connectedMs: 900, downMs: 40, last: { at: 80, to: 'disconnected' } },
      { connectedMs: 7, downMs: 8, last: null },
    ]);
    expect(oneTotalsFromText('100 deleted 5 6', 200)).toEqual({
      connectedMs: 5,
      downMs: 6,
      last: { at: 100, to: 'deleted' },
    });
  });

  it('changes: every status word, `-` for no from, a word it does not know as it is', () => {
    const statuses = [...DEVICE_STATUSES, 'deleted', 'later_status'];
    const text = statuses.map((s, i) => `${i} ${i === 0 ? '-' : statuses[i - 1]} ${s}`).join(' ');
    expect(changesFromText(text)).toEqual(
      statuses.map((to, i) => ({ at: i, from: i === 0 ? null : statuses[i - 1], to })),
    );
    expect(changesFromText('')).toEqual([]);
  });
});
