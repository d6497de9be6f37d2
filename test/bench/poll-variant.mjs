// One variant of the poll benchmark, in a process of its own (so its RSS and CPU are its own),
// against the stand-in of poll-stand-in.mjs. Prints one JSON line with its figures. Started by
// poll-bench.mjs; not meant to be run by hand, but it can be:
//
//   node test/bench/poll-variant.mjs '{"variant":"daemon","port":18000,"devices":10000,...}'
//
// Variants:
//   flat-bare    a bare undici keep-alive loop, 64 requests in flight, flat out (the floor per request)
//   paced-bare   bare undici, one pool per account, each account's devices requested one by one on
//                a timer of its own at the configured pace (the floor of a paced poller)
//   daemon       the real daemon (Daemon.start: pollers, schedulers, metered gateways, call log,
//                cycle writer, SQLite store, metrics, cron ticker, HTTP server), paced as configured
//   pipeline-flat  the old bench:poll pipeline: the poll path driven flat out (interval 1 s, the budget
//                raised out of the way), ticks back to back
//
// CPU is process.cpuUsage(): every thread of the process, so GC helper threads and libuv's pool
// are included. Figures are over a measurement window that starts after a warm-up.

import console from 'node:console';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { PerformanceObserver, constants, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL } from 'node:url';
import { Pool, request } from 'undici';

const opts = JSON.parse(process.argv[2]);
const { variant, port } = opts;
const FIRST = 100_000_000;
// The build under test: this checkout's, or another (BENCH_COMPARE_DIST: a build from before a change).
const dist = opts.dist ?? new URL('../../dist/', import.meta.url).href;
const load = (path) => import(new URL(path, dist.endsWith('/') ? dist : `${dist}/`).href);
const origin = `http://127.0.0.1:${port}`;

async function standIn(path, method = 'GET') {
  const res = await request(`${origin}${path}`, { method });
  return res.body.json();
}

function cpuMicros(start) {
  const d = process.cpuUsage(start);
  return d.user + d.system;
}

/** Samples RSS every second while measuring; the peak since start comes from the OS. */
function rssSampler() {
  const samples = [];
  const timer = setInterval(() => samples.push(process.memoryUsage.rss()), 1000);
  return {
    stop() {
      clearInterval(timer);
      samples.push(process.memoryUsage.rss());
      samples.sort((a, b) => a - b);
      return {
        rssMedianMB: Math.round(samples[Math.floor(samples.length / 2)] / 1e6),
        rssMaxMB: Math.round(samples[samples.length - 1] / 1e6),
      };
    },
  };
}

/** Runs `during` for `seconds`, measuring CPU, event-loop delay, RSS and the stand-in's counts. */
/** BENCH_ALLOC_PROFILE: every allocation of the window, sampled (collected ones included). */
async function allocationProfile(during) {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    // BENCH_ALLOC_PROMOTED: only what survived the young generation (promoted to old space).
    includeObjectsCollectedByMinorGC: opts.allocPromotedOnly !== true,
  });
  await during();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(opts.allocProfile, JSON.stringify(profile));
  session.disconnect();
}

