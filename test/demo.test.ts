// `npm run demo` end to end: the launcher starts the simulator, the mail catcher and the real
// daemon; a device dropped through the simulator's control API shows up as a DOWN email, in
// /metrics and in `status`; the scripted stall drill (Head office connected but sending nothing,
// from ~30 s) as a STALLED email; Ctrl-C (SIGINT) stops everything and exits 0.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli } from './support/cli.js';
import { tempDir } from './support/daemon.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The launcher's stdout, line by line, with event-driven waits. */
class Launcher {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  stderr = '';

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      this.lines.push(line);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.test(line)) return true;
        w.resolve(line);
        return false;
      });
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    const match = (line: string): RegExpExecArray | null => pattern.exec(line);
    const seen = this.lines.find((l) => match(l) !== null);
    if (seen !== undefined) return Promise.resolve(match(seen)!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out waiting for ${pattern}; stderr: ${this.stderr}\nlast lines:\n${this.lines.slice(-20).join('\n')}`,
            ),
          ),
        timeoutMs,
      );
      this.#waiters.push({
        test: (line) => match(line) !== null,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(match(line)!);
        },
      });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(
          new Error(
            `demo exited (${code ?? signal}) while waiting for ${pattern}:\n${this.lines.join('\n')}`,
          ),
        );
      });
    });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const started: { launcher: Launcher; daemonPid: number | null }[] = [];

afterEach(() => {
  // Only after a failed test is anything left; never leave a process behind.
  for (const s of started.splice(0)) {
    if (s.launcher.child.exitCode === null) s.launcher.child.kill('SIGKILL');
    if (s.daemonPid !== null && isAlive(s.daemonPid)) process.kill(s.daemonPid, 'SIGKILL');
  }
});

describe('whatsgate-monitor demo', () => {
  it('shows a drop and a stall as emails, the drop in /metrics and status; SIGINT stops everything, exit 0', async () => {
    const stateDir = tempDir('wgm-demo-');
    const child = spawn(
      process.execPath,
      [
        CLI_PATH,
        'demo',
        '--sim-port',
        '0',
        '--smtp-port',
        '0',
        '--listen',
        '127.0.0.1:0',
        '--state-dir',
        stateDir,
      ],
      // Its own process group, like a shell job: Ctrl-C signals the whole group.
      {
        cwd: ROOT,
        env: { PATH: process.env['PATH'] ?? '' },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      },
    );
    const launcher = new Launcher(child);
    const entry: { launcher: Launcher; daemonPid: number | null } = { launcher, daemonPid: null };
    started.push(entry);

    // The banner: where everything is.
    const [, simUrl] = await launcher.waitFor(/^\s+simulator\s+(http:\/\/127\.0\.0\.1:\d+)\/api /);
    const [, daemonUrl, pid] = await launcher.waitFor(
      /^\s+daemon\s+(http:\/\/127\.0\.0\.1:\d+) \(pid (\d+)\)/,
    );
    entry.daemonPid = Number(pid);
    const configArg = (
      await launcher.waitFor(/^\s+status\s+npx whatsgate-monitor status --config (\S+)$/)
    )[1]!;
    expect(configArg).toBe(join(stateDir, 'demo-config.yml'));
    await launcher.waitFor(/daemon\| .*first poll cycle finished: ready/);

    // Drop a device through the simulator's control API.
    const res = await fetch(`${simUrl}/_sim/devices/100000002/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'disconnected' }),
    });
    expect(res.status).toBe(200);
    await launcher.waitFor(/^sim\s+\| .*100000002.*disconnected/);
    // The daemon decides DOWN one prompt re-check after the check that sees the drop (at most one
    // 20 s interval later); the email follows after group_wait (5 s), or group_interval (15 s)
    // after the previous one. The script drops Sales phone at ~20 s too, so the email may be
    // grouped: "DOWN: 2 devices (Sales phone, Support phone)", which names no number.
    await launcher.waitFor(/daemon\| .*device\.down account=demo device=100000002 /, 30_000);
    const [, downMail] = await launcher.waitFor(
      /^mail\s+\| .*DOWN: (?:Support phone \(100000002\)|\d+ devices \([^)]*Support phone).* → (\S+\.eml)$/,
      25_000,
    );
    expect(existsSync(downMail!)).toBe(true);

    const metrics = await (await fetch(`${daemonUrl}/metrics`)).text();
    expect(metrics).toContain('whatsgate_device_up{account="demo",device="100000002"} 0');
    expect(metrics).toContain(
      'whatsgate_device_status{account="demo",device="100000002",status="disconnected"} 1',
    );

    const status = await runCli(['status', '--json', '--config', configArg], { cwd: ROOT });
    expect(status.code).toBe(0);
    const devices = JSON.parse(status.stdout) as { device: string; state: string; status: string }[];
    expect(devices.find((d) => d.device === '100000002')).toMatchObject({
      state: 'DOWN',
      status: 'disconnected',
    });
    expect(devices).toHaveLength(5);

    // The stall drill: balance reads of Head office every 20 s on the slots status checks leave
    // free; the first reading after ~30 s with messages pending and none sent starts the wait,
    // the next one declares the stall (~60 s), emailed within group_wait / group_interval.
    await launcher.waitFor(/daemon\| .*device\.stalled account=demo device=100000000 /, 60_000);
    const [, stallMail] = await launcher.waitFor(
      /^mail\s+\| .*STALLED: (?:Head office \(100000000\)|\d+ devices? \(Head office).* → (\S+\.eml)$/,
      25_000,
    );
    expect(existsSync(stallMail!)).toBe(true);
    // Nothing stretched (status or balance interval) nor rate-limited: no warning at all.
    expect(launcher.lines.filter((l) => /^daemon\| \S+ WARN /.test(l))).toEqual([]);

    // Ctrl-C: the terminal sends SIGINT to the foreground process group.
    process.kill(-child.pid!, 'SIGINT');
    expect(await launcher.exited).toEqual({ code: 0, signal: null });
    expect(launcher.lines.at(-1)).toMatch(/^demo\s+\| .*stopped$/);
    expect(launcher.lines.some((l) => /daemon\| .*INFO\s+daemon\s+stopped/.test(l))).toBe(true);
    expect(isAlive(entry.daemonPid)).toBe(false);
    await expect(fetch(`${simUrl}/_sim/devices`)).rejects.toThrow();
    await expect(fetch(`${daemonUrl}/healthz`)).rejects.toThrow();
    expect(existsSync(join(stateDir, 'monitor.db'))).toBe(true);
    expect(launcher.stderr).toBe('');
  }, 120_000);

  it('config/demo.yml leaves budget for balance reads beside the status checks', async () => {
    const r = await runCli(['check-config', '--config', join(ROOT, 'config', 'demo.yml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('reads: status every 20s; balance every 20s');
    expect(r.stdout).not.toContain('Warnings');
  });

  it('exits 1 and leaves nothing running when the daemon cannot start (port taken)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const r = await runCli(
        [
          'demo',
          '--sim-port',
          '0',
          '--smtp-port',
          '0',
          '--listen',
          `127.0.0.1:${port}`,
          '--state-dir',
          tempDir('wgm-demo-'),
        ],
        { cwd: ROOT },
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/the daemon exited with code 1/);
      expect(r.stdout).toContain('EADDRINUSE');
    } finally {
      taken.close();
    }
  });

  it.each([
    [['--sim-port', 'x'], '--sim-port must be a port number'],
    [['--listen', 'nowhere'], '--listen must be host:port'],
    [['--config', '/nonexistent/demo.yml'], 'cannot read /nonexistent/demo.yml'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('%j is bad usage (exit 2)', async (args, message) => {
    const r = await runCli(['demo', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('says what it does with --help', async () => {
    const r = await runCli(['demo', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--sim-port N');
  });
});
