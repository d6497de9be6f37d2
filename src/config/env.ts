// `${VAR}` substitution in string values, after YAML parsing so a value can never change the
// document's structure (a variable holding `]` or a newline stays a plain string).

import type { IssueList, Path } from '../fields/errors.js';

// `$${` is the escape for a literal `${`; anything else starting with `${` must be a valid name.
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{[^}]*\}?/g;

/** V8 copies a slice shorter than this; a longer one shares its parent's characters. */
const SHARED_SLICE_LENGTH = 13;

/**
 * `text` as a string of its own. The YAML parser's values are slices of the file's text, and V8
 * keeps the whole parent of a slice alive: one value kept for the daemon's life (an account's
 * base URL) kept the whole config file, 3.4 MB at 100,000 devices (issue 17).
 */
function detached(text: string): string {
  return text.length < SHARED_SLICE_LENGTH ? text : (' ' + text).slice(1);
}

/**
 * A copy of `tree` with every `${VAR}` in a string value replaced, and every string value its
 * own copy (not a slice of the file's text). Unset variables and malformed
 * references are added to `issues`; their paths are returned so later checks of the same key do
 * not pile a second, confusing error onto the first.
 */
export function substituteEnv(
  tree: unknown,
  env: NodeJS.ProcessEnv,
  issues: IssueList,
): { value: unknown; failed: Path[] } {
  const failed: Path[] = [];
  const walk = (node: unknown, path: Path): unknown => {
    if (typeof node === 'string') return substituteString(node, path);
    if (Array.isArray(node)) return node.map((item: unknown, i) => walk(item, [...path, i]));
    if (isPlainObject(node)) {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) out[key] = walk(value, [...path, key]);
      return out;
    }
    return node;
  };
  const substituteString = (text: string, path: Path): string => {
    if (!text.includes('${')) return detached(text);
    let ok = true;
    const result = text.replace(REFERENCE, (match, name: string | undefined) => {
      if (match === '$${') return '${';
      if (name === undefined) {
        // Not echoed: the surrounding value may be a secret.
        issues.add(
          path,
          'malformed ${...} reference: expected ${NAME} (letters, digits, _); write $${ for a literal ${',
        );
        ok = false;
        return match;
      }
      const value = env[name];
      if (value === undefined) {
        issues.add(path, `environment variable ${name} is not set`);
        ok = false;
        return match;
      }
      return value;
    });
    if (!ok) failed.push(path);
    return result;
  };
  return { value: walk(tree, []), failed };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}
