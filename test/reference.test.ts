// docs/reference.md is the product's own reference: its generated parts must be what
// `npm run reference` writes from the built program (dist/, built by the global setup), and no
// user-facing text may send readers to the project's internal contract.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CHANNEL_TYPES } from '../src/notify/channels/index.js';
import { EVENT_TYPES } from '../src/monitor/model.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

describe('docs/reference.md', () => {
  it('is what `npm run reference` generates (scripts/generate-reference.mjs --check)', async () => {
    const r = await run(process.execPath, [join(ROOT, 'scripts/generate-reference.mjs'), '--check']).catch(
      (err: { stdout: string; stderr: string }) => err,
    );
    expect(r.stderr, 'docs/reference.md is stale: run npm run reference').toBe('');
    expect(r.stdout).toContain('is up to date');
  });

  it('names every event type, channel type and config section', () => {
    const text = read('docs/reference.md');
    for (const type of EVENT_TYPES) expect(text).toContain(`| \`${type}\` |`);
    for (const type of CHANNEL_TYPES) expect(text).toContain(`### \`${type}\``);
    for (const key of [
      'state_dir',
      'accounts[].rate_limit',
      'notify.group_wait',
      'web.basic_auth.password_hash',
    ]) {
      expect(text).toContain(`\`${key}\``);
    }
    for (const path of ['/metrics', '/healthz', '/readyz', '/api/v1/devices', '/reconnect/{device}']) {
      expect(text).toContain(`\`GET ${path}`);
    }
  });

  it('is linked from the README and from operations.md', () => {
    expect(read('README.md')).toContain('](docs/reference.md)');
    expect(read('docs/operations.md')).toContain('](reference.md)');
  });

  it.each([
    'README.md',
    'CHANGELOG.md',
    'docs/operations.md',
    'docs/reference.md',
    'config/whatsgate-monitor.example.yml',
    'config/demo.yml',
    'config/whatsgate-monitor.schema.json',
    'config/prometheus/alerts.yml',
  ])('%s cites no internal SPEC section and no ../shared path', (file) => {
    const text = read(file);
    expect(text).not.toMatch(/SPEC(\.md| §)/);
    expect(text).not.toContain('../shared');
  });
});
