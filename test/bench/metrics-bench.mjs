// Render time and memory of /metrics at 1,000 and 10,000 devices: our exporter (device block
// written as text) against plain prom-client gauges holding the same series.
// Runs on the build output:  npm run build && node test/bench/metrics-bench.mjs
// Each (variant, size) runs in a child process of its own so its RSS is its own.
// Node's globals are imported so that linting this plain JS file needs no environment settings.
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import console from 'node:console';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const SIZES = [1_000, 10_000];
const RUNS = 15;
// ours: Metrics.withExposition (what /metrics should use); ours-string: Metrics.render();
// plain: the same device series as prom-client gauges, registry.metrics().
const VARIANTS = ['ours', 'ours-string', 'plain'];
const WARMUP = 3;
const STATUSES = ['connected', 'disconnected', 'not_connected', 'not_initialized', 'unknown'];
const NOW = Date.UTC(2024, 10, 24, 12, 0, 0);

/** What the daemon holds in memory per device; the view objects are built per scrape from it. */
function makeState(n) {
  const devices = [];
  for (let i = 0; i < n; i += 1) {
    devices.push({
      account: `account-${i % 10}`,
      number: String(100_000_000 + i),
      name: `Device ${i} "front desk"`,
      labels: { team: `team-${i % 7}`, site: `site-${i % 13}` },
      status: i % 50 === 0 ? null : STATUSES[i % 5],
      health: i % 9 === 0 ? 'DOWN' : 'UP',
      probeOk: i % 50 === 0 ? null : i % 11 !== 0,
      lastCheckAt: i % 50 === 0 ? null : NOW - (i % 60) * 1000,
      since: i % 50 === 0 ? null : NOW - i * 3_600,
      transitions: i % 17,
      silencedUntil: i % 23 === 0 ? NOW + 3_600_000 : null,
    });
  }
  return devices;
}

function makeSource(state) {
  const accounts = [...new Set(state.map((d) => d.account))];
  return {
    *devices() {
      for (const d of state) {
        yield {
          account: d.account,
          device: d.number,
          name: d.name,
          labels: d.labels,
          status: d.status,
          up: d.health === 'UP',
          probeSuccess: d.probeOk,
          lastCheckAt: d.lastCheckAt,
          statusSince: d.since,
          transitions: d.transitions,
          silenced: d.silencedUntil !== null && d.silencedUntil > NOW,
        };
      }
    },
    accounts: () =>
      accounts.map((account) => ({
        account,
        reachable: true,
        intervalMs: 60_000,
        effectiveIntervalMs: 60_000,
        lastCycleDurationMs: 5_000,
      })),
    notificationsPending: () => [{ channel: 'ops', pending: 0 }],
    store: () => ({ writable: true }),
  };
}

/** The same device series as prom-client gauges/counters, set once as a daemon would keep them. */
async function makePlain(state) {
  const { Counter, Gauge, Registry, collectDefaultMetrics } = await import('prom-client');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const id = ['account', 'device'];
  const info = new Gauge({
    name: 'whatsgate_device_info',
    help: 'info',
    labelNames: [...id, 'name', 'team', 'site'],
    registers,
  });
  const status = new Gauge({
    name: 'whatsgate_device_status',
    help: 'status',
    labelNames: [...id, 'status'],
    registers,
  });
  const gauge = (name) => new Gauge({ name, help: name, labelNames: id, registers });
  const up = gauge('whatsgate_device_up');
  const probe = gauge('whatsgate_device_probe_success');
  const last = gauge('whatsgate_device_last_check_timestamp_seconds');
  const since = gauge('whatsgate_device_status_since_timestamp_seconds');
  const silenced = gauge('whatsgate_device_silenced');
  const transitions = new Counter({
    name: 'whatsgate_device_transitions_total',
    help: 'transitions',
    labelNames: id,
    registers,
  });
  for (const d of state) {
    const l = { account: d.account, device: d.number };
    info.set({ ...l, name: d.name, ...d.labels }, 1);
    for (const s of STATUSES) status.set({ ...l, status: s }, d.status === s ? 1 : 0);
    up.set(l, d.health === 'UP' ? 1 : 0);
    if (d.probeOk !== null) probe.set(l, d.probeOk ? 1 : 0);
    if (d.lastCheckAt !== null) last.set(l, d.lastCheckAt / 1000);
    if (d.since !== null) since.set(l, d.since / 1000);
    transitions.inc(l, d.transitions);
    silenced.set(l, d.silencedUntil !== null && d.silencedUntil > NOW ? 1 : 0);
  }
  return { render: () => registry.metrics(), inspect: async () => Buffer.from(await registry.metrics()) };
}

