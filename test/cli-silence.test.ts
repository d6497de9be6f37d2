import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import { runCli } from './support/cli.js';
import { tempDir, writeConfig } from './support/daemon.js';

// The store-backed commands through the real binary, on a database the daemon would have written.

describe('status, history, silence, unsilence', () => {
  let dir: string;
  let config: string;
  beforeAll(() => {
    dir = tempDir('wgm-cli-');
    config = writeConfig(
      dir,
      `state_dir: ${join(dir, 'state')}
timezone: Europe/Berlin
accounts:
  - name: main
    base_url: http://127.0.0.1:9/api
    token: t0ken
    devices:
      - { number: "111111", name: Sales phone }
      - { number: "222222", name: Support phone }
`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists configured devices before the daemon ever ran', async () => {
    const r = await runCli(['status', '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('no data yet');
    expect(r.stdout).toMatch(/main\s+111111\s+Sales phone\s+-\s+not checked yet/);
  });

  it('silences one device, shows it, and unsilences it', async () => {
    // The daemon creates the database; do the same here.
    mkdirSync(join(dir, 'state'), { recursive: true });
    await openSqliteStore(join(dir, 'state', 'monitor.db'), {}).close();
    const s = await runCli([
      'silence',
      'Sales phone',
      '--for',
      '2h',
      '--reason',
      'battery swap',
      '--config',
      config,
    ]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(
      /^silenced Sales phone \(111111\) for 2h, until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+01:00 — battery swap/,
    );

    const st = await runCli(['status', '--json', '--config', config]);
    const rows = JSON.parse(st.stdout) as { device: string; silenced_until: string | null }[];
    expect(rows.find((r) => r.device === '111111')?.silenced_until).toMatch(/\+01:00$/);
    expect(rows.find((r) => r.device === '222222')?.silenced_until).toBeNull();

    const u = await runCli(['unsilence', '+111 111', '--config', config]);
    expect(u.stdout).toBe('removed 1 silence\n');
    const after = JSON.parse((await runCli(['status', '--json', '--config', config])).stdout) as {
      silenced_until: string | null;
    }[];
    expect(after.every((r) => r.silenced_until === null)).toBe(true);
  });

  it('silences all devices', async () => {
    expect((await runCli(['silence', 'all', '--for', '30m', '--config', config])).code).toBe(0);
    const rows = JSON.parse((await runCli(['status', '--json', '--config', config])).stdout) as {
      silenced_until: string | null;
    }[];
    expect(rows.every((r) => r.silenced_until !== null)).toBe(true);
    expect((await runCli(['unsilence', 'all', '--config', config])).stdout).toBe('removed 1 silence\n');
  });

  it.each([
    [['history', '999', '--config'], 'device "999" is not in the configuration'],
    [['silence', '111111', '--config'], 'usage: silence DEVICE|all --for 2h'],
    [['silence', '111111', '--for', 'soon', '--config'], '--for: expected a duration such as 2h, got "soon"'],
    [['history', '111111', '--since', 'ages', '--config'], '--since: expected a duration such as 7d'],
    [['status', '--bogus', '--config'], "Unknown option '--bogus'"],
  ])('%j → exit 2', async (args, message) => {
    const r = await runCli([...args, config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('reports no history for a device never checked', async () => {
    const r = await runCli(['history', '222222', '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no status changes recorded');
  });
});
