// Writes config/whatsgate-monitor.schema.json from the zod schema the loader uses.
// Run through `npm run schema` (which builds first). `--check` exits 1 when the file is stale.
// Node's globals are imported so that linting this plain JS file needs no environment settings.
import console from 'node:console';
import { readFile, writeFile } from 'node:fs/promises';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { CONFIG_SCHEMA_FILE, configJsonSchemaText } from '../dist/config-schema.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const file = `${root}${CONFIG_SCHEMA_FILE}`;
const options = (await prettier.resolveConfig(file)) ?? {};
const text = await prettier.format(configJsonSchemaText(), { ...options, filepath: file });

if (process.argv.includes('--check')) {
  const current = await readFile(file, 'utf8').catch(() => '');
  if (current !== text) {
    console.error(`${CONFIG_SCHEMA_FILE} is stale: run npm run schema`);
    process.exitCode = 1;
  } else {
    console.log(`${CONFIG_SCHEMA_FILE} is up to date`);
  }
} else {
  await writeFile(file, text);
  console.log(`wrote ${CONFIG_SCHEMA_FILE}`);
}
