import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { CLI_PATH, runCli } from './support/cli.js';

describe('whatsgate-monitor simulate', () => {
  it('serves the API, prints one line with base URL, token and devices, and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI_PATH,
        'simulate',
        '--port',
        '0',
        '--devices',
        '3',
        '--first',
        '+4915100000000',
        '--token',
        'demo-tok',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } },
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await new Promise<string>((resolve) => lines.once('line', resolve));
      expect(first).toMatch(
        /^WhatsGate simulator: base_url http:\/\/127\.0\.0\.1:\d+\/api token demo-tok devices 4915100000000-4915100000002 \(3\) rate_limit 60\/min flap off control http:\/\/127\.0\.0\.1:\d+\/_sim\/$/,
      );
      const baseUrl = /base_url (\S+)/.exec(first)![1]!;
      const res = await fetch(`${baseUrl}/status/4915100000001`, { headers: { 'access-token': 'demo-tok' } });
      expect(await res.json()).toEqual({ success: true, message: 'connected' });
      const denied = await fetch(`${baseUrl}/status/4915100000001`, { headers: { 'access-token': 'x' } });
      expect(denied.status).toBe(403);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it.each([
    [['--port', 'http'], '--port must be a whole number'],
    [['--devices', '-3'], '--devices'],
    [['--first', 'abc'], '--first must be a phone number'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('%j is bad usage (exit 2)', async (args, message) => {
    const r = await runCli(['simulate', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