async function measure(seconds, intervalMs, during = () => sleep(seconds * 1000)) {
  if (opts.allocProfile !== undefined) {
    const inner = during;
    during = () => allocationProfile(inner);
  }
  await standIn('/_bench/reset', 'POST');
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  // Garbage collections during the window: how many of each kind, and their pause time in all.
  const gcs = { minor: 0, major: 0, minorMs: 0, majorMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const major = e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
      gcs[major ? 'major' : 'minor']++;
      gcs[major ? 'majorMs' : 'minorMs'] += e.duration;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const rss = rssSampler();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await during();
  const wallMs = performance.now() - t0;
  const cpuUs = cpuMicros(cpu);
  eld.disable();
  gcObserver.disconnect();
  const mem = rss.stop();
  const s = await standIn(`/_bench/stats?interval=${intervalMs}`);
  return {
    calls: s.calls,
    statusCalls: s.statusCalls,
    balanceCalls: s.balanceCalls,
    perSecond: s.calls / (wallMs / 1000),
    cpuMicrosPerCall: s.calls === 0 ? null : cpuUs / s.calls,
    coreShare: cpuUs / 1000 / wallMs,
    lagP99Ms: eld.percentile(99) / 1e6,
    lagMaxMs: eld.max / 1e6,
    ...mem,
    heapUsedMB: Math.round(process.memoryUsage().heapUsed / 1e6),
    gaps: s.gaps,
    devicesSeen: s.devicesSeen,
    gc: { ...gcs, minorMs: Math.round(gcs.minorMs), majorMs: Math.round(gcs.majorMs) },
  };
}

/** After the window: the live heap (after a full GC, when --expose-gc), and what each space holds. */
function heapAfter() {
  globalThis.gc?.();
  const spaces = {};
  for (const sp of getHeapSpaceStatistics()) {
    spaces[sp.space_name.replace('_space', '')] = Math.round(sp.space_used_size / 1e6);
  }
  const m = process.memoryUsage();
  if (opts.heapSnapshot !== undefined) writeHeapSnapshot(opts.heapSnapshot);
  if (opts.smaps) {
    // Where the RSS is: anonymous memory (V8's heap, malloc) vs files (node, libraries, the db).
    const by = {};
    let current = 'other';
    for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) current = head[1] === '' ? '[anon]' : head[1].replace(/^.*\//, '');
      else if (line.startsWith('Rss:')) by[current] = (by[current] ?? 0) + Number(line.split(/\s+/)[1]);
    }
    process.stderr.write(
      `smaps RSS kB: ${JSON.stringify(
        Object.entries(by)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 12),
      )}\n`,
    );
  }
  return {
    liveHeapMB: Math.round(m.heapUsed / 1e6),
    heapTotalMB: Math.round(m.heapTotal / 1e6),
    externalMB: Math.round(m.external / 1e6),
    arrayBuffersMB: Math.round(m.arrayBuffers / 1e6),
    rssAfterGcMB: Math.round(m.rss / 1e6),
    spaces,
  };
}

/** A port free right now, for the daemon's HTTP server. */
async function freePort() {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: free } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return free;
}

/** BENCH_RSS_TIMELINE: memory every 2 s of the warm-up, on stderr (where start-up peaks come from). */
function rssTimeline(t0) {
  const mb = (bytes) => Math.round(bytes / 1e6);
  return setInterval(() => {
    const m = process.memoryUsage();
    process.stderr.write(
      `${((performance.now() - t0) / 1000).toFixed(0)} s: RSS ${mb(m.rss)} MB, heap ${mb(m.heapUsed)} of ${mb(m.heapTotal)} MB, external ${mb(m.external)} MB\n`,
    );
  }, 2000);
}

function peakRssMB() {
  return Math.round(process.resourceUsage().maxRSS / 1000);
}

// --- bare undici ---------------------------------------------------------------------------

const HEADERS = { 'access-token': 'bench-token', accept: 'application/json', 'user-agent': 'bench/1' };

async function flatBare() {
  const pool = new Pool(origin, { connections: 64 });
  let n = 0;
  let until = 0;
  const worker = async () => {
    while (performance.now() < until) {
      const device = FIRST + (n++ % opts.devices);
      const res = await pool.request({ path: `/api/status/${device}`, method: 'GET', headers: HEADERS });
      JSON.parse(await res.body.text());
    }
  };
  // Warm-up: connections open, JIT warm.
  until = performance.now() + 2000;
  await Promise.all(Array.from({ length: 64 }, worker));
  const result = await measure(opts.seconds, 1, async () => {
    until = performance.now() + opts.seconds * 1000;
    await Promise.all(Array.from({ length: 64 }, worker));
  });
  await pool.close();
  return result;
}

