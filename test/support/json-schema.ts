// Walks the config's JSON Schema (its validation is ajv's, in test/config-json-schema.test.ts).

export type Schema = Record<string, unknown>;

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
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = schema[key];
    if (Array.isArray(list)) {
      for (const [i, child] of (list as Schema[]).entries()) yield* walk(child, `${path}.${key}[${i}]`);
    }
  }
}
