// The raw config tree as the cross-key checks read it: defensively, because they run — and
// report — even where zod found the tree malformed (all errors at once, SPEC §4).

export type Tree = Readonly<Record<string, unknown>>;

export function record(value: unknown): Tree | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Tree) : null;
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