async function pacedBare() {
  const perAccount = Math.ceil(opts.devices / opts.accounts);
  const everyMs = opts.intervalMs / perAccount;
  const pools = [];
  const timers = new Set();
  let stopped = false;
  for (let a = 0; a < opts.accounts; a++) {
    const pool = new Pool(origin, { connections: opts.concurrency });
    pools.push(pool);
    const first = a * perAccount;
    let i = 0;
    const one = async () => {
      const device = FIRST + first + (i++ % perAccount);
      try {
        const res = await pool.request({ path: `/api/status/${device}`, method: 'GET', headers: HEADERS });
        JSON.parse(await res.body.text());
      } catch {
        // counted by the stand-in or not at all
      }
    };
    // Each account on its own timer, phases spread like the daemon's start-up spreading.
    const start = performance.now() + (a / opts.accounts) * everyMs;
    let k = 0;
    const arm = () => {
      if (stopped) return;
      const at = start + k++ * everyMs;
      const t = setTimeout(
        () => {
          timers.delete(t);
          arm();
          void one();
        },
        Math.max(0, at - performance.now()),
      );
      timers.add(t);
    };
    arm();
  }
  await sleep(opts.warmupSeconds * 1000);
  const result = await measure(opts.seconds, opts.intervalMs);
  stopped = true;
  for (const t of timers) clearTimeout(t);
  await Promise.all(pools.map((p) => p.close()));
  return result;
}

// --- the daemon ----------------------------------------------------------------------------

