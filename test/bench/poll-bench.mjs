// Poll path benchmark (not a test; issue 17). Every figure is printed beside its baselines from
// the same run, because the machine's load moves them all.
//
//   npm run bench:poll         10,000 devices over 500 accounts (a few minutes):
//     flat-bare      a bare undici keep-alive loop, 64 in flight, flat out: the floor per request
//     paced-bare     bare undici, a pool per account, each account's requests on a timer of its own
//                    at the configured pace (interval 60 s): the floor of a paced poller
//     daemon         the real daemon (Daemon.start) paced as configured: interval 60 s, rate_limit
//                    30/min, concurrency 4, the default 10 s schedule; SQLite store, metrics, cron
//     pipeline-flat  the poll path driven flat out (interval 1 s, budget out of the way): the old
//                    bench:poll figure, kept for comparison
//   npm run bench:poll:100k    100,000 devices over 500 accounts, interval 60 s (rate_limit 300/min,
//                    the least that fits 200 devices a minute), flat-bare and paced-bare beside it
//
// The stand-in (poll-stand-in.mjs) and each variant run in processes of their own: CPU and RSS
// are the variant's alone. CPU is process.cpuUsage() of the variant's process: all its threads,
// GC helpers included. "late" is each status call's arrival minus (the device's previous arrival
// + interval), at the stand-in: how late a check came against its due time.
//
// Overrides: BENCH_DEVICES, BENCH_ACCOUNTS, BENCH_WINDOW (s), BENCH_WARMUP (s, paced variants),
// BENCH_VARIANTS (comma-separated), BENCH_RATE (rate_limit of the daemon), BENCH_NODE_FLAGS (node
// or V8 flags for the variants), BENCH_UNIT_ENV=0 (the daemon variants without the environment
// of the shipped systemd unit, see unitEnvironment), BENCH_RSS_TIMELINE=1 (the daemon's memory
// every 2 s of warm-up).
// BENCH_COMPARE_DIST=DIR adds `daemon@before`: the same daemon variant on another build (e.g. one
// from before a change, with node_modules reachable from it), in the same run.

import { spawn } from 'node:child_process';
import console from 'node:console';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import process from 'node:process';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';

const big = process.argv.includes('--100k');
const DEVICES = Number(process.env.BENCH_DEVICES ?? (big ? 100_000 : 10_000));
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 500);
const INTERVAL_MS = 60_000;
const WINDOW = Number(process.env.BENCH_WINDOW ?? 120);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 70);
const RATE = Number(process.env.BENCH_RATE ?? (big ? 300 : 30));
const COMPARE = process.env.BENCH_COMPARE_DIST;
const VARIANTS = (
  process.env.BENCH_VARIANTS ??
  (big ? 'flat-bare,paced-bare,daemon' : 'flat-bare,paced-bare,daemon,pipeline-flat') +
    (COMPARE === undefined ? '' : ',daemon@before')
).split(',');
const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const here = (name) => fileURLToPath(new URL(name, import.meta.url));

/**
 * The environment the shipped systemd unit (and the image) gives the daemon: its `Environment=`
 * lines, NODE_ENV and the config path aside. The daemon variants run with it, as operators do;
 * BENCH_UNIT_ENV=0 runs them with none (node's and glibc's defaults).
 */
function unitEnvironment() {
  if (process.env.BENCH_UNIT_ENV === '0') return {};
  const unit = readFileSync(here('../../config/systemd/whatsgate-monitor.service'), 'utf8');
  const env = {};
  for (const [, key, value] of unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)) {
    if (key !== 'NODE_ENV' && key !== 'WHATSGATE_MONITOR_CONFIG') env[key] = value;
  }
  return env;
}
const UNIT_ENV = unitEnvironment();

function startStandIn() {
  const child = spawn(process.execPath, [here('./poll-stand-in.mjs'), String(PORT)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve(child));
    child.on('exit', (code) => reject(new Error(`stand-in exited ${code}`)));
  });
}

function runVariant(name) {
  const [variant, build] = name.split('@');
  const options = {
    variant,
    ...(build === 'before' ? { dist: pathToFileURL(`${COMPARE}/`).href } : {}),
    port: PORT,
    devices: DEVICES,
    accounts: ACCOUNTS,
    concurrency: 4,
    intervalMs: INTERVAL_MS,
    rateLimit: RATE,
    smaps: process.env.BENCH_SMAPS === '1',
    rssTimeline: process.env.BENCH_RSS_TIMELINE === '1',
    ...(process.env.BENCH_ALLOC_PROFILE === undefined
      ? {}
      : {
          allocProfile: `${process.env.BENCH_ALLOC_PROFILE}/${name}.heapprofile`,
          allocPromotedOnly: process.env.BENCH_ALLOC_PROMOTED === '1',
        }),
    ...(process.env.BENCH_HEAP_SNAPSHOT === undefined
      ? {}
      : { heapSnapshot: `${process.env.BENCH_HEAP_SNAPSHOT}/${name}.heapsnapshot` }),
    seconds: variant === 'flat-bare' || variant === 'pipeline-flat' ? 15 : WINDOW,
    warmupSeconds: variant === 'daemon' ? WARMUP : variant === 'pipeline-flat' ? 5 : 10,
  };
  const load = loadavg()[0];
  return new Promise((resolve, reject) => {
    // BENCH_PROFILE=DIR: a V8 CPU profile of each variant's process (it costs CPU: figures rise).
    const profile = process.env.BENCH_PROFILE;
    const flags = [
      ...(profile === undefined
        ? []
        : ['--cpu-prof', '--cpu-prof-dir', profile, '--cpu-prof-name', `${name}.cpuprofile`]),
      // BENCH_NODE_FLAGS: node or V8 flags for the variants (GC tuning, say), space-separated.
      ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''),
    ];
    // --expose-gc only lets the variant read its live heap after the window (one gc() then).
    const child = spawn(
      process.execPath,
      ['--expose-gc', ...flags, here('./poll-variant.mjs'), JSON.stringify(options)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: variant === 'daemon' ? { ...process.env, ...UNIT_ENV } : process.env,
      },
    );
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1);
      if (code !== 0 || line === undefined) reject(new Error(`variant ${name} exited ${code}: ${out}`));
      else resolve({ ...JSON.parse(line), loadBefore: load, loadAfter: loadavg()[0] });
    });
  });
}

