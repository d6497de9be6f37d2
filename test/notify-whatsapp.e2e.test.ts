import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../src/simulator/server.js';
import { dbPathIn } from '../src/store/location.js';
import { runCli } from './support/cli.js';
import { writeMonitorConfig } from './support/monitor-config.js';
import { testScope } from './support/scope.js';
import type { LogLine } from './support/daemon.js';

// The whatsapp channel of the real daemon process against the simulator's `/send/text`: alerts
// about one watched device go out as WhatsApp messages from the first sender device that is UP,
// fall over to the next one when it is DOWN, wait in the outbox while none is UP (and go out when
// one comes back), and every message is a call in the account's budget — counted by the
// simulator at arrival, within the gateway's 60 a minute, and in the daemon's call log.
// Every wait is on something that happens (a log line); nothing sleeps.

const TOKEN = 'wa-e2e-token';
const S1 = '491700000';
const S2 = '491700001';
const WATCHED = '491700002';
const PHONE = '4915550001';

const scope = testScope();

function configFor(dir: string, sim: Simulator): string {
  return writeMonitorConfig(dir, {
    stateDir: join(dir, 'state'),
    baseUrl: sim.baseUrl,
    successThreshold: 1,
    rateLimit: '40/min',
    devices: [
      `{ number: "${S1}", name: Sender one }`,
      `{ number: "${S2}", name: Sender two }`,
      `{ number: "${WATCHED}", name: Shop phone, channels: [wa] }`,
    ],
    rest: `notify:
  group_wait: 0s
  group_interval: 0s
  default: []
  channels:
    wa: { type: whatsapp, account: main, from: ["+${S1}", "${S2}"], to: ["+${PHONE}"], timeout: 5s }
`,
  });
}

const isEvent = (type: string, device: string) => (l: LogLine) =>
  l.msg === type && l['component'] === 'poller' && l['device'] === device;
const waSent = (l: LogLine) => l.msg === 'notification sent' && l['channel'] === 'wa';

/** The largest number of API calls the simulator saw arrive within any 60 s. */
function busiestMinute(sim: Simulator): number {
  const at = sim.stats().calls.map((c) => c.at);
  let best = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i]! - at[j]! >= 60_000) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('whatsapp channel end to end', () => {
  it('sends from the healthy sender, falls over, waits while none is UP, and stays in the budget', async () => {
    const sim = await scope.simulator({ devices: 3, first: S1, token: TOKEN, rateLimitPerMinute: 60 });
    const dir = scope.dir('wgm-wa-');
    const p = scope.daemon(configFor(dir, sim), { WG_TOKEN: TOKEN });
    const base = await p.url();
    await p.waitFor((l) => l.msg === 'first poll cycle finished: ready', 'ready');

    // 1. Both senders UP: the DOWN goes out from the first.
    sim.setStatus(WATCHED, 'disconnected');
    await p.waitFor(waSent, 'the first whatsapp message', 20_000);
    expect(sim.messages()).toMatchObject([{ sender: S1, phone: PHONE }]);
    expect(sim.messages()[0]!.message).toContain('*DOWN: Shop phone (491700002) disconnected*');
    expect(sim.messages()[0]!.message).toContain('whatsgate-monitor connect 491700002');

    // 2. The first sender DOWN: the UP goes out from the second, the first is not even tried.
    let mark = p.lines.length;
    sim.setStatus(S1, 'disconnected');
    await p.waitFor(isEvent('device.down', S1), 'sender one DOWN', 20_000, mark);
    mark = p.lines.length;
    sim.setStatus(WATCHED, 'connected');
    await p.waitFor(waSent, 'the second whatsapp message', 20_000, mark);
    expect(sim.messages().map((m) => m.sender)).toEqual([S1, S2]);
    expect(sim.messages()[1]!.message).toContain('*UP: Shop phone (491700002) connected*');

    // 3. No sender UP: the DOWN waits in the outbox, no call is made, the gauge says why.
    mark = p.lines.length;
    sim.setStatus(S2, 'disconnected');
    await p.waitFor(isEvent('device.down', S2), 'sender two DOWN', 20_000, mark);
    mark = p.lines.length;
    sim.setStatus(WATCHED, 'disconnected');
    const failed = await p.waitFor(
      (l) => l.msg === 'notification failed; will retry' && l['channel'] === 'wa',
      'the whatsapp message held back',
      20_000,
      mark,
    );
    expect(failed['err']).toBe(`no healthy sender device (from: ${S1}, ${S2})`);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('whatsgate_notification_senders_up{channel="wa"} 0');
    expect(sim.stats().requests.send).toBe(2);

    // 4. A sender back UP: the next retry (the outbox's backoff, 10 s) sends it from there.
    mark = p.lines.length;
    sim.setStatus(S2, 'connected');
    await p.waitFor(isEvent('device.up', S2), 'sender two UP', 20_000, mark);
    await p.waitFor(waSent, 'the held message sent', 30_000, mark);
    expect(sim.messages().map((m) => m.sender)).toEqual([S1, S2, S2]);
    expect(sim.messages()[2]!.message).toContain('*DOWN: Shop phone (491700002) disconnected*');

    // 5. The budget: three /send/text calls, counted with the checks at the simulator (no 429,
    // within 40 a minute) and in the daemon's call log as out-of-band calls.
    const stats = sim.stats();
    expect(stats.requests.send).toBe(3);
    expect(stats.calls.filter((c) => c.endpoint === 'send')).toHaveLength(3);
    expect(stats.calls.some((c) => c.httpStatus === 429)).toBe(false);
    expect(busiestMinute(sim)).toBeLessThanOrEqual(40);
    p.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    const db = new Database(dbPathIn(join(dir, 'state')), { readonly: true, fileMustExist: true });
    try {
      const row = db
        .prepare("SELECT COUNT(*) AS n FROM api_calls WHERE account = 'main' AND kind = 'out_of_band'")
        .get() as { n: number };
      expect(row.n).toBeGreaterThanOrEqual(3);
    } finally {
      db.close();
    }
  }, 120_000);

  it('test-notify --channel wa sends through the account from the CLI, in the CLI budget', async () => {
    const sim = await scope.simulator({ devices: 3, first: S1, token: TOKEN, rateLimitPerMinute: 60 });
    const dir = scope.dir('wgm-wa-cli-');
    const path = configFor(dir, sim);
    const check = await runCli(['check-config', '--config', path], { env: { WG_TOKEN: TOKEN } });
    expect(check.code, check.stderr).toBe(0);
    // No daemon has run: no stored rows, so the first sender is presumed UP; it is not connected
    // at the gateway, which says so, and the second one sends.
    sim.setStatus(S1, 'disconnected');
    const r = await runCli(['test-notify', '--channel', 'wa', '--config', path], {
      env: { WG_TOKEN: TOKEN },
    });
    expect(r.stdout).toBe('wa: sent\n');
    expect(r.code).toBe(0);
    expect(sim.messages()).toMatchObject([{ sender: S2, phone: PHONE }]);
    expect(sim.messages()[0]!.message).toContain('*TEST: test message for channel wa*');
    expect(sim.stats().requests.send).toBe(2);
  });
});
