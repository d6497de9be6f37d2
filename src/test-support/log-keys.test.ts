import { describe, expect, it } from 'vitest';
import { duplicateKeyProblems, duplicateKeys } from './log-keys.js';

describe('duplicateKeys', () => {
  it.each<[string, string, { at: string; key: string }[]]>([
    ['each key once', '{"a":1,"b":{"a":2},"c":[{"a":3}]}', []],
    ['top level', '{"component":"notify","x":1,"component":"notify"}', [{ at: '$', key: 'component' }]],
    ['nested', '{"err":{"code":"E","code":"F"}}', [{ at: '$.err', key: 'code' }]],
    ['inside an array', '{"l":[{"k":1},{"k":1,"k":2}]}', [{ at: '$.l[1]', key: 'k' }]],
    [
      'escaped quotes in keys and values',
      '{"a\\"b":"x\\",\\"a\\"b\\":","a\\"b":1}',
      [{ at: '$', key: 'a"b' }],
    ],
    ['unicode escapes name the same key', '{"k":1,"\\u006b":2}', [{ at: '$', key: 'k' }]],
    ['whitespace and empty containers', '{ "a" : { } , "b" : [ ] , "a" : null }', [{ at: '$', key: 'a' }]],
  ])('%s', (_name, text, expected) => {
    expect(duplicateKeys(text)).toEqual(expected);
  });

  it('refuses text that is not JSON', () => {
    expect(() => duplicateKeys('{"a":')).toThrow();
  });
});

describe('duplicateKeyProblems', () => {
  it('names the line and the key, skips blank lines, reports non-JSON lines', () => {
    const problems = duplicateKeyProblems(['{"a":1}', '', '{"a":1,"a":2}', 'plain text']);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^line 3: key "a" twice in \$/);
    expect(problems[1]).toMatch(/^line 4: not JSON/);
  });
});
