import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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

  // Every command that reads the config words a missing file the same way: where it looked,
  // where that path came from, and how to give another — never "invalid configuration".
  describe.each(['check-config', 'status', 'run'])('%s without a config file', (command) => {
    const missing = (): string => join(mkdtempSync(join(tmpdir(), 'wgm-check-')), 'missing.yml');

    it('given with --config: exit 2 naming the path and the flag', async () => {
      const file = missing();
      const r = await runCli([command, '--config', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`no config file at ${file} (given with --config)\n`);
    });

    it('given in $WHATSGATE_MONITOR_CONFIG: names the variable', async () => {
      const file = missing();
      const r = await runCli([command], { env: { WHATSGATE_MONITOR_CONFIG: file } });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`no config file at ${file} (given in $WHATSGATE_MONITOR_CONFIG)\n`);
    });

    it('at the default path: says how to give one', async () => {
      const r = await runCli([command]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        'no config file at /etc/whatsgate-monitor/config.yml ' +
          '(the default; give one with --config PATH or $WHATSGATE_MONITOR_CONFIG)\n',
      );
    });
  });

  it('a file that exists but is invalid still says "invalid configuration" at the other commands', async () => {
    const r = await runCli(['status', '--config', writeConfig(INVALID)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/: invalid configuration\n/);
    expect(r.stderr).toContain('accounts[0].devices[0].numbr');
  });

  it('an unreadable path (a folder) names the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgm-check-'));
    const r = await runCli(['status', '--config', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${dir}: cannot read the config file: is a directory\n`);
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

  it('run refuses the same state_dir with the same line, exit 2, before opening anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgm-check-'));
    writeFileSync(join(dir, 'plain-file'), '');
    const file = writeConfig(`state_dir: ${join(dir, 'plain-file', 'state')}\n${VALID}`);
    const check = await runCli(['check-config', '--config', file], { env: ENV });
    const run = await runCli(['run', '--config', file], { env: ENV });
    const line = `state_dir: ${join(dir, 'plain-file')} is not a directory (line 1)`;
    expect(check.stderr).toContain(`  ${line}\n`);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`${file}: invalid configuration\n${line}\n`);
    expect(run.stdout).toBe('');
  });

  it.runIf(process.getuid?.() !== 0)('run refuses a state_dir this user may not write (EACCES)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgm-check-'));
    const locked = join(dir, 'locked');
    mkdirSync(locked, { mode: 0o500 });
    const file = writeConfig(`state_dir: ${join(locked, 'state')}\n${VALID}`);
    const run = await runCli(['run', '--config', file], { env: ENV });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `state_dir: ${join(locked, 'state')} does not exist and cannot be created: ${locked} is not writable by this user (permission denied) (line 1)`,
    );
  });

  it('names a duplicate key with its map and line', async () => {
    const file = writeConfig(VALID.replace('name: main', 'name: main\n    name: again'));
    const r = await runCli(['check-config', '--config', file], { env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('accounts[0]: duplicate key "name" (line 5)');
  });

  it('says how to make a webhook secret when one is plain text, and accepts it with secret_format: raw', async () => {
    const plain = await runCli(['check-config', '--config', writeConfig(VALID)], {
      env: { ...ENV, HOOK_SECRET: 'correct horse battery staple' },
    });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain(
      'notify.channels.ops.secret: not a Standard Webhooks secret: expected whsec_ followed by base64 ' +
        '(make one with `whatsgate-monitor webhook-secret`, or set secret_format: raw to sign with this text as it is)',
    );
    expect(plain.stderr).not.toContain('correct horse');
    const raw = await runCli(
      [
        'check-config',
        '--config',
        writeConfig(
          VALID.replace('secret: "${HOOK_SECRET}"', 'secret: "${HOOK_SECRET}", secret_format: raw'),
        ),
      ],
      { env: { ...ENV, HOOK_SECRET: 'correct horse battery staple' } },
    );
    expect(raw.stderr).toBe('');
    expect(raw.code).toBe(0);
  });

  it('rejects an unknown flag with exit 2', async () => {
    const r = await runCli(['check-config', '--confg', 'x.yml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--confg');
  });
});
