import { describe, expect, it } from 'vitest';
import { runAtOnce } from './steps.js';
import { joinSteps, renderTable } from './table.js';

describe('joinSteps', () => {
  it.each([0, 1, 499, 500, 501, 1_001])('%i parts: what join makes', (n) => {
    const parts = Array.from({ length: n }, (_, i) => `row ${i}`);
    expect(runAtOnce(joinSteps(parts, '\n'))).toBe(parts.join('\n'));
  });
});

describe('renderTable', () => {
  it('pads each column to its widest cell, past a join of its own', () => {
    const rows = Array.from({ length: 1_200 }, (_, i) => [String(i), i === 777 ? 'widest cell' : 'x', '']);
    const lines = renderTable(['N', 'TEXT', 'LAST'], rows).split('\n');
    expect(lines[0]).toBe('N     TEXT         LAST');
    expect(lines[778]).toBe('777   widest cell');
    expect(lines[1_200]).toBe('1199  x');
    expect(lines).toHaveLength(1_202);
  });
});
