import { runAtOnce, type Steps } from './steps.js';

/** A plain left-aligned text table for terminals. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return runAtOnce(tableSteps(header, rows));
}

/** renderTable, yielding after each row (report/steps.ts). */
export function* tableSteps(header: readonly string[], rows: readonly (readonly string[])[]): Steps<string> {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const lines = [line(header)];
  for (const r of rows) {
    lines.push(line(r));
    yield;
  }
  return lines.join('\n') + '\n';
}
