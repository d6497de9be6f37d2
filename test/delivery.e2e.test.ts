// Delivery health (SPEC §10) end to end: the real daemon against the simulator's message queues.
// A stall is alerted within stall_after and the readings around it, recovery too; a failing device
// and a low balance are alerted; the gateway's day rollover alerts nothing; balance calls, counted
// at the simulator, stay inside the budget together with the status checks, and a DOWN device's
// balance is not read. Everything is asserted on the daemon's log events, never on sleeps.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { DaemonProcess, tempDir, writeConfig, type LogLine } from './support/daemon.js';

const A = '491600000'; // stalls, then recovers
const B = '491600001'; // fails, then runs low on balance
const C = '491600002'; // goes DOWN
const RATE = 60;
const CHECK_S = 4;
const STALL_AFTER_S = 6;
/** The effective read interval with 3 UP devices (see the config below). */
const READ_EVERY_S = 9;

const event = (type: string, device: string, problem?: string) => (l: LogLine) =>
  l.msg === type && l['device'] === device && (problem === undefined || l['problem'] === problem);

describe('delivery health end to end', () => {
  let sim: Simulator;
  let dir: string;
  let daemon: DaemonProcess;

  beforeAll(async () => {
    sim = await startSimulator({ devices: 3, first: A, token: 'e2e-token', rateLimitPerMinute: RATE });
    sim.setTraffic(60);
    dir = tempDir();
    // 3 devices every 9 s at 60/min: a status check every 3 s; the scheduler plans one call every
    // 1.34 s (a quarter kept for out-of-band calls), so one read fits in each gap: 20 reads a
    // minute, 3 UP devices each read every 9 s, 2 every 6 s.
    const config = writeConfig(
      dir,
      `state_dir: ${join(dir, 'state')}
listen: 127.0.0.1:0
schedule: "* * * * * *"
log_level: debug
defaults:
  interval: 9s
  timeout: 2s
  failure_threshold: 2
  repeat_interval: 0
  delivery: { check: ${CHECK_S}s, stall_after: ${STALL_AFTER_S}s, failed_ratio: 0.5, min_failed: 2, low_balance: 10 }
accounts:
  - name: main
    base_url: ${sim.baseUrl}
    token: e2e-token
    rate_limit: ${RATE}/min
    devices:
      - { number: "${A}", name: Stalling phone }
      - { number: "${B}", name: Failing phone }
      - { number: "${C}", name: Dropping phone }
`,
    );
    daemon = DaemonProcess.start(config);
    await daemon.url();
    for (const d of [A, B, C]) {
      await daemon.waitFor(
        (l) => l.msg === 'balance read' && l['device'] === d,
        `first reading of ${d}`,
        30_000,
      );
    }
  }, 60_000);

  afterAll(async () => {
    if (daemon.child.exitCode === null) daemon.kill('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('alerts a stall within stall_after and the readings around it, and its recovery', async () => {
    const from = daemon.lines.length;
    const started = Date.now();
    sim.setDelivery(A, { mode: 'stall' });
    await daemon.waitFor(event('device.stalled', A), 'device.stalled', 40_000, from);
    // The stall begins between two readings: the first reading showing it is up to one read
    // interval late, the one that declares it one more; the effective interval is 9 s here.
    expect(Date.now() - started).toBeLessThanOrEqual((STALL_AFTER_S + 2 * READ_EVERY_S + 2) * 1000);
    const recoverFrom = daemon.lines.length;
    sim.setDelivery(A, { mode: 'normal' });
    await daemon.waitFor(event('device.delivery_recovered', A, 'stalled'), 'recovery', 30_000, recoverFrom);
  }, 90_000);

  it('alerts a failing device, then a low balance', async () => {
    const from = daemon.lines.length;
    sim.setDelivery(B, { mode: 'fail', failShare: 0.9 });
    await daemon.waitFor(event('device.failing', B), 'device.failing', 40_000, from);
    sim.setDelivery(B, { remaining: 5 });
    await daemon.waitFor(event('device.balance_low', B), 'device.balance_low', 30_000, from);
  }, 90_000);

  it('reads a rollover as a new day: nothing is alerted for a healthy device', async () => {
    sim.setDelivery(A, { mode: 'normal', remaining: 1000 });
    const from = daemon.lines.length;
    sim.rollDay();
    // Three more readings of A after the rollover.
    let seen = from;
    for (let i = 0; i < 3; i++) {
      await daemon.waitFor(
        (l) => l.msg === 'balance read' && l['device'] === A,
        'a reading after the rollover',
        30_000,
        seen,
      );
      seen = daemon.lines.findIndex((l, j) => j >= seen && l.msg === 'balance read' && l['device'] === A) + 1;
    }
    const alerts = daemon.lines
      .slice(from)
      .filter(
        (l) =>
          l['device'] === A &&
          /^device\.(stalled|failing|balance_low|delivery_recovered)$/.test(String(l.msg)),
      );
    expect(alerts).toEqual([]);
  }, 90_000);

  it('reads no balance of a DOWN device, and balance plus status calls stay within the budget', async () => {
    sim.setStatus(C, 'disconnected');
    await daemon.waitFor((l) => l.msg === 'device.down' && l['device'] === C, 'device.down', 30_000);
    const downAt = Date.now();
    // A few more rounds of every other device's checks and reads.
    const from = daemon.lines.length;
    for (const d of [A, B])
      await daemon.waitFor(
        (l) => l.msg === 'balance read' && l['device'] === d,
        `reading of ${d}`,
        30_000,
        from,
      );
    await daemon.waitFor(
      (l) => l.msg === 'checked' && l['device'] === C,
      'a status check of C while DOWN',
      30_000,
      from,
    );

    const calls = sim.stats().calls;
    const balanceOfC = calls.filter((c) => c.endpoint === 'balance' && c.device === C && c.at > downAt);
    expect(balanceOfC).toEqual([]);
    expect(calls.some((c) => c.endpoint === 'balance')).toBe(true);
    // Counted at the simulator, on arrival: never a 429, and no 60 s window over the rate.
    expect(calls.filter((c) => c.httpStatus === 429)).toEqual([]);
    const times = calls.filter((c) => c.endpoint === 'status' || c.endpoint === 'balance').map((c) => c.at);
    let lo = 0;
    for (let j = 0; j < times.length; j++) {
      while (times[j]! - times[lo]! >= 60_000) lo++;
      expect(j - lo + 1).toBeLessThanOrEqual(RATE);
    }
  }, 90_000);
});
