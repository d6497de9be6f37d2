// The JSON Schema of the config file, for editors (`# yaml-language-server: $schema=…`), built from
// the very zod schema the loader validates with, so the two cannot drift apart. The committed copy
// is config/whatsgate-monitor.schema.json, written by `npm run schema`; a test fails when it is
// stale.
//
// JSON Schema cannot express the loader's refinements (durations, cron expressions, channel
// references, either-or keys): an editor catches unknown keys, wrong types and typos in enums;
// `whatsgate-monitor check-config` catches the rest.

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
  const { $schema, ...rest } = schema;
  return {
    $schema,
    $comment: 'Generated from src/config/schema.ts by `npm run schema`. Do not edit by hand.',
    description:
      'whatsgate-monitor configuration (docs/reference.md). Validate with: whatsgate-monitor check-config --config FILE',
    ...rest,
  };
}

/** The file's text: the schema as two-space JSON with a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
