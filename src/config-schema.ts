// The JSON Schema of the config file, for editors (`# yaml-language-server: $schema=…`), built from
// the very zod schema the loader validates with, so the two cannot drift apart. The committed copy
// is config/whatsgate-monitor.schema.json, written by `npm run schema`; a test fails when it is
// stale.
//
// The refinements JSON Schema can say travel with the zod schema as metadata: `pattern`s for
// durations, label names, device numbers, URLs, cron, bcrypt hashes (fields/json-patterns.ts) and
// "exactly one of" for subdomain/base_url and token/token_file. What it cannot (unique names,
// channel references, a duration's maximum, time zones) stays with `check-config`. The result
// compiles under ajv's strict mode (test/config-json-schema.test.ts).

import { z } from 'zod';
import { rawConfigSchema } from './config/schema.js';

/** Where the committed schema lives, relative to the package root. */
export const CONFIG_SCHEMA_FILE = 'config/whatsgate-monitor.schema.json';

export type JsonSchema = Record<string, unknown>;

/**
 * The config file's JSON Schema. Draft-07, which every YAML/JSON editor plugin understands;
 * `io: 'input'` because it documents the file as written, before defaults.
 */
export function configJsonSchema(): JsonSchema {
  const schema = z.toJSONSchema(rawConfigSchema, {
    target: 'draft-07',
    io: 'input',
    unrepresentable: 'throw',
    override: ({ jsonSchema }) => {
      // zod bounds every z.int() by Number.MAX_SAFE_INTEGER: true, and only noise in a hover.
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    },
  }) as JsonSchema;
  // After generation: zod merges unions of plain types once the overrides have run.
  splitTypeLists(schema);
  const { $schema, ...rest } = schema;
  return {
    $schema,
    $comment: 'Generated from src/config/schema.ts by `npm run schema`. Do not edit by hand.',
    description:
      'whatsgate-monitor configuration (docs/reference.md). Validate with: whatsgate-monitor check-config --config FILE',
    ...rest,
  };
}

/**
 * zod writes a union of plain types as `type: ["string", "number", "boolean"]`; ajv's strict mode
 * refuses type lists (strictTypes), so each becomes an `anyOf` of one type each, everywhere.
 */
function splitTypeLists(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(splitTypeLists);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const schema = node as JsonSchema;
  const types = schema['type'];
  if (Array.isArray(types)) {
    delete schema['type'];
    schema['anyOf'] = types.map((type: unknown) => ({ type }));
  }
  for (const value of Object.values(schema)) splitTypeLists(value);
}

/** The file's text: the schema as two-space JSON with a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
