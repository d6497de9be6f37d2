// A small JSON Schema (draft-07) validator for the keywords z.toJSONSchema emits for the config:
// enough to show that a config the loader accepts is one an editor will not flag. An unknown
// keyword throws, so a schema that grows past this subset fails loudly instead of passing.

export type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(['$schema', '$comment', 'title', 'description', 'default', 'examples']);
const CHECKED = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'items',
  'minItems',
  'minLength',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'enum',
  'const',
  'anyOf',
  'oneOf',
]);

/** Every problem found, as `path: message`; empty when the value is valid. */
export function validate(schema: Schema, value: unknown, path = '$'): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(schema)) {
    if (!ANNOTATIONS.has(key) && !CHECKED.has(key))
      throw new Error(`validator does not know "${key}" (${path})`);
  }
  const type = schema['type'];
  if (type !== undefined) {
    const types = Array.isArray(type) ? (type as string[]) : [type as string];
    if (!types.some((t) => hasType(value, t))) return [`${path}: expected ${types.join(' or ')}`];
  }
  if ('const' in schema && value !== schema['const'])
    problems.push(`${path}: expected ${JSON.stringify(schema['const'])}`);
  const enumValues = schema['enum'];
  if (Array.isArray(enumValues) && !enumValues.includes(value)) {
    problems.push(`${path}: expected one of ${enumValues.join(', ')}`);
  }
  if (
    typeof value === 'string' &&
    typeof schema['minLength'] === 'number' &&
    value.length < schema['minLength']
  ) {
    problems.push(`${path}: too short`);
  }
  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum'])
      problems.push(`${path}: too small`);
    if (typeof schema['exclusiveMinimum'] === 'number' && value <= schema['exclusiveMinimum'])
      problems.push(`${path}: too small`);
    if (typeof schema['maximum'] === 'number' && value > schema['maximum'])
      problems.push(`${path}: too large`);
  }
  if (Array.isArray(value)) {
    if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) {
      problems.push(`${path}: too few items`);
    }
    const items = schema['items'] as Schema | undefined;
    if (items !== undefined)
      value.forEach((item, i) => problems.push(...validate(items, item, `${path}[${i}]`)));
  }
  if (isObject(value)) {
    const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
    for (const key of (schema['required'] ?? []) as string[]) {
      if (!(key in value)) problems.push(`${path}.${key}: required`);
    }
    const names = schema['propertyNames'] as Schema | undefined;
    const additional = schema['additionalProperties'] as Schema | boolean | undefined;
    for (const [key, item] of Object.entries(value)) {
      if (names !== undefined) problems.push(...validate(names, key, `${path}.${key} (name)`));
      const own = properties[key];
      if (own !== undefined) problems.push(...validate(own, item, `${path}.${key}`));
      else if (additional === false) problems.push(`${path}.${key}: unknown key`);
      else if (typeof additional === 'object') problems.push(...validate(additional, item, `${path}.${key}`));
    }
  }
  const anyOf = schema['anyOf'] as Schema[] | undefined;
  if (anyOf !== undefined && !anyOf.some((s) => validate(s, value, path).length === 0)) {
    problems.push(`${path}: matches none of anyOf`);
  }
  const oneOf = schema['oneOf'] as Schema[] | undefined;
  if (oneOf !== undefined) {
    const matches = oneOf.filter((s) => validate(s, value, path).length === 0).length;
    if (matches !== 1) problems.push(`${path}: matches ${matches} of oneOf, expected exactly 1`);
  }
  return problems;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    case 'null':
      return value === null;
    default:
      throw new Error(`unknown type ${type}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every schema node below `schema` (itself included), with a readable path. */
export function* walk(schema: Schema, path = '$'): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [key, child] of Object.entries((schema['properties'] ?? {}) as Record<string, Schema>)) {
    yield* walk(child, `${path}.${key}`);
  }
  for (const key of ['items', 'additionalProperties', 'propertyNames'] as const) {
    const child = schema[key];
    if (typeof child === 'object' && child !== null) yield* walk(child as Schema, `${path}.${key}`);
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const list = schema[key];
    if (Array.isArray(list)) {
      for (const [i, child] of (list as Schema[]).entries()) yield* walk(child, `${path}.${key}[${i}]`);
    }
  }
}
