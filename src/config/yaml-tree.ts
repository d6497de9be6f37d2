// From YAML text to the plain tree the schema validates, two ways (issue 17).
//
// The `yaml` library builds a token tree and a document of nodes before any value comes out:
// about 110 bytes of heap per byte of text, 400 MB for a 3.4 MB config of 100,000 devices, all of
// it alive at once. Most of such a file is the `accounts` sequence, and its items share nothing
// once the text holds no anchors, aliases or tags. So `leanYamlTree` finds the items with the
// library's lexer and parses the rest of the file and each item on its own: one account's nodes
// at a time. The tree is the same as the whole document's; anything that makes that uncertain,
// and any error at all, gives null, and the caller reads the whole document the usual way (which
// also says where each problem is).

import { isSeq, Lexer, parseDocument, Scalar, visit, isScalar, type Document, type LineCounter } from 'yaml';

/** How every config text is parsed (the whole document, or a part of it). */
export function parseConfigDocument(text: string, lineCounter?: LineCounter): Document {
  return parseDocument(text, {
    prettyErrors: false,
    merge: true,
    uniqueKeys: true,
    ...(lineCounter === undefined ? {} : { lineCounter }),
  });
}

/** Aliases expand to at most this many nodes (a "billion laughs" file fails instead). */
export const MAX_ALIAS_COUNT = 1000;

/**
 * YAML reads `number: 0049151…` as the integer 49151… and a 20-digit number loses precision;
 * device numbers are identifiers, so they keep the text the operator wrote.
 */
export function keepNumbersAsWritten(doc: Document): void {
  const asText = (node: unknown): unknown => {
    if (!isScalar(node) || typeof node.value !== 'number') return node;
    const text = new Scalar(node.source ?? String(node.value));
    if (node.range) text.range = node.range;
    return text;
  };
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key)) return;
      if (pair.key.value === 'number') pair.value = asText(pair.value);
      if (pair.key.value === 'devices' && isSeq(pair.value)) pair.value.items = pair.value.items.map(asText);
    },
  });
}

/** Where the top-level `accounts` block sequence is: its text, and where each item starts. */
export interface AccountsRegion {
  /** Just past the line of the `accounts:` key. */
  readonly start: number;
  /** The first line after the last item (or the text's end). */
  readonly end: number;
  /** The start of each item's first line, in order. */
  readonly items: readonly number[];
}

// The lexer's own markers, which stand for no text.
const DOCUMENT = '\x02';
const FLOW_END = '\x18';
const SCALAR = '\x1f';

/**
 * The items of the top-level `accounts:` block sequence, or null when the text cannot be cut
 * there with certainty: anchors, aliases, tags, directives or document markers anywhere; no such
 * key at column 0 or one written otherwise (quoted, flow style, a value on its line); the key
 * twice; anything the lexer had to end early.
 */
export function accountsRegion(text: string): AccountsRegion | null {
  // A marker character in the text itself would be taken for one of the lexer's.
  if (text.includes(DOCUMENT) || text.includes(FLOW_END) || text.includes(SCALAR)) return null;
  let offset = 0;
  let lineStart = 0;
  /** The next lexeme with text is the first on its line (indentation aside). */
  let firstOnLine = true;
  let flowDepth = 0;
  let documents = 0;
  let state: 'before' | 'key' | 'colon' | 'awaitItem' | 'items' | 'after' = 'before';
  let itemColumn = -1;
  let start = -1;
  let end = text.length;
  const items: number[] = [];
  for (const lexeme of new Lexer().lex(text)) {
    if (lexeme === DOCUMENT) {
      if (++documents > 1) return null;
      continue;
    }
    if (lexeme === FLOW_END) return null;
    if (lexeme === SCALAR) continue;
    const at = offset;
    offset += lexeme.length;
    const first = lexeme[0];
    if (first === '&' || first === '*' || first === '!' || first === '%') return null;
    if (lexeme === '---' || lexeme === '...') return null;
    const blank = /^[ \t]*$/.test(lexeme);
    const newline = lexeme.endsWith('\n');
    if (first === '{' || first === '[') flowDepth++;
    else if (first === '}' || first === ']') flowDepth--;
    const leading = firstOnLine && !blank && !newline && flowDepth === 0;
    if (state === 'key') {
      // `accounts` then `:`, then nothing but spaces or a comment before the line ends.
      if (lexeme !== ':') return null;
      state = 'colon';
    } else if (state === 'colon') {
      if (newline) {
        state = 'awaitItem';
        start = offset;
      } else if (!blank && first !== '#') return null;
    } else if (leading && first !== '#' && lexeme !== '\u{FEFF}') {
      const column = at - lineStart;
      if (state === 'before' || state === 'after') {
        if (column === 0 && lexeme === 'accounts') {
          if (state === 'after') return null;
          state = 'key';
        }
      } else if (state === 'awaitItem') {
        if (lexeme !== '-') return null;
        itemColumn = column;
        items.push(lineStart);
        state = 'items';
      } else if (lexeme === '-' && column === itemColumn) {
        items.push(lineStart);
      } else if (column <= itemColumn) {
        end = lineStart;
        state = 'after';
        if (column === 0 && lexeme === 'accounts') return null;
      }
    }
    if (newline) {
      lineStart = offset;
      firstOnLine = true;
    } else if (!blank) firstOnLine = false;
  }
  if (offset !== text.length || flowDepth !== 0) return null;
  if (state !== 'items' && state !== 'after') return null;
  return { start, end, items };
}

/**
 * The tree of a valid document read account by account, or null: the text is not cut that way
 * (`accountsRegion`), or a part has an error (duplicate keys included), or a part is not what
 * the cut promised. Equal to `wholeYamlTree(text)` whenever it is not null.
 */
export function leanYamlTree(text: string): Record<string, unknown> | null {
  const region = accountsRegion(text);
  if (region === null) return null;
  const headDoc = parseConfigDocument(text.slice(0, region.start) + text.slice(region.end));
  if (headDoc.errors.length > 0) return null;
  keepNumbersAsWritten(headDoc);
  const head: unknown = headDoc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  if (head === null || typeof head !== 'object' || Array.isArray(head)) return null;
  const tree = head as Record<string, unknown>;
  if (!Object.hasOwn(tree, 'accounts') || tree['accounts'] !== null) return null;
  const accounts: unknown[] = [];
  for (const [i, from] of region.items.entries()) {
    const doc = parseConfigDocument(text.slice(from, region.items[i + 1] ?? region.end));
    if (doc.errors.length > 0 || !isSeq(doc.contents) || doc.contents.items.length !== 1) return null;
    keepNumbersAsWritten(doc);
    accounts.push((doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown[])[0]);
  }
  tree['accounts'] = accounts;
  return tree;
}
