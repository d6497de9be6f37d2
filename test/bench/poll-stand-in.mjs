// A minimal WhatsGate stand-in for the poll benchmarks (not the simulator: nothing but the two
// read endpoints, so its own cost stays small and it can keep a per-device record of arrivals).
// Runs in a child process of poll-bench.mjs, so its CPU is not the monitor's.
//
// It answers every `GET …/status/{device}` with `connected` and every `…/reports/balance/{device}`
// with a quiet reading, and remembers, per device, when its last status call arrived: the gap
// between two arrivals minus the configured interval is how late the check came against its due
// time (the scheduler dues a device one interval after its last check started). The control
// routes: `GET /_bench/stats?interval=MS` (counts since the last reset, gap statistics, devices
// seen) and `POST /_bench/reset` (counts and gaps; the per-device last arrival is kept, unless
// `?forget`).
//
//   node test/bench/poll-stand-in.mjs PORT   → prints "listening PORT" once it is

import { Buffer } from 'node:buffer';
import console from 'node:console';
import { createServer } from 'node:http';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';

const port = Number(process.argv[2] ?? 0);
const STATUS_BODY = JSON.stringify({ success: true, message: 'connected' });
const BALANCE_BODY = JSON.stringify({
  success: true,
  remaining: 1000,
  successful_count: 10,
  pending: 0,
  failed: 0,
});

let calls = 0;
let statusCalls = 0;
let balanceCalls = 0;
// Per device: monotonic ms of the last status call's arrival.
const last = new Map();
// Gaps (ms) between two status calls of a device since the last reset.
let gaps = new Float64Array(1 << 16);
let gapCount = 0;
let maxInFlight = 0;
let inFlight = 0;

function pushGap(gap) {
  if (gapCount === gaps.length) {
    const bigger = new Float64Array(gaps.length * 2);
    bigger.set(gaps);
    gaps = bigger;
  }
  gaps[gapCount++] = gap;
}

function send(res, code, body) {
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function stats(intervalMs) {
  const sorted = gaps.slice(0, gapCount).sort();
  let over5 = 0;
  let lateSum = 0;
  for (const g of sorted) {
    if (g > intervalMs * 1.05) over5++;
    lateSum += g - intervalMs;
  }
  const late = (q) => {
    const v = quantile(sorted, q);
    return v === null ? null : Math.round(v - intervalMs);
  };
  return {
    calls,
    statusCalls,
    balanceCalls,
    devicesSeen: last.size,
    maxInFlight,
    gaps: {
      n: gapCount,
      over5pct: over5,
      lateMeanMs: gapCount === 0 ? null : Math.round(lateSum / gapCount),
      lateP50Ms: late(0.5),
      lateP99Ms: late(0.99),
      lateMaxMs: late(1),
      earlyMinMs: late(0),
    },
  };
}

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (url.startsWith('/_bench/')) {
    if (req.method === 'POST' && url.startsWith('/_bench/reset')) {
      // `?forget`: a new variant starts, whose first call of a device is no re-check.
      if (url.endsWith('?forget')) last.clear();
      calls = statusCalls = balanceCalls = 0;
      gapCount = 0;
      maxInFlight = 0;
      send(res, 200, '{}');
      return;
    }
    const parsed = new URL(url, 'http://x');
    send(res, 200, JSON.stringify(stats(Number(parsed.searchParams.get('interval') ?? 60_000))));
    return;
  }
  calls++;
  inFlight++;
  if (inFlight > maxInFlight) maxInFlight = inFlight;
  res.on('finish', () => inFlight--);
  const slash = url.lastIndexOf('/');
  const device = url.slice(slash + 1);
  if (url.includes('/status/')) {
    statusCalls++;
    const now = performance.now();
    const before = last.get(device);
    if (before !== undefined) pushGap(now - before);
    last.set(device, now);
    send(res, 200, STATUS_BODY);
  } else if (url.includes('/reports/balance/')) {
    balanceCalls++;
    send(res, 200, BALANCE_BODY);
  } else {
    send(res, 404, JSON.stringify({ success: false, message: 'not here' }));
  }
});
// nginx's default keep-alive (a real gateway sits behind one); Node's 5 s would close idle sockets.
server.keepAliveTimeout = 75_000;
server.headersTimeout = 80_000;
server.maxRequestsPerSocket = 0;
server.listen(port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
