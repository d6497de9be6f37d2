import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../src/notify/test-support/http-receiver.js';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { runCli } from './support/cli.js';
import { DaemonProcess, tempDir, writeConfig, type LogLine } from './support/daemon.js';
import { eventually } from './support/ports.js';

// Issue 12 "Show": an account with 2 devices the gateway knows and 2 it does not (deleted, or a
// typo). The real daemon against the simulator, scaled down from "2 minutes at 60 s" to a 1 s
// interval: each unknown device raises one device.not_found, the account never turns
// unreachable (it used to flip every few seconds), and the unknown devices are polled at most a
// tenth as often as the known ones — counted where the gateway counts, at the simulator.
// Every wait is on an event: a log line, a webhook, a count at the simulator.

const TOKEN = 'nf-token';
const FIRST = '100000000';
const KNOWN = [FIRST, '100000001'];
const UNKNOWN = ['100000007', '100000009'];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface WebhookEvent {
  type: string;
  device?: { number: string };
  status?: string;
}

function events(hook: Receiver): WebhookEvent[] {
  return hook.requests.flatMap((r) => (JSON.parse(r.body) as { events: WebhookEvent[] }).events);
}

function statusCalls(sim: Simulator, device: string, after: number): number {
  return sim.stats().calls.filter((c) => c.endpoint === 'status' && c.device === device && c.at > after)
    .length;
}

describe('devices the gateway does not know (end to end)', () => {
  it('one device.not_found each, no account.unreachable, polled at most a tenth as often', async () => {
    const dir = tempDir('wgm-notfound-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sim = await startSimulator({
      devices: KNOWN.length,
      first: FIRST,
      token: TOKEN,
      rateLimitPerMinute: 0,
    });
    cleanups.push(() => sim.close());
    const hook = await startReceiver();
    cleanups.push(() => hook.close());
    const configPath = writeConfig(
      dir,
      `state_dir: ${join(dir, 'state')}
listen: 127.0.0.1:0
schedule: "* * * * * *"
log_level: debug
defaults:
  interval: 1s
  timeout: 2s
  failure_threshold: 2
  repeat_interval: 0
accounts:
  - name: main
    base_url: ${sim.baseUrl}
    token: \${WG_TOKEN}
    rate_limit: 600/min
    devices:
${[...KNOWN, ...UNKNOWN].map((d) => `      - { number: "${d}", name: Phone ${d.slice(-1)} }`).join('\n')}
notify:
  # Not a grouping test: every message goes out at once.
  group_wait: 0s
  group_interval: 0s
  default: [hook]
  channels:
    hook: { type: webhook, url: "${hook.url}", timeout: 5s }
`,
    );
    const p = DaemonProcess.start(configPath, { WG_TOKEN: TOKEN });
    cleanups.push(async () => {
      if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
      await p.exited;
    });
    const url = await p.url();

    const notFound = (device: string) => (l: LogLine) =>
      l.msg === 'device.not_found' && l['component'] === 'poller' && l['device'] === device;
    for (const device of UNKNOWN) await p.waitFor(notFound(device), `device.not_found for ${device}`);
    const confirmedAt = Date.now();
    // Delivered: one webhook event per unknown device, saying what to do.
    await eventually('both device.not_found webhooks', () =>
      Promise.resolve(
        events(hook).filter((e) => e.type === 'device.not_found').length >= 2 ? true : undefined,
      ),
    );

    // Steady state from here: count checks at the simulator until the known devices had 25 more.
    const checkedKnown = () => statusCalls(sim, KNOWN[0]!, confirmedAt);
    await eventually(
      '25 more checks of a known device',
      () => Promise.resolve(checkedKnown() >= 25 ? true : undefined),
      60_000,
    );
    const known = Math.min(...KNOWN.map((d) => statusCalls(sim, d, confirmedAt)));
    for (const device of UNKNOWN) {
      // at most one check per 10 intervals, plus one for where the window cuts the cadence
      expect(
        statusCalls(sim, device, confirmedAt),
        `checks of ${device} vs ${known} of a known one`,
      ).toBeLessThanOrEqual(Math.floor(known / 10) + 1);
    }

    const all = events(hook);
    expect(
      all
        .filter((e) => e.type === 'device.not_found')
        .map((e) => e.device?.number)
        .sort(),
    ).toEqual(UNKNOWN);
    expect(all.filter((e) => e.type.startsWith('account.'))).toEqual([]);
    expect(all.filter((e) => e.type === 'device.down')).toEqual([]);
    expect(p.lines.filter((l) => l.msg === 'account.unreachable')).toEqual([]);

    // Shown as such: status --json, the API and the metrics.
    const status = await runCli(['status', '--json', '--config', configPath], { env: { WG_TOKEN: TOKEN } });
    const rows = JSON.parse(status.stdout) as { device: string; status: string; state: string }[];
    expect(rows.filter((r) => UNKNOWN.includes(r.device)).map((r) => [r.status, r.state])).toEqual([
      ['not_found', 'DOWN'],
      ['not_found', 'DOWN'],
    ]);
    const api = (await (await fetch(`${url}/api/v1/devices`)).json()) as { device: string; status: string }[];
    expect(api.map((r) => r.status)).toEqual(['connected', 'connected', 'not_found', 'not_found']);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const device of UNKNOWN) {
      expect(metrics).toContain(
        `whatsgate_device_status{account="main",device="${device}",status="not_found"} 1`,
      );
    }
    expect(metrics).toContain('whatsgate_account_reachable{account="main"} 1');
  }, 120_000);
});
