// HTML helpers for the server-rendered pages and the audit's HTML part. No templates, no
// dependencies: every dynamic value goes through `escapeHtml`.

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

const SPECIAL = /[&<>"']/;

export function escapeHtml(text: string): string {
  // Most values (numbers, times, status words) have nothing to escape: a test is cheaper than a
  // replace that builds a new string, and a status page of 10,000 devices escapes ~200,000 values.
  return SPECIAL.test(text) ? text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c) : text;
}

/** A JSON value safe to embed inside `<script>` (no `</script>`, no U+2028/2029 surprises). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
