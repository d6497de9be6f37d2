import { runAtOnce, type Steps } from './steps.js';

/** A plain left-aligned text table for terminals. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return runAtOnce(tableSteps(header, rows));
}

/** Lines joined per step of joinSteps: each join a fraction of a millisecond. */
const LINES_PER_JOIN = 500;

/**
 * renderTable, yielding after each row (report/steps.ts) — while the widths are measured, and
 * again while the lines are written: at 10,000 rows each pass over all of them in one step takes
 * milliseconds.
 */
export function* tableSteps(header: readonly string[], rows: readonly (readonly string[])[]): Steps<string> {
  const widths = header.map((h) => h.length);
  for (const r of rows) {
    r.forEach((c, i) => {
      if (c.length > widths[i]!) widths[i] = c.length;
    });
    yield;
  }
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
  return (yield* joinSteps(lines, '\n')) + '\n';
}

/**
 * `parts.join(separator)`, a few hundred parts a step. The chunks are put together with `+`,
 * which links them rather than copying: one join of a 10,000-row report copies megabytes in one
 * go (ten milliseconds and more for the HTML). The one copy is left to whoever reads the text
 * whole (the encoding for sending), as it would have been made here.
 */
export function* joinSteps(parts: readonly string[], separator: string): Steps<string> {
  let out = '';
  for (let i = 0; i < parts.length; i += LINES_PER_JOIN) {
    const chunk = parts.slice(i, i + LINES_PER_JOIN).join(separator);
    out = i === 0 ? chunk : out + separator + chunk;
    yield;
  }
  return out;
}
