// Values as the PostgreSQL store writes them into text columns.

/**
 * Text from outside (a gateway's status text, an error) as PostgreSQL can keep it: it refuses
 * U+0000 in text, which SQLite keeps. Replaced by U+FFFD rather than failing the whole write
 * (a cycle's results would otherwise be refused at every retry).
 */
export function storable<T extends string | null>(text: T): T {
  return (text === null ? null : text.replaceAll('\u0000', '\uFFFD')) as T;
}

/** JSON for a text column; JSON escapes U+0000 (`\u0000`), so it round-trips. */
export function json(value: unknown, what: string): string {
  const text = JSON.stringify(value);
  // undefined, a function or a symbol: nothing that JSON.parse could give back.
  if (text === undefined) throw new TypeError(`${what} is not JSON-serialisable`);
  return text;
}