const fmt = (v, digits = 0) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits));

const standIn = await startStandIn();
const results = {};
try {
  console.log(
    `poll bench: ${DEVICES} devices, ${ACCOUNTS} accounts, interval ${INTERVAL_MS / 1000}s, daemon rate_limit ${RATE}/min; ` +
      `window ${WINDOW}s after ${WARMUP}s warm-up (daemon); stand-in in a child process; CPU = all threads of the variant's process; ` +
      `daemon environment from the systemd unit: ${JSON.stringify(UNIT_ENV)}`,
  );
  for (const v of VARIANTS) {
    process.stderr.write(`running ${v}…\n`);
    try {
      results[v] = await runVariant(v);
    } catch (err) {
      // The others' figures still count: say which one failed, and go on.
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
} finally {
  standIn.kill('SIGTERM');
}

const flat = results['flat-bare']?.cpuMicrosPerCall;
const paced = results['paced-bare']?.cpuMicrosPerCall;
const header = [
  'variant'.padEnd(20),
  'calls'.padStart(8),
  'calls/s'.padStart(8),
  'CPU µs/call'.padStart(11),
  '×flat'.padStart(6),
  '×paced'.padStart(7),
  'core %'.padStart(7),
  'lag p99'.padStart(8),
  'RSS med'.padStart(8),
  'RSS peak'.padStart(9),
  'late p50/p99/max ms'.padStart(20),
  '>+5%'.padStart(5),
  'load'.padStart(10),
];
console.log(header.join(' '));
for (const [name, r] of Object.entries(results)) {
  const flatOut = name.startsWith('flat-bare') || name.startsWith('pipeline-flat');
  const late = flatOut ? '–' : `${fmt(r.gaps.lateP50Ms)}/${fmt(r.gaps.lateP99Ms)}/${fmt(r.gaps.lateMaxMs)}`;
  console.log(
    [
      name.padEnd(20),
      String(r.calls).padStart(8),
      fmt(r.perSecond).padStart(8),
      fmt(r.cpuMicrosPerCall).padStart(11),
      (flat ? fmt(r.cpuMicrosPerCall / flat, 2) : '–').padStart(6),
      (paced ? fmt(r.cpuMicrosPerCall / paced, 2) : '–').padStart(7),
      fmt(r.coreShare * 100, 1).padStart(7),
      `${fmt(r.lagP99Ms, 1)}ms`.padStart(8),
      `${r.rssMedianMB}MB`.padStart(8),
      `${r.peakRssMB}MB`.padStart(9),
      late.padStart(20),
      (flatOut ? '–' : String(r.gaps.over5pct)).padStart(5),
      `${fmt(r.loadBefore, 1)}→${fmt(r.loadAfter, 1)}`.padStart(10),
    ].join(' '),
  );
}
for (const [name, d] of Object.entries(results)) {
  if (!name.startsWith('daemon')) continue;
  console.log(
    `${name}: ${d.statusCalls} status + ${d.balanceCalls} balance calls; ${d.devicesSeen} devices seen; ` +
      `${d.gaps.n} re-checks, ${d.gaps.over5pct} later than interval + 5 %; skipped ticks ${d.skipped}; ` +
      `lag max ${fmt(d.lagMaxMs)} ms; GC in the window: ${d.gc.minor} minor (${d.gc.minorMs} ms), ${d.gc.major} major (${d.gc.majorMs} ms); heap ${d.heapUsedMB} MB; config ${fmt(d.configMs)} ms, start ${fmt(d.startMs)} ms ` +
      `(peak RSS ${d.peakAfter.config} MB after the config, ${d.peakAfter.start} MB after start, ${d.peakAfter.warmup} MB after warm-up) ` +
      `(${fmt(d.startCpuMs)} ms CPU); /metrics after the window ${fmt(d.metricsMs)} ms (again ${fmt(d.metricsAgainMs)} ms), ${fmt(d.metricsBytes / 1e6, 1)} MB; ` +
      `after the window and a full GC: live heap ${d.liveHeapMB} MB of ${d.heapTotalMB} MB, external ${d.externalMB} MB ` +
      `(array buffers ${d.arrayBuffersMB} MB), RSS ${d.rssAfterGcMB} MB; spaces ${JSON.stringify(d.spaces)}`,
  );
}