async function makeOurs(state, variant) {
  const { Metrics } = await import('../../dist/metrics/index.js');
  const metrics = new Metrics({ source: makeSource(state), version: 'bench', channels: ['ops'] });
  if (variant === 'ours-string') {
    return { render: () => metrics.render(), inspect: async () => Buffer.from(await metrics.render()) };
  }
  // What /metrics does: borrow the bytes, hand them to the socket (here: nothing), give back.
  return {
    render: () => metrics.withExposition((bytes) => bytes.length),
    inspect: () => metrics.withExposition((bytes) => Buffer.from(bytes)),
  };
}

/** Sample lines (not comments, not blank) of UTF-8 text, counted without making strings. */
function countSamples(bytes) {
  let count = 0;
  let lineStart = true;
  for (let i = 0; i < bytes.length; i += 1) {
    const c = bytes[i];
    if (lineStart && c !== 0x23 && c !== 0x0a) count += 1;
    lineStart = c === 0x0a;
  }
  return count;
}

async function child(variant, n) {
  const state = makeState(n);
  const exporter = variant === 'plain' ? await makePlain(state) : await makeOurs(state, variant);
  const sample = await exporter.inspect();
  const bytes = sample.length;
  const lines = countSamples(sample);
  for (let i = 0; i < WARMUP; i += 1) await exporter.render();
  const times = [];
  for (let i = 0; i < RUNS; i += 1) {
    const t0 = process.hrtime.bigint();
    await exporter.render();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const result = {
    variant,
    n,
    medianMs: times[Math.floor(times.length / 2)],
    minMs: times[0],
    maxMs: times[times.length - 1],
    samples: lines,
    bytes,
    rssMB: process.memoryUsage().rss / 2 ** 20,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function parent() {
  const self = fileURLToPath(import.meta.url);
  const results = [];
  for (const n of SIZES) {
    for (const variant of VARIANTS) {
      const out = execFileSync(process.execPath, [self, '--child', variant, String(n)], {
        encoding: 'utf8',
      });
      results.push(JSON.parse(out));
    }
  }
  const fmt = (x, d = 1) => x.toFixed(d).padStart(8);
  console.log(`node ${process.version}, ${RUNS} renders after ${WARMUP} warm-up, each in its own process`);
  console.log('variant      devices  samples   MiB out  median ms   min ms   max ms  RSS MiB  maxRSS MiB');
  for (const r of results) {
    console.log(
      `${r.variant.padEnd(11)} ${String(r.n).padStart(8)} ${String(r.samples).padStart(8)} ${fmt(r.bytes / 2 ** 20, 2)}` +
        `  ${fmt(r.medianMs)} ${fmt(r.minMs)} ${fmt(r.maxMs)} ${fmt(r.rssMB)}  ${fmt(r.maxRssMB)}`,
    );
  }
  for (const n of SIZES) {
    const plain = results.find((r) => r.variant === 'plain' && r.n === n);
    for (const variant of VARIANTS.filter((v) => v !== 'plain')) {
      const ours = results.find((r) => r.variant === variant && r.n === n);
      console.log(
        `speed-up of ${variant} over plain at ${n} devices: ${(plain.medianMs / ours.medianMs).toFixed(1)}x`,
      );
    }
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') await child(args[1], Number(args[2]));
else parent();
