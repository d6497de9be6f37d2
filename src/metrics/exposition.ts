// Prometheus text exposition format 0.0.4, the parts the hand-written device block needs.
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** HELP text escapes backslash and line feed only (a quote is literal there). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * A label value's escapes (`\\`, `\"`, `\n`), as TextWriter.labelValue writes them; a lone
 * surrogate is left for the writer, which replaces it when it encodes the text.
 */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value;
}

/** Go's ParseFloat reads what `String(number)` writes, except the non-finite spellings. */
export function formatSampleValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Makes a user's label key a legal Prometheus label name: other characters become `_`, and a
 * name that would start with a digit or with the reserved `__` gets a `label_` prefix.
 * Config validation should already refuse such keys; this keeps one bad key from making the
 * whole scrape unparseable.
 */
export function sanitizeLabelName(name: string): string {
  if (LABEL_NAME.test(name) && !name.startsWith('__')) return name;
  const replaced = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(replaced) || replaced.startsWith('__') || replaced === ''
    ? `label_${replaced}`
    : replaced;
}

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** The `# HELP` and `# TYPE` lines that open a family. */
export function familyHeader(name: string, type: MetricType, help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}
