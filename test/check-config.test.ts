import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';

const VALID = `
accounts:
  - name: main
    base_url: http://127.0.0.1:8080/api
    token: \${WHATSGATE_TOKEN}
    devices:
      - number: "+49 151 1111111"
        name: Sales phone
notify:
  default: [ops]
  channels:
    ops: { type: webhook, url: "https://hooks.example.com/wg", secret: "\${HOOK_SECRET}" }
`;

const INVALID = `
listen: nowhere
accounts:
  - name: main
    subdomain: acme
    token: hunter2-secret
    devices:
      - numbr: "123"
notify:
  default: [ghost]
`;

/** The file in a fresh folder; `state_dir` there too, unless the text sets one (check-config looks at it). */
function writeConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wgm-check-'));
  const file = join(dir, 'config.yml');
  writeFileSync(file, /^state_dir:/m.test(text) ? text : `state_dir: ${join(dir, 'state')}\n${text}`);
  return file;
}

const ENV = { WHATSGATE_TOKEN: 'tok-123', HOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };

describe('whatsgate-monitor check-config', () => {
  it('prints the summary and exits 0 for a valid config', async () => {
    const file = writeConfig(VALID);
    const r = await runCli(['check-config', '--config', file], { env: ENV });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Config OK: ${file}`);
    expect(r.stdout).toContain('Accounts: 1, devices: 1');
    expect(r.stdout).toContain('main: 1 device, http://127.0.0.1:8080/api');
    expect(r.stdout).toContain('Channels: ops (webhook)');
    expect(r.stdout).toContain('Schedule: */10 * * * * *');
    expect(r.stdout).toContain('Listen: 127.0.0.1:8749');
    expect(r.stdout).not.toContain('tok-123');
  });

  it('lists every error on stderr and exits 2, without the secret', async () => {
    const file = writeConfig(INVALID);
    const r = await runCli(['check-config', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file}: 4 errors`);
    expect(r.stderr).toContain('listen: expected host:port');
    expect(r.stderr).toContain('accounts[0].devices[0].number: required');
    expect(r.stderr).toContain('accounts[0].devices[0].numbr: unknown key');
    expect(r.stderr).toContain('notify.default[0]: unknown channel "ghost"');
    expect(r.stderr).not.toContain('hunter2');
  });

  it('reports an unset ${VAR} with exit 2', async () => {
    const r = await runCli(['check-config', '--config', writeConfig(VALID)], { env: { HOOK_SECRET: 'x' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('accounts[0].token: environment variable WHATSGATE_TOKEN is not set');
  });

  it('exits 2 for a missing file, naming it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wgm-check-')), 'missing.yml');
    const r = await runCli(['check-config', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: cannot read the config file: no such file`);
  });

  it('reads the path from WHATSGATE_MONITOR_CONFIG', async () => {
    const file = writeConfig(VALID);
    const r = await runCli(['check-config'], { env: { ...ENV, WHATSGATE_MONITOR_CONFIG: file } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Config OK: ${file}`);
  });

  it('prefers --config over WHATSGATE_MONITOR_CONFIG', async () => {
    const good = writeConfig(VALID);
    const r = await runCli(['check-config', '--config', good], {
      env: { ...ENV, WHATSGATE_MONITOR_CONFIG: '/nonexistent/config.yml' },
    });
    expect(r.code).toBe(0);
  });

  // Issue 11 item 6: `token_file: /dev/zero` read 13 GB and never finished; a NUL state_dir passed.
  it('refuses a token_file that is not a regular file, at once', async () => {
    const file = writeConfig(VALID.replace('token: ${WHATSGATE_TOKEN}', 'token_file: /dev/zero'));
    const r = await runCli(['check-config', '--config', file], { env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('accounts[0].token_file: cannot read /dev/zero: not a regular file (line');
  }, 10_000);

  it('refuses a state_dir with a NUL, or under a file, naming the key', async () => {
    const nul = await runCli(['check-config', '--config', writeConfig(`state_dir: "\\0"\n${VALID}`)], {
      env: ENV,
    });
    expect(nul.code).toBe(2);
    expect(nul.stderr).toContain('state_dir: must not contain a NUL character (line 1)');

    const dir = mkdtempSync(join(tmpdir(), 'wgm-check-'));
    writeFileSync(join(dir, 'plain-file'), '');
    const under = await runCli(
      ['check-config', '--config', writeConfig(`state_dir: ${join(dir, 'plain-file', 'state')}\n${VALID}`)],
      { env: ENV },
    );
    expect(under.code).toBe(2);
    expect(under.stderr).toContain(`state_dir: ${join(dir, 'plain-file')} is not a directory (line 1)`);
  });

  it('names a duplicate key with its map and line', async () => {
    const file = writeConfig(VALID.replace('name: main', 'name: main\n    name: again'));
    const r = await runCli(['check-config', '--config', file], { env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('accounts[0]: duplicate key "name" (line 5)');
  });

  it('rejects an unknown flag with exit 2', async () => {
    const r = await runCli(['check-config', '--confg', 'x.yml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--confg');
  });
});
