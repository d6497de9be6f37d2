import { describe, expect, it } from 'vitest';
import {
  escapeHelp,
  escapeLabelValue,
  familyHeader,
  formatSampleValue,
  sanitizeLabelName,
} from './exposition.js';
import { TextWriter } from './text-writer.js';

describe('sanitizeLabelName', () => {
  it.each([
    ['team', 'team'],
    ['Team_2', 'Team_2'],
    ['_private', '_private'],
    ['bad-key', 'bad_key'],
    ['dotted.key', 'dotted_key'],
    ['2fa', 'label_2fa'],
    ['__reserved', 'label___reserved'],
    ['', 'label_'],
    ['ümlaut', '_mlaut'],
  ])('%j becomes %j', (input, expected) => {
    expect(sanitizeLabelName(input)).toBe(expected);
  });
});

describe('HELP and values', () => {
  it('escapes backslash and line feed in HELP but keeps quotes', () => {
    expect(escapeHelp('a\\b\n"c"')).toBe('a\\\\b\\n"c"');
    expect(familyHeader('x_total', 'counter', 'Things.')).toBe(
      '# HELP x_total Things.\n# TYPE x_total counter\n',
    );
  });

  it.each([
    [1, '1'],
    [0.25, '0.25'],
    [Number.NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ])('formats %s as %s', (value, expected) => {
    expect(formatSampleValue(value)).toBe(expected);
  });
});

describe('escapeLabelValue', () => {
  it.each([
    'plain',
    'a\\b',
    'say "hi"',
    'two\nlines',
    '\\"\n',
    'a\tb\rc',
    'Zürich 📱',
    'lone \ud800 surrogate',
    '',
  ])('escapes %j as TextWriter.labelValue does, once written', (value) => {
    const direct = new TextWriter();
    direct.labelValue(value);
    const viaString = new TextWriter();
    viaString.text(escapeLabelValue(value));
    expect(viaString.toString()).toBe(direct.toString());
  });
});
