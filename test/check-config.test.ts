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

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'wgm-check-')), 'config.yml');
  writeFileSync(file, text);
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

  it('rejects an unknown flag with exit 2', async () => {
    const r = await runCli(['check-config', '--confg', 'x.yml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--confg');
  });
});
