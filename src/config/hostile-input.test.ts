// Values that are well-formed but would hurt the daemon (issue 11 item 6): durations past what
// a timer can hold, secret files that never end, NUL in paths, duplicate keys.

import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatIssue } from '../fields/errors.js';
import { MAX_TIMER_MS } from '../fields/duration.js';
import { loadConfig, parseConfig, type ParseOptions } from './load.js';
import { stateDirProblem } from './state-dir.js';
import { patched, yamlOf, type Patch } from './test-support/fixtures.js';

function issuesOf(text: string, options: Partial<ParseOptions> = {}): string[] {
  try {
    parseConfig(text, { env: {}, ...options });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(formatIssue);
    throw err;
  }
  return [];
}

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'wgm-hostile-'));

describe('every duration key has an upper bound, named in the error', () => {
  const window = { devices: 'all', schedule: '0 2 * * *', duration: '30m' };
  it.each<[Patch, string]>([
    [['accounts.0.timeout', '25d'], 'accounts[0].timeout: must be at most 10m'],
    [['accounts.0.timeout', '10m1s'], 'accounts[0].timeout: must be at most 10m'],
    [['defaults.timeout', '1h'], 'defaults.timeout: must be at most 10m'],
    [['accounts.0.devices.0.timeout', '11m'], 'accounts[0].devices[0].timeout: must be at most 10m'],
    [['defaults.interval', '2d'], 'defaults.interval: must be at most 1d'],
    [['defaults.repeat_interval', '8d'], 'defaults.repeat_interval: must be at most 7d'],
    [['defaults.flap_window', '30d'], 'defaults.flap_window: must be at most 7d'],
    [['maintenance', [{ ...window, duration: '2w' }]], 'maintenance[0].duration: must be at most 7d'],
    [['audit.stale_after', '400d'], 'audit.stale_after: must be at most 365d'],
    [['retention', '3651d'], 'retention: must be at most 3650d'],
    [['notify.channels.ops.timeout', '1h'], 'notify.channels.ops.timeout: must be at most 10m'],
  ])('%j', (patch, message) => {
    expect(issuesOf(yamlOf(patched([patch])))).toEqual([expect.stringContaining(message)]);
  });

  it.each<Patch>([
    ['accounts.0.timeout', '10m'],
    ['defaults.interval', '1d'],
    ['defaults.repeat_interval', '7d'],
    ['retention', '3650d'],
  ])('accepts the bound itself: %j', (...patch) => {
    expect(issuesOf(yamlOf(patched([patch])))).toEqual([]);
  });

  it('keeps every accepted value below what setTimeout can arm', () => {
    const config = parseConfig(
      yamlOf(
        patched([
          ['defaults.timeout', '10m'],
          ['defaults.interval', '1d'],
          ['defaults.repeat_interval', '7d'],
          ['defaults.flap_window', '7d'],
        ]),
      ),
      { env: {} },
    );
    const policy = config.accounts[0]?.policy;
    for (const ms of [
      policy?.timeoutMs,
      policy?.intervalMs,
      policy?.repeatIntervalMs,
      policy?.flapWindowMs,
    ]) {
      expect(ms).toBeLessThan(MAX_TIMER_MS);
    }
  });
});

describe('secret files are read only when they are small regular files', () => {
  const withTokenFile = (file: string): string =>
    yamlOf(
      patched([
        ['accounts.0.token', undefined],
        ['accounts.0.token_file', file],
      ]),
    );

  // Before the check, /dev/zero was read until memory ran out (13 GB) and never returned.
  it.each([
    ['/dev/zero', 'not a regular file'],
    ['/dev/null', 'not a regular file'],
  ])('%s: refused at once', (file, message) => {
    expect(issuesOf(withTokenFile(file))).toEqual([
      `accounts[0].token_file: cannot read ${file}: ${message} (line 8)`,
    ]);
  });

  it('a directory', () => {
    const dir = tempDir();
    expect(issuesOf(withTokenFile(dir))).toEqual([
      `accounts[0].token_file: cannot read ${dir}: is a directory (line 8)`,
    ]);
  });

  it('a file over 64 KiB', () => {
    const file = join(tempDir(), 'token');
    writeFileSync(file, 'x'.repeat(64 * 1024 + 1));
    expect(issuesOf(withTokenFile(file))).toEqual([
      `accounts[0].token_file: cannot read ${file}: larger than 64 KiB (line 8)`,
    ]);
  });

  it('a channel secret file too (same reader)', () => {
    const text = yamlOf(
      patched([
        ['notify.channels.ops', { type: 'webhook', url: 'https://h.example/x', secret_file: '/dev/zero' }],
      ]),
    );
    expect(issuesOf(text)).toEqual([
      expect.stringMatching(
        /^notify\.channels\.ops\.secret_file: cannot read \/dev\/zero: not a regular file/,
      ),
    ]);
  });

  it('a 64 KiB file is still read', () => {
    const file = join(tempDir(), 'token');
    writeFileSync(file, `${'x'.repeat(64 * 1024 - 1)}\n`);
    expect(issuesOf(withTokenFile(file))).toEqual([]);
  });

  it('--config /dev/zero is refused too', async () => {
    await expect(loadConfig('/dev/zero', {})).rejects.toThrow(
      '/dev/zero: cannot read the config file: not a regular file',
    );
  });
});

