// zod's issues → our wording. zod hands error maps the offending input; it is used here only to
// name its type ("got a list"), never printed, so secrets cannot leak through a type error.

import type { z } from 'zod';
import type { Path } from '../fields/errors.js';

type RawIssue = z.core.$ZodRawIssue;

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  literal: 'a fixed value',
};

export function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return `a ${typeof value}`;
}

/** The per-parse error map: the wording for every issue a field did not word itself. */
export function errorMap(issue: RawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${kindOf(issue.input)}`;
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'string')
        return min <= 1 ? 'must not be empty' : `must be at least ${min} characters`;
      if (issue.origin === 'array') return `must list at least ${min} item${min === 1 ? '' : 's'}`;
      return issue.inclusive === false ? `must be greater than ${min}` : `must be at least ${min}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${max} characters`;
      if (issue.origin === 'array') return `must list at most ${max} items`;
      return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}`
        : `expected one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_union': {
      if (issue.input === undefined) return 'required';
      if (issue.note === 'No matching discriminator') {
        const options = (Array.isArray(issue.options) ? (issue.options as unknown[]) : [])
          .map(String)
          .join(', ');
        const discriminator = issue.discriminator ?? 'type';
        const input = issue.input;
        const present = typeof input === 'object' && input !== null && discriminator in input;
        return present ? `expected one of ${options}` : `${discriminator} is required: one of ${options}`;
      }
      const kinds = new Set<string>();
      for (const branch of issue.errors) {
        const first = branch[0];
        if (first?.code === 'invalid_type') kinds.add(EXPECTED[first.expected] ?? first.expected);
        else if (first?.code === 'invalid_value')
          kinds.add(first.values.map((v) => JSON.stringify(v)).join(' or '));
      }
      return kinds.size > 0 ? `expected ${[...kinds].join(' or ')}` : 'invalid value';
    }
    case 'invalid_format':
      return `invalid format (expected ${issue.format})`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return 'unknown key';
    case 'invalid_key':
      return 'invalid key';
    case 'invalid_element':
      return 'invalid element';
    case 'custom':
      return issue.message ?? 'invalid value';
  }
}

export interface MappedIssue {
  readonly path: Path;
  readonly message: string;
}

/** One issue per unknown key and per bad record key, with the path our messages use. */
export function mapZodIssues(
  issues: readonly z.core.$ZodIssue[],
  knownKeys: (path: Path) => readonly string[],
): MappedIssue[] {
  const out: MappedIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(path);
      for (const key of issue.keys) {
        const guess = closest(key, known);
        out.push({
          path: [...path, key],
          message: guess === null ? 'unknown key' : `unknown key (did you mean ${guess}?)`,
        });
      }
    } else if (issue.code === 'invalid_key') {
      for (const inner of issue.issues) out.push({ path, message: inner.message });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

/** A likely intended key for a typo (`numbr` → `number`), or null when nothing is close. */
export function closest(key: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(key.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(
        Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
