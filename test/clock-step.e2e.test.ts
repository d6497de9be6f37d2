// Issue 11 item 4, end to end: a backward wall-clock step must not stop the checks. The real
// daemon runs under libfaketime (test/support/faketime.ts) with its wall clock stepped back one
// hour mid-run — the monotonic clock stays real, as it does when NTP or an operator steps the
// system clock. Before the fix a 1-hour step stopped every check for an hour, so a drop in that
// hour was never detected. Checks are counted where the gateway counts them: at the simulator,
// whose clock is not stepped. libfaketime missing: skipped locally with the reason, a failure
// in CI.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeMonitorConfig } from './support/monitor-config.js';
import { testScope } from './support/scope.js';
import type { LogLine } from './support/daemon.js';
import { faketimeEnv, findLibfaketime } from './support/faketime.js';
import { eventually } from './support/ports.js';

const library = findLibfaketime();
const inCi = process.env['CI'] !== undefined && process.env['CI'] !== '';

const TOKEN = 'clock-step-token';
const FIRST = '491900000';
const TARGET = '491900001';
const INTERVAL_MS = 2_000;
const STEP_MS = 3_600_000;
/** Checks of the target counted after the step: ten seconds of checks at the 2 s interval. */
const CHECKS_AFTER_STEP = 5;

/** A log line's own time (the daemon's wall clock), ms since the epoch; NaN when it has none. */
function loggedAt(line: LogLine): number {
  return typeof line['time'] === 'string' ? Date.parse(line['time']) : Number.NaN;
}

const scope = testScope();

if (library === undefined) {
  if (inCi) {
    it('needs libfaketime (required in CI)', () => {
      expect.fail('libfaketime.so.1 is missing: install Debian’s faketime');
    });
  } else {
    it.skip('clock step: skipped, libfaketime is not installed (apt-get install faketime)', () => undefined);
  }
}

describe.runIf(library !== undefined)('a backward wall-clock step (end to end, libfaketime)', () => {
  const lib = library ?? '';

  it('drives Node’s wall clock here and leaves its monotonic clock alone', () => {
    // Without this the test below could pass with the step never applied.
    const dir = scope.dir('wgm-faketime-');
    const file = join(dir, 'faketime');
    writeFileSync(file, '-1h\n');
    const out = execFileSync(
      process.execPath,
      ['-e', 'console.log(JSON.stringify([Date.now(), performance.timeOrigin + performance.now()]))'],
      { env: { PATH: process.env['PATH'] ?? '', ...faketimeEnv(lib, file) }, encoding: 'utf8' },
    );
    const [wall, origin] = JSON.parse(out) as [number, number];
    expect(Date.now() - wall).toBeGreaterThan(STEP_MS - 60_000);
    expect(Date.now() - wall).toBeLessThan(STEP_MS + 60_000);
    // performance.timeOrigin is read from the wall clock at start, so it moved with it; the
    // monotonic part, performance.now(), is a few hundred milliseconds: not faked.
    expect(Date.now() - origin).toBeGreaterThan(STEP_MS - 60_000);
  });

  it('keeps checking every interval after the wall clock steps back an hour, and detects a drop', async () => {
    const dir = scope.dir('wgm-clock-step-');
    const sim = await scope.simulator({ devices: 2, first: FIRST, token: TOKEN, rateLimitPerMinute: 0 });
    const offsetFile = join(dir, 'faketime');
    writeFileSync(offsetFile, '+0\n');
    const configPath = writeMonitorConfig(dir, {
      stateDir: join(dir, 'state'),
      baseUrl: sim.baseUrl,
      interval: `${INTERVAL_MS / 1000}s`,
      failureThreshold: 2,
      rateLimit: '120/min',
      devices: [`{ number: "${FIRST}", name: First phone }`, `{ number: "${TARGET}", name: Target phone }`],
    });
    const p = scope.daemon(configPath, { WG_TOKEN: TOKEN, ...faketimeEnv(lib, offsetFile) });
    const checksOfTarget = (after: number): number[] =>
      sim
        .stats()
        .calls.filter((c) => c.endpoint === 'status' && c.device === TARGET && c.at > after)
        .map((c) => c.at);

    // Running and checking at its interval before the step.
    await p.waitFor((l) => l.msg === 'first poll cycle finished: ready', 'readiness');
    await eventually('three checks of the target before the step', () =>
      Promise.resolve(checksOfTarget(0).length >= 3 ? true : undefined),
    );

    // The step: every clock read of the daemon from now on is an hour behind.
    writeFileSync(offsetFile, `-${STEP_MS / 1000}\n`);
    const stepAt = Date.now();
    const lastBefore = Math.max(...checksOfTarget(0));

    // Still checked at the interval: CHECKS_AFTER_STEP more within about as many intervals (the
    // bound is generous for a loaded CI machine; the failure this guards against is an hour).
    const after = await eventually(
      `${CHECKS_AFTER_STEP} checks of ${TARGET} after the wall clock stepped back an hour`,
      () => {
        const seen = checksOfTarget(stepAt);
        return Promise.resolve(seen.length >= CHECKS_AFTER_STEP ? seen : undefined);
      },
      (CHECKS_AFTER_STEP + 5) * INTERVAL_MS,
      100,
    ).catch((err: unknown) => {
      const seen = checksOfTarget(stepAt);
      throw new Error(
        `the checks stopped when the wall clock stepped back: ${seen.length} check(s) of ${TARGET} ` +
          `in the ${Math.round((Date.now() - stepAt) / 1000)} s since; the daemon's last log lines:\n` +
          p.lines
            .slice(-8)
            .map((l) => JSON.stringify(l))
            .join('\n'),
        { cause: err },
      );
    });
    const gaps = [lastBefore, ...after].slice(1).map((at, i) => at - [lastBefore, ...after][i]!);
    expect(Math.max(...gaps), `gaps between checks across the step: ${gaps.join(', ')} ms`).toBeLessThan(
      2 * INTERVAL_MS + 1_000,
    );
    // The daemon's clock really was stepped: its log lines from then on are an hour behind.
    const stepped = p.lines.filter((l) => l.msg === 'checked' && loggedAt(l) < stepAt - STEP_MS / 2);
    expect(stepped.length).toBeGreaterThan(0);

    // A drop after the step is detected: the confirmation re-check is paced on the monotonic
    // clock too, and the DOWN is decided.
    const from = p.lines.length;
    sim.setStatus(TARGET, 'disconnected');
    const down = await p.waitFor(
      (l) => l.msg === 'device.down' && l['device'] === TARGET && l['component'] === 'poller',
      'device.down after the step',
      (2 + 5) * INTERVAL_MS,
      from,
    );
    expect(down['status']).toBe('disconnected');
    expect(loggedAt(down)).toBeLessThan(Date.now() - STEP_MS / 2);

    p.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  }, 60_000);
});
