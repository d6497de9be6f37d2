import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { accountsRegion, keepNumbersAsWritten, leanYamlTree, parseConfigDocument } from './yaml-tree.js';

/** The tree as the whole document gives it; null when the document has an error. */
function wholeTree(text: string): unknown {
  const doc = parseConfigDocument(text);
  if (doc.errors.length > 0) return null;
  keepNumbersAsWritten(doc);
  return doc.toJS({ maxAliasCount: 1000 });
}

/** Texts the lean reader must cut, and read exactly as the whole document. */
const CUT: Record<string, string> = {
  'items indented, keys after accounts': `state_dir: /var/lib/x
accounts:
  - name: a
    token: t1
    devices:
      - { number: "4915100001" }
      - number: 0049151000002
  - name: b
    token: t2
    devices: [ "4915100003" ]
listen: 127.0.0.1:9101
`,
  'compact items at column 0, accounts last': `listen: 127.0.0.1:9101
accounts:
- name: a
  devices:
  - number: 4915100001
- name: b
  devices: []
`,
  'comments everywhere, blank lines, a comment below the items’ column': `# head
accounts: # the fleet
  # first
  - name: a   # trailing

# between, at column 0
  - name: b
    note: x
# after
notify:
  default: [ops]
`,
  'block scalars and quoted strings holding item-like lines': `accounts:
  - name: a
    note: |
      - name: not an item
      accounts:
    other: >-
      folded
      - text
  - name: "b
      - continued"
    quoted: '- x
      y'
listen: 1
`,
  'a flow collection over several lines': `accounts:
  - name: a
    devices: [
      "1",
      "2",
    ]
    labels: {
      team: x,
      site: y }
  - name: b
`,
  'CRLF line ends':
    'accounts:\r\n  - name: a\r\n    devices:\r\n      - number: 1\r\n  - name: b\r\nlisten: x\r\n',
  'a merge key without an alias': `accounts:
  - name: a
    <<: { token: t, concurrency: 2 }
    concurrency: 3
`,
  'a number of many digits, kept as written': `accounts:
  - name: a
    devices: [ 004915112345678901234567 ]
    devices_more:
      - number: 12345678901234567890123
`,
  'one item only, no trailing newline': 'accounts:\n  - name: a',
  'an empty item': 'accounts:\n  -\n  - name: b\n',
};

/** Texts it must leave to the whole-document reader (null), whatever they mean. */
const NOT_CUT: Record<string, string> = {
  'an anchor and an alias': 'defaults: &d { interval: 60s }\naccounts:\n  - name: a\n    policy: *d\n',
  'a tag': 'accounts:\n  - name: !!str a\n',
  'a directive': '%YAML 1.2\n---\naccounts:\n  - name: a\n',
  'a document marker': '---\naccounts:\n  - name: a\n',
  'two documents': 'accounts:\n  - name: a\n...\n---\nx: 1\n',
  'accounts in flow style': 'accounts: [ { name: a } ]\n',
  'accounts with a value on its line': 'accounts: &x\n  - name: a\n',
  'a quoted key': '"accounts":\n  - name: a\n',
  'accounts twice': 'accounts:\n  - name: a\naccounts:\n  - name: b\n',
  'no accounts': 'listen: x\n',
  'accounts not a sequence': 'accounts:\n  main:\n    token: x\n',
  'a syntax error in an item': 'accounts:\n  - name: a\n    token: "open\n  - name: b\n',
  'a duplicate key in an item': 'accounts:\n  - name: a\n    name: b\n',
  'a duplicate key outside': 'listen: a\naccounts:\n  - name: a\nlisten: b\n',
  'an item less indented than the first': 'accounts:\n    - name: a\n  - name: b\n',
};

describe('leanYamlTree', () => {
  for (const [name, text] of Object.entries(CUT)) {
    it(`reads account by account exactly as the whole document: ${name}`, () => {
      expect(accountsRegion(text)).not.toBeNull();
      const lean = leanYamlTree(text);
      expect(lean).not.toBeNull();
      expect(lean).toStrictEqual(wholeTree(text));
    });
  }

  for (const [name, text] of Object.entries(NOT_CUT)) {
    it(`leaves the text to the whole-document reader: ${name}`, () => {
      expect(leanYamlTree(text)).toBeNull();
    });
  }

  it('reads the shipped example and demo configs as the whole document does', () => {
    for (const file of ['config/whatsgate-monitor.example.yml', 'config/demo.yml']) {
      const text = readFileSync(file, 'utf8');
      const lean = leanYamlTree(text);
      // Either cut and equal, or left whole (an anchor in the example, say): never different.
      if (lean !== null) expect(lean, file).toStrictEqual(wholeTree(text));
    }
  });

  it('finds each item where its first line starts', () => {
    const text = 'a: 1\naccounts:\n  - name: x\n    k: v\n  - name: y\nb: 2\n';
    expect(accountsRegion(text)).toStrictEqual({
      start: text.indexOf('  - name: x'),
      end: text.indexOf('b: 2'),
      items: [text.indexOf('  - name: x'), text.indexOf('  - name: y')],
    });
  });

  it('equals the whole document on generated configs, or leaves them whole', () => {
    // Fragments that stress the cut: comments at any column, blank lines, multi-line scalars
    // whose lines look like items or keys, flow collections across lines, compact style.
    const random = mulberry32(17);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    let cut = 0;
    for (let run = 0; run < 300; run++) {
      const indent = pick(['', '  ', '    ']);
      const inner = `${indent}  `;
      const lines: string[] = [pick(['', '# top\n', 'listen: x\n', 'state_dir: "/d"\n'])];
      lines.push(pick(['accounts:', 'accounts:   ', 'accounts: # c']));
      const items = 1 + Math.floor(random() * 4);
      for (let i = 0; i < items; i++) {
        lines.push(`${indent}- name: acct${i}`);
        const extra = Math.floor(random() * 4);
        for (let k = 0; k < extra; k++) {
          lines.push(
            pick([
              `${inner}token: t${k}`,
              `${inner}note: |\n${inner}  - name: fake\n${inner}  accounts:`,
              `${inner}quoted: "a\n${inner}  - b"`,
              `${inner}devices: [ "1",\n${inner}  "2" ]`,
              `${inner}devices:\n${inner}  - number: 0049${k}\n${inner}  - { number: "5" }`,
              '# at column 0',
              '',
              `${inner}# indented`,
            ]),
          );
        }
      }
      lines.push(pick(['', 'notify: { default: [] }', '# end', 'z: 1']));
      const text = `${lines.join('\n')}\n`;
      const lean = leanYamlTree(text);
      if (lean === null) continue;
      cut++;
      expect(lean, text).toStrictEqual(wholeTree(text));
    }
    // Most of them are cut: the test compares, it does not skip.
    expect(cut).toBeGreaterThan(200);
  });
});

/** A small seeded generator: the same texts every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
