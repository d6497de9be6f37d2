// Duplicate keys in the YAML. The `yaml` library (uniqueKeys) reports them as "Map keys must be
// unique" at a line and column only; an operator with three accounts wants to know which map
// and which key. The tree still holds both pairs, so a walk finds them with their paths.

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import { formatPath, type ConfigIssue, type Path } from '../fields/errors.js';

/** `accounts[0]: duplicate key "token" (line 12)` for every key that repeats in its map. */
export function duplicateKeyIssues(doc: Document, lineCounter: LineCounter): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const walk = (node: unknown, path: Path): void => {
    if (isAlias(node)) return; // the anchored node is walked where it is defined
    if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
      return;
    }
    if (!isMap(node)) return;
    const seen = new Set<string>();
    for (const pair of node.items) {
      // Only scalar keys can be named (and the config has no other kind).
      if (!isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      if (seen.has(key)) {
        const offset = pair.key.range?.[0];
        // The key's name is not a secret (the config's keys are fixed words, labels or channel
        // names); its value is never quoted.
        const issue = { path: formatPath(path), message: `duplicate key ${JSON.stringify(key)}` };
        issues.push(offset === undefined ? issue : { ...issue, line: lineCounter.linePos(offset).line });
      } else {
        seen.add(key);
        walk(pair.value, [...path, key]);
      }
    }
  };
  walk(doc.contents, []);
  return issues;
}
