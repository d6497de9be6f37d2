import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Receiver } from '../src/notify/test-support/http-receiver.js';
import type { Simulator } from '../src/simulator/server.js';
import { runCli } from './support/cli.js';
import { writeMonitorConfig, webhookNotify } from './support/monitor-config.js';
import { testScope } from './support/scope.js';
import type { LogLine } from './support/daemon.js';
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

const scope = testScope();

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
    const dir = scope.dir('wgm-notfound-');
    const sim = await scope.simulator({
      devices: KNOWN.length,
      first: FIRST,
      token: TOKEN,
      rateLimitPerMinute: 0,
    });
    const hook = await scope.receiver();
    const configPath = writeMonitorConfig(dir, {
      stateDir: join(dir, 'state'),
      baseUrl: sim.baseUrl,
      failureThreshold: 2,
      rateLimit: '600/min',
      devices: [...KNOWN, ...UNKNOWN].map((d) => `{ number: "${d}", name: Phone ${d.slice(-1)} }`),
      rest: webhookNotify(hook.url),
    });
    const p = scope.daemon(configPath, { WG_TOKEN: TOKEN });
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
