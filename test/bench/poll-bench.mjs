// Poll pipeline benchmark (not a test): 10,000 devices over 500 accounts, checked by the real
// pipeline (gateway client → state machine → SQLite → alert sink, driven by PollLoop), beside a
// bare undici request loop against the same simulator in the same run. The simulator runs in a
// child process, so the CPU figures are the monitor's alone.
//
//   npm run bench:poll            (builds first; BENCH_DEVICES / BENCH_ACCOUNTS / BENCH_SECONDS override)

import { spawn } from 'node:child_process';
import console from 'node:console';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Pool } from 'undici';
import { parseConfig } from '../../dist/config/load.js';
import { createGatewayClient } from '../../dist/gateway/client.js';
import { createLogger } from '../../dist/log.js';
import { systemClock } from '../../dist/poll/system-clock.js';
import { MaintenanceCalendar } from '../../dist/poll/maintenance.js';
import { Mutes } from '../../dist/monitor/mutes.js';
import { AccountPoller } from '../../dist/poll/account-poller.js';
import { PollLoop } from '../../dist/poll/poll-loop.js';
import { openSqliteStore } from '../../dist/store/sqlite-store.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONCURRENCY = 4;
const FIRST = 100_000_000;
const PORT = 18_000 + Math.floor(Math.random() * 1000);
const cli = new URL('../../dist/cli.js', import.meta.url).pathname;

async function startSim() {
  const child = spawn(
    process.execPath,
    [cli, 'simulate', '--port', String(PORT), '--devices', String(DEVICES), '--rate-limit', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((resolve, reject) => {
    child.stdout.on('data', resolve);
    child.on('exit', (code) => reject(new Error(`simulator exited ${code}`)));
  });
  return child;
}

function cpuMicros(start) {
  const d = process.cpuUsage(start);
  return d.user + d.system;
}

async function bareLoop(seconds) {
  const pool = new Pool(`http://127.0.0.1:${PORT}`, { connections: 64 });
  const until = performance.now() + seconds * 1000;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  const worker = async () => {
    while (performance.now() < until) {
      const device = FIRST + (n % DEVICES);
      n++;
      const res = await pool.request({
        path: `/api/status/${device}`,
        method: 'GET',
        headers: { 'access-token': 'sim-token' },
      });
      await res.body.json();
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  const wall = (performance.now() - t0) / 1000;
  const result = { checks: n, perSecond: n / wall, cpuMicrosPerCheck: cpuMicros(cpu) / n };
  await pool.close();
  return result;
}

async function pipeline(seconds) {
  const perAccount = Math.ceil(DEVICES / ACCOUNTS);
  let yaml = `state_dir: /tmp\nschedule: "* * * * * *"\ndefaults: { interval: 1s, timeout: 5s }\naccounts:\n`;
  for (let a = 0; a < ACCOUNTS; a++) {
    yaml += `  - name: acct${a}\n    base_url: http://127.0.0.1:${PORT}/api\n    token: sim-token\n    concurrency: ${CONCURRENCY}\n    rate_limit: 6000/min\n    devices:\n`;
    for (let d = a * perAccount; d < Math.min(DEVICES, (a + 1) * perAccount); d++) {
      yaml += `      - { number: "${FIRST + d}" }\n`;
    }
  }
  const config = parseConfig(yaml, { env: {} });
  const dir = mkdtempSync(join(tmpdir(), 'wgm-bench-'));
  const store = openSqliteStore(join(dir, 'monitor.db'));
  const log = createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() }));
  const calendar = new MaintenanceCalendar([], 'UTC');
  const mutes = new Mutes();
  let alerts = 0;
  const pending = [];
  const flush = async () => {
    const batch = pending.splice(0);
    alerts += batch.reduce((n, c) => n + c.alerts.length, 0);
    await store.transaction(async (tx) => {
      await tx.saveDevices(batch.flatMap((c) => c.saves));
      for (const c of batch) if (c.account !== null) await tx.saveAccount(c.account);
    });
  };
  const deps = {
    store,
    clock: systemClock,
    log,
    mutes,
    // As the daemon does: the cycles of a tick are written in one transaction after the tick.
    commit: (batch) => pending.push(batch),
    recordCheck: () => undefined,
  };
  const pollers = config.accounts.map(
    (account) =>
      new AccountPoller(
        account,
        createGatewayClient({
          baseUrl: account.baseUrl,
          token: account.token,
          timeoutMs: 5000,
          connections: CONCURRENCY,
        }),
        deps,
      ),
  );
  // As the daemon does: each poller reads its stored state before it polls.
  await Promise.all(pollers.map((p) => p.load()));
  let checks = 0;
  const loop = new PollLoop({
    clock: systemClock,
    onCycle: (report) => {
      checks += report.checks;
    },
  });
  for (const p of pollers) loop.add(p);

  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  let ticks = 0;
  while (performance.now() < until) {
    const now = Date.now();
    calendar.advance(now);
    mutes.refresh(await store.activeSilences(now), calendar.openWindows(now), now);
    await loop.tick(Date.now() + 1000);
    await flush();
    ticks++;
  }
  const wall = (performance.now() - t0) / 1000;
  const result = {
    checks,
    perSecond: checks / wall,
    cpuMicrosPerCheck: cpuMicros(cpu) / checks,
    ticks,
    alerts,
  };
  await loop.stop();
  await Promise.all(pollers.map((p) => p.close()));
  await store.close();
  calendar.close();
  rmSync(dir, { recursive: true, force: true });
  return result;
}

const sim = await startSim();
try {
  console.log(
    `poll bench: ${DEVICES} devices, ${ACCOUNTS} accounts, ${SECONDS}s per variant, simulator in a child process`,
  );
  const bare = await bareLoop(SECONDS);
  const ours = await pipeline(SECONDS);
  const row = (name, r) =>
    `${name.padEnd(34)} ${String(r.checks).padStart(8)} ${r.perSecond.toFixed(0).padStart(10)} ${r.cpuMicrosPerCheck.toFixed(0).padStart(14)}`;
  console.log(
    `${'variant'.padEnd(34)} ${'checks'.padStart(8)} ${'checks/s'.padStart(10)} ${'CPU µs/check'.padStart(14)}`,
  );
  console.log(row('bare undici loop (64 in flight)', bare));
  console.log(row('monitor pipeline (store+machine)', ours));
  console.log(
    `pipeline overhead per check: ${(ours.cpuMicrosPerCheck - bare.cpuMicrosPerCheck).toFixed(0)} µs CPU; RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`,
  );
} finally {
  sim.kill('SIGTERM');
}