function daemonYaml(dir, listenPort, { schedule, interval, rateLimit, timeout }) {
  const perAccount = Math.ceil(opts.devices / opts.accounts);
  const lines = [
    `state_dir: ${dir}`,
    `listen: 127.0.0.1:${listenPort}`,
    'log_level: info',
    ...(schedule === undefined ? [] : [`schedule: "${schedule}"`]),
    `defaults: { interval: ${interval}, timeout: ${timeout} }`,
    'accounts:',
  ];
  for (let a = 0; a < opts.accounts; a++) {
    lines.push(
      `  - name: acct${a}`,
      `    base_url: ${origin}/api`,
      '    token: bench-token',
      `    concurrency: ${opts.concurrency}`,
      `    rate_limit: ${rateLimit}/min`,
      '    devices:',
    );
    for (let d = a * perAccount; d < Math.min(opts.devices, (a + 1) * perAccount); d++) {
      lines.push(`      - { number: "${FIRST + d}" }`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Skipped ticks and the /metrics time, scraped from another process (scrape.mjs). */
async function skippedTicks(url) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [fileURLToPath(new URL('./scrape.mjs', import.meta.url)), url],
    {
      maxBuffer: 1024 * 1024,
    },
  );
  return JSON.parse(stdout);
}

async function daemon() {
  const { loadConfig, parseConfig } = await load('config/load.js');
  const { Daemon } = await load('daemon.js');
  const { createLogger } = await load('log.js');
  const { systemClock } = await load('poll/system-clock.js');
  const dir = mkdtempSync(join(tmpdir(), 'wgm-bench-'));
  const listenPort = await freePort();
  const cpuStart = process.cpuUsage();
  const t0 = performance.now();
  // From a file, as `run` loads it (the daemon's start-up memory includes what loading leaves).
  const configFile = join(dir, 'config.yaml');
  const yaml = daemonYaml(dir, listenPort, {
    interval: `${opts.intervalMs / 1000}s`,
    rateLimit: opts.rateLimit,
    timeout: '10s',
  });
  writeFileSync(configFile, yaml);
  // A build from before session 5 refuses a config file over 1 MiB (> ~30,000 devices): it gets
  // the text parsed in-process, as the bench used to.
  const config = await loadConfig(configFile, {}).catch((err) => {
    if (!/larger than/.test(err.message)) throw err;
    process.stderr.write(`${opts.variant}: the config file is refused (${err.message}); parsed in-process\n`);
    return parseConfig(yaml, { env: {} });
  });
  const configMs = performance.now() - t0;
  const peakAfterConfigMB = peakRssMB();
  const log = createLogger('info', new Writable({ write: (_c, _e, cb) => cb() }));
  const d = await Daemon.start({ config, log, clock: systemClock });
  const startMs = performance.now() - t0;
  const peakAfterStartMB = peakRssMB();
  const startCpuMs = cpuMicros(cpuStart) / 1000;
  const timeline = opts.rssTimeline ? rssTimeline(t0) : null;
  await sleep(opts.warmupSeconds * 1000);
  if (timeline !== null) clearInterval(timeline);
  const peakAfterWarmupMB = peakRssMB();
  const result = await measure(opts.seconds, opts.intervalMs);
  // The scrape before heapAfter's full GC: a collection of the whole heap just before it would
  // leave the scrape a backlog of polling to share the loop with.
  const scrape = await skippedTicks(d.url);
  // Prometheus scrapes again and again: the second scrape reuses the device snapshot and the label
  // caches that the first one filled.
  const again = await skippedTicks(d.url);
  const peak = peakRssMB();
  const heap = heapAfter();
  await d.stop();
  rmSync(dir, { recursive: true, force: true });
  return {
    ...result,
    peakRssMB: peak,
    peakAfter: { config: peakAfterConfigMB, start: peakAfterStartMB, warmup: peakAfterWarmupMB },
    configMs,
    startMs,
    startCpuMs,
    ...scrape,
    metricsAgainMs: again.metricsMs,
    ...heap,
  };
}

async function pipelineFlat() {
  const { parseConfig } = await load('config/load.js');
  const { createLogger } = await load('log.js');
  const { systemClock } = await load('poll/system-clock.js');
  const { Mutes } = await load('monitor/mutes.js');
  const { AccountPoller } = await load('poll/account-poller.js');
  const { gatewayClientFor } = await load('gateway/for-account.js');
  const { CycleWriter } = await load('poll/cycle-writer.js');
  const { PollLoop } = await load('poll/poll-loop.js');
  const { openSqliteStore } = await load('store/sqlite-store.js');
  const dir = mkdtempSync(join(tmpdir(), 'wgm-bench-'));
  const config = parseConfig(daemonYaml(dir, port + 1, { interval: '1s', rateLimit: 6000, timeout: '5s' }), {
    env: {},
  });
  const store = openSqliteStore(join(dir, 'monitor.db'));
  const log = createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() }));
  const writer = new CycleWriter({ store, log, publish: async () => undefined });
  const deps = {
    store,
    clock: systemClock,
    log,
    mutes: new Mutes(),
    commit: (batch) => writer.add(batch),
    recordCheck: () => undefined,
  };
  const pollers = config.accounts.map((a) => new AccountPoller(a, gatewayClientFor(a), deps));
  await Promise.all(pollers.map((p) => p.load()));
  const loop = new PollLoop({ clock: systemClock });
  for (const p of pollers) loop.add(p);
  let running = true;
  const ticking = (async () => {
    while (running) {
      await loop.tick(Date.now() + 1000);
      await writer.flush();
    }
  })();
  await sleep(opts.warmupSeconds * 1000);
  const result = await measure(opts.seconds, 1000);
  running = false;
  await ticking;
  await loop.stop();
  await Promise.all(pollers.map((p) => p.close()));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return result;
}

const run = { 'flat-bare': flatBare, 'paced-bare': pacedBare, daemon, 'pipeline-flat': pipelineFlat }[
  variant
];
if (run === undefined) throw new Error(`unknown variant ${variant}`);
await standIn('/_bench/reset?forget', 'POST');
const result = await run();
console.log(JSON.stringify({ variant, ...result, peakRssMB: result.peakRssMB ?? peakRssMB() }));
process.exit(0);
