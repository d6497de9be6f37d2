import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { shardOf } from '../src/config/shard.js';
import { runCli } from './support/cli.js';
import { DaemonProcess, tempDir, type LogLine } from './support/daemon.js';
import { writeMonitorConfig } from './support/monitor-config.js';
import { eventually } from './support/ports.js';

// The real daemon process against the simulator on loopback: a drop is detected, recorded and
// reported; kill -9 and a restart keep the state and make no second decision; SIGTERM exits 0.

const DEVICES = 3;
const FIRST = '491500000';
const dropped = '491500001';

const isDown = (device: string) => (l: LogLine) =>
  l.msg === 'device.down' && l['device'] === device && l['component'] === 'poller';

describe('daemon end to end', () => {
  let sim: Simulator;
  let dir: string;
  let configPath: string;
  const procs: DaemonProcess[] = [];

  beforeAll(async () => {
    sim = await startSimulator({
      devices: DEVICES,
      first: FIRST,
      token: 'e2e-token',
      rateLimitPerMinute: 60,
    });
    dir = tempDir();
    configPath = writeMonitorConfig(dir, {
      stateDir: join(dir, 'state'),
      baseUrl: sim.baseUrl,
      interval: '2s',
      failureThreshold: 2,
      rateLimit: '60/min',
      devices: [
        `{ number: "${FIRST}", name: First phone }`,
        `{ number: "+${dropped}", name: Sales phone, labels: { team: sales } }`,
        '{ number: "491500002", name: Third phone }',
      ],
    });
  });

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.kill('SIGKILL');
    // Each rejects on a log line with a repeated key (support/daemon.ts).
    for (const p of procs) await p.exited;
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = { WG_TOKEN: 'e2e-token' };
  const start = (): DaemonProcess => {
    const p = DaemonProcess.start(configPath, env);
    procs.push(p);
    return p;
  };

  it('detects a drop, survives kill -9 without a second alert, and stops on SIGTERM', async () => {
    const first = start();
    const url = await first.url();
    await first.waitFor((l) => l.msg === 'first poll cycle finished: ready', 'readiness');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    // Start-up spreads the first checks over one interval: wait until every device was seen.
    for (const device of [FIRST, dropped, '491500002']) {
      await first.waitFor((l) => l.msg === 'checked' && l['device'] === device, `first check of ${device}`);
    }
    sim.setStatus(dropped, 'disconnected');
    const down = await first.waitFor(isDown(dropped), 'device.down');
    expect(down['status']).toBe('disconnected');

    const status = await runCli(['status', '--json', '--config', configPath], { env });
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout) as {
      device: string;
      status: string;
      state: string;
      since: string;
    }[];
    expect(rows).toHaveLength(DEVICES);
    expect(rows.find((r) => r.device === dropped)).toMatchObject({ status: 'disconnected', state: 'DOWN' });
    expect(rows.find((r) => r.device === FIRST)).toMatchObject({ status: 'connected', state: 'UP' });

    const history = await runCli(['history', dropped, '--json', '--config', configPath], { env });
    expect(history.code).toBe(0);
    const changes = JSON.parse(history.stdout) as { at: string; from: string | null; to: string }[];
    expect(changes.map((c) => [c.from, c.to])).toEqual([
      [null, 'connected'],
      ['connected', 'disconnected'],
    ]);
    expect(changes[1]!.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);

    const api = (await (await fetch(`${url}/api/v1/devices`)).json()) as { device: string; state: string }[];
    expect(api.find((r) => r.device === dropped)?.state).toBe('DOWN');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain(
      `whatsgate_device_status{account="main",device="${dropped}",status="disconnected"} 1`,
    );

    const page = await (await fetch(`${url}/`)).text();
    expect(page).toContain('Sales phone');
    expect(page).toContain('DOWN');
    const relink = await fetch(`${url}/reconnect/${dropped}`);
    expect(relink.status).toBe(200);
    expect(await relink.text()).toContain('Sales phone');

    // kill -9, then a change while the daemon is stopped.
    first.kill('SIGKILL');
    await first.exited;
    sim.setStatus(dropped, 'not connected');

    const second = start();
    await second.waitFor((l) => l.msg === 'first poll cycle finished: ready', 'readiness after restart');
    await second.waitFor(
      (l) => l.msg === 'status changed' && l['device'] === dropped && l['to'] === 'not_connected',
      'the change made while stopped',
    );
    // Let the dropped device be checked a few more times: still DOWN, no second device.down.
    const before = second.lines.length;
    for (let i = 0; i < 3; i++) {
      await second.waitFor(
        (l) => l.msg === 'checked' && l['device'] === dropped,
        `check ${i + 1} after restart`,
        20_000,
        second.lines.findLastIndex((l) => l.msg === 'checked' && l['device'] === dropped) + 1,
      );
    }
    expect(second.lines.slice(0).filter(isDown(dropped))).toHaveLength(0);
    expect(second.lines.length).toBeGreaterThan(before);

    const after = await runCli(['history', dropped, '--json', '--config', configPath], { env });
    const all = JSON.parse(after.stdout) as { from: string | null; to: string }[];
    expect(all.map((c) => [c.from, c.to])).toEqual([
      [null, 'connected'],
      ['connected', 'disconnected'],
      ['disconnected', 'not_connected'],
    ]);

    second.kill('SIGTERM');
    const exit = await second.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(second.lines.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('reloads on SIGHUP, keeping the old config when the new one is bad', async () => {
    const good = readFileSync(configPath, 'utf8');
    const p = start();
    const url = await p.url();
    await p.waitFor((l) => l.msg === 'first poll cycle finished: ready', 'readiness');
    try {
      writeFileSync(configPath, good.replace('accounts:', 'acounts:'));
      p.kill('SIGHUP');
      const failed = await p.waitFor(
        (l) => l.msg === 'reload failed; keeping the previous configuration',
        'failed reload',
      );
      expect(String(failed['err'])).toContain('acounts: unknown key');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);

      writeFileSync(
        configPath,
        good.replace(
          '      - { number: "491500002", name: Third phone }',
          '      - { number: "491500003", name: New phone }',
        ),
      );
      p.kill('SIGHUP');
      await p.waitFor((l) => l.msg === 'configuration reloaded', 'reload');
      const devices = (await (await fetch(`${url}/api/v1/devices`)).json()) as {
        device: string;
        name: string;
      }[];
      expect(devices.map((d) => d.device).sort()).toEqual([FIRST, dropped, '491500003']);
      await p.waitFor((l) => l.msg === 'checked' && l['device'] === '491500003', 'a check of the new device');
    } finally {
      writeFileSync(configPath, good);
    }
    p.kill('SIGINT');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it('mutes a silenced device, and alerts when the silence is lifted while it is still DOWN', async () => {
    const p = start();
    await p.waitFor((l) => l.msg === 'first poll cycle finished: ready', 'readiness');
    const target = '491500002';
    const silenced = await runCli(['silence', target, '--for', '1h', '--config', configPath], { env });
    expect(silenced.code).toBe(0);
    // The daemon reads silences at each tick: change the device only once it holds this one.
    const url = await p.url();
    await eventually('the silence in force', async () => {
      const rows = (await (await fetch(`${url}/api/v1/devices`)).json()) as {
        device: string;
        silenced_until: string | null;
      }[];
      return rows.find((r) => r.device === target)?.silenced_until != null ? rows : undefined;
    });
    const from = p.lines.length;
    sim.setStatus(target, 'not initialized');
    await p.waitFor(
      (l) => l.msg === 'status changed' && l['device'] === target && l['to'] === 'not_initialized',
      'the change while silenced',
    );
    // Two more checks: the device is DOWN by now, and nothing was alerted.
    for (let i = 0; i < 2; i++) {
      await p.waitFor(
        (l) => l.msg === 'checked' && l['device'] === target,
        'a check while silenced',
        20_000,
        p.lines.findLastIndex((l) => l.msg === 'checked' && l['device'] === target) + 1,
      );
    }
    const status = JSON.parse(
      (await runCli(['status', '--json', '--config', configPath], { env })).stdout,
    ) as {
      device: string;
      state: string;
      silenced_until: string | null;
    }[];
    expect(status.find((r) => r.device === target)).toMatchObject({ state: 'DOWN' });
    expect(status.find((r) => r.device === target)?.silenced_until).not.toBeNull();
    expect(p.lines.slice(from).filter(isDown(target))).toHaveLength(0);

    expect((await runCli(['unsilence', target, '--config', configPath], { env })).code).toBe(0);
    const down = await p.waitFor(isDown(target), 'device.down once the silence is lifted', 20_000, from);
    expect(down['status']).toBe('not_initialized');
    sim.setStatus(target, 'connected');
    p.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it('polls only its own shard with --shard I/N, and refuses a bad one', async () => {
    const bad = await runCli(['run', '--shard', '3/2', '--config', configPath], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--shard: expected I/N');

    const all = [FIRST, dropped, '491500002'];
    const mine = all.filter((n) => shardOf(n, 2) === 1);
    const p = DaemonProcess.start(configPath, env, ['--shard', '1/2']);
    procs.push(p);
    const url = await p.url();
    const devices = (await (await fetch(`${url}/api/v1/devices`)).json()) as { device: string }[];
    expect(devices.map((d) => d.device).sort()).toEqual(mine.sort());
    p.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });
});