describe('paths', () => {
  it.each([
    ['\0', 'state_dir: must not contain a NUL character'],
    ['/var/lib/wgm\0x', 'state_dir: must not contain a NUL character'],
    ['/var/lib/wgm\n', 'state_dir: must not contain line breaks or control characters'],
    ['  ', 'state_dir: must not be empty'],
  ])('state_dir %j', (value, message) => {
    expect(issuesOf(yamlOf(patched([['state_dir', value]])))).toEqual([expect.stringContaining(message)]);
  });

  it('a NUL in token_file is named before any read', () => {
    const text = yamlOf(
      patched([
        ['accounts.0.token', undefined],
        ['accounts.0.token_file', '/run/creds/token\0'],
      ]),
    );
    const read: string[] = [];
    const issues = issuesOf(text, {
      readFile: (path) => {
        read.push(path);
        return 'never';
      },
    });
    expect(issues).toEqual(['accounts[0].token_file: must not contain a NUL character (line 8)']);
    expect(read).toEqual([]);
  });
});

describe('state_dir on this machine (check-config)', () => {
  const check = (dir: string): string[] =>
    issuesOf(yamlOf(patched([['state_dir', dir]])), { stateDirProblem }).filter((i) =>
      i.startsWith('state_dir'),
    );

  it('an existing writable folder, or one that can be created, is fine', () => {
    const dir = tempDir();
    expect(check(dir)).toEqual([]);
    expect(check(join(dir, 'a', 'b'))).toEqual([]);
  });

  it('a file where the folder should be', () => {
    const file = join(tempDir(), 'file');
    writeFileSync(file, '');
    expect(check(file)).toEqual([`state_dir: ${file} is not a directory (line 16)`]);
  });

  it('a path below a file (ENOTDIR)', () => {
    const file = join(tempDir(), 'file');
    writeFileSync(file, '');
    expect(check(join(file, 'state'))).toEqual([`state_dir: ${file} is not a directory (line 16)`]);
  });

  it('a missing folder below a file cannot be created', () => {
    const file = join(tempDir(), 'file');
    writeFileSync(file, '');
    expect(stateDirProblem(join(file, 'a', 'b'))).toBe(`${file} is not a directory`);
  });

  it('is checked even when state_dir is left at its default', () => {
    const seen: string[] = [];
    issuesOf(yamlOf(patched([])), {
      stateDirProblem: (dir) => {
        seen.push(dir);
        return null;
      },
    });
    expect(seen).toEqual(['/var/lib/whatsgate-monitor']);
  });

  it('does not create anything', () => {
    const dir = join(tempDir(), 'new');
    expect(stateDirProblem(dir)).toBeNull();
    expect(() => mkdirSync(dir)).not.toThrow(); // it did not exist
  });

  // root may write anywhere, so EACCES can only be shown by another user.
  it.skipIf(process.getuid?.() === 0)('a folder this user may not write (EACCES)', () => {
    const dir = tempDir();
    chmodSync(dir, 0o500);
    expect(stateDirProblem(dir)).toBe(`${dir} is not writable by this user (permission denied)`);
    expect(stateDirProblem(join(dir, 'sub'))).toBe(
      `${join(dir, 'sub')} does not exist and cannot be created: ${dir} is not writable by this user (permission denied)`,
    );
  });
});

describe('duplicate keys', () => {
  it('names the map, the key and its line', () => {
    const text = [
      'accounts:',
      '  - name: main',
      '    subdomain: acme',
      '    token: a',
      '    devices: []',
      '    token: b',
      'retention: 30d',
      'retention: 60d',
    ].join('\n');
    expect(issuesOf(text)).toEqual([
      'accounts[0]: duplicate key "token" (line 6)',
      '(root): duplicate key "retention" (line 8)',
    ]);
  });

  it('in a flow map, and together with the other errors', () => {
    const text = [
      'listen: nowhere',
      'accounts:',
      '  - { name: main, subdomain: acme, token: a, devices: [], name: again }',
    ].join('\n');
    expect(issuesOf(text)).toEqual([
      'listen: expected host:port, e.g. 127.0.0.1:8749 (line 1)',
      'accounts[0]: duplicate key "name" (line 3)',
    ]);
  });

  it('never quotes the duplicated value (it may be a secret)', () => {
    const text =
      'accounts:\n  - name: main\n    subdomain: acme\n    token: hunter2\n    token: hunter3\n    devices: []\n';
    const issues = issuesOf(text);
    expect(issues).toEqual(['accounts[0]: duplicate key "token" (line 5)']);
    expect(issues.join('\n')).not.toContain('hunter');
  });
});
