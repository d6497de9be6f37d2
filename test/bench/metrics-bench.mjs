// /metrics at 10,000 and 100,000 devices: time per scrape, the longest event-loop stall during
// one, bytes, and memory after the scrapes — ours (streamed in chunks) beside plain prom-client
// gauges holding the same series and, when BENCH_BEFORE points at a build of an older commit
// (a directory holding its dist/), that implementation, all in the same run.
//   npm run bench:metrics                      (builds first)
//   BENCH_BEFORE=/tmp/before node test/bench/metrics-bench.mjs --sizes 10000,100000
//   node test/bench/metrics-bench.mjs --variants ours,before   (without plain prom-client)
// Each (variant, size) runs in a child process of its own, so RSS is its own. Two phases:
// - render: the exporter writes into a sink that takes everything at once (CPU cost alone);
// - http: the variant's real HTTP path on loopback, this process as the scraper, reading as fast
//   as it can over a keep-alive connection (what Prometheus sees).
// Node's globals are imported so that linting this plain JS file needs no environment settings.
import { Buffer } from 'node:buffer';
import { fork } from 'node:child_process';
import console from 'node:console';
import { createHash } from 'node:crypto';
import { Agent, createServer, get } from 'node:http';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { clearInterval, setInterval } from 'node:timers';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';
import { makeSource, makeState, plainRegistry } from './metrics-fleet.mjs';

const OURS = fileURLToPath(new URL('../../', import.meta.url));
const BEFORE = process.env.BENCH_BEFORE ?? null;
const RUNS = { render: (n) => (n >= 100_000 ? 5 : 15), http: (n) => (n >= 100_000 ? 5 : 10) };
const WARMUP = 2;

/** Plain prom-client: the same device series as gauges, set once as a daemon would keep them. */
async function makePlain(state) {
  const registry = await plainRegistry(state);
  return {
    render: async () => (await registry.metrics()).length,
    serve: async (stalls) =>
      createServer((_req, res) => {
        stalls.begin();
        void registry.metrics().then((text) => {
          res.writeHead(200, {
            'content-type': registry.contentType,
            'content-length': Buffer.byteLength(text),
          });
          res.end(text, stalls.end);
        });
      }),
  };
}

/** Ours or before: their Metrics and HTTP server, wired as their daemon.ts wires /metrics. */
async function makeExporter(root, state, variant) {
  const dist = (file) => pathToFileURL(`${root}/dist/${file}`).href;
  const { Metrics } = await import(dist('metrics/index.js'));
  const { startHttpServer } = await import(dist('http/server.js'));
  const { createLogger } = await import(dist('log.js'));
  const metrics = new Metrics({
    source: makeSource(state, variant === 'ours'),
    version: 'bench',
    channels: ['ops'],
  });
  const nullSink = () => {
    let bytes = 0;
    const sink = {
      destroyed: false,
      write: (chunk, done) => ((bytes += Buffer.byteLength(chunk)), done(), true),
      once: () => sink,
      removeListener: () => sink,
    };
    return { sink, bytes: () => bytes };
  };
  return {
    // before lends its bytes; ours streams into a sink that never pushes back.
    render: () =>
      metrics.withExposition(async (body) => {
        if (body instanceof Uint8Array) return body.length;
        const { sink, bytes } = nullSink();
        await body.writeTo(sink);
        return bytes();
      }),
    serve: async (stalls) =>
      startHttpServer({
        host: '127.0.0.1',
        port: 0,
        log: createLogger('fatal', new Writable({ write: (_c, _e, done) => done() })),
        handlers: {
          ready: () => true,
          metrics: (send) => {
            stalls.begin();
            return metrics.withExposition((body) => send(metrics.contentType, body)).finally(stalls.end);
          },
          devices: () => [],
          history: () => null,
        },
      }),
  };
}

/**
 * Event-loop stalls from a 1 ms timer: how late each tick comes. (perf_hooks'
 * monitorEventLoopDelay missed a 50 ms synchronous block here, so it is not used.)
 */
class StallProbe {
  #gaps = [];
  #timer = null;
  #last = 0;

  start() {
    this.#gaps = [];
    this.#last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#gaps.push(now - this.#last);
      this.#last = now;
    }, 1);
  }

  stop() {
    clearInterval(this.#timer);
    const gaps = [...this.#gaps, performance.now() - this.#last].sort((a, b) => a - b);
    return { maxMs: gaps[gaps.length - 1], p99Ms: gaps[Math.floor(gaps.length * 0.99)] };
  }
}

/** The longest event-loop stall while `work` runs. */
async function stalled(work) {
  const probe = new StallProbe();
  probe.start();
  await sleep(3);
  const out = await work();
  await sleep(3);
  return { out, stallMs: probe.stop().maxMs };
}

const cpuMs = ({ user, system }) => (user + system) / 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function child(variant, n) {
  // Per HTTP scrape, from the request to the response's end: the longest stall.
  const stalls = { probe: new StallProbe(), measuring: false, max: [] };
  stalls.begin = () => stalls.measuring && stalls.probe.start();
  stalls.end = () => stalls.measuring && stalls.max.push(stalls.probe.stop().maxMs);
  const state = makeState(n);
  const exporter =
    variant === 'plain'
      ? await makePlain(state)
      : await makeExporter(variant === 'ours' ? OURS : BEFORE, state, variant);
  for (let i = 0; i < WARMUP; i += 1) await exporter.render();
  const render = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < RUNS.render(n); i += 1) {
    let ms = 0;
    const { stallMs } = await stalled(async () => {
      const t0 = performance.now();
      await exporter.render();
      ms = performance.now() - t0;
    });
    render.push({ ms, stallMs });
  }
  const renderCpuMs = cpuMs(process.cpuUsage(cpu0)) / RUNS.render(n);
  let httpCpu = null;
  const server = await exporter.serve(stalls);
  if (server.listen) await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const port = server.port ?? server.address().port;
  process.send({ port });
  process.on('message', async (msg) => {
    if (msg === 'measure') {
      stalls.measuring = true;
      httpCpu = process.cpuUsage();
    }
    if (msg !== 'report') return;
    const httpCpuMs = cpuMs(process.cpuUsage(httpCpu)) / stalls.max.length;
    const mem = process.memoryUsage();
    process.send({
      renderMs: median(render.map((r) => r.ms)),
      renderCpuMs,
      httpCpuMs,
      renderStallMs: median(render.map((r) => r.stallMs)),
      renderStallMaxMs: Math.max(...render.map((r) => r.stallMs)),
      httpStallMs: median(stalls.max),
      httpStallMaxMs: Math.max(...stalls.max),
      rssMB: mem.rss / 2 ** 20,
      heapMB: mem.heapUsed / 2 ** 20,
      externalMB: (mem.external + mem.arrayBuffers) / 2 ** 20,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    });
    process.exit(0);
  });
}

/**
 * One scrape as Prometheus makes it: the whole body read, timed to its end. `keep`: also the
 * digest of the text without the process metrics (which differ from process to process).
 */
function scrape(port, agent, keep = false) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const parts = [];
    let bytes = 0;
    get({ host: '127.0.0.1', port, path: '/metrics', agent }, (res) => {
      res.on('data', (d) => {
        bytes += d.length;
        if (keep) parts.push(d);
      });
      res.on('end', () => {
        const ms = performance.now() - t0;
        const own = /^(?:# (?:HELP|TYPE) )?(?:process_|nodejs_)/;
        const text = Buffer.concat(parts)
          .toString('utf8')
          .split('\n')
          .filter((line) => !own.test(line));
        resolve({ ms, bytes, sha: createHash('sha256').update(text.join('\n')).digest('hex').slice(0, 12) });
      });
    }).on('error', reject);
  });
}

async function measure(variant, n) {
  const proc = fork(fileURLToPath(import.meta.url), ['--child', variant, String(n)], { stdio: 'inherit' });
  const next = () => new Promise((resolve) => proc.once('message', resolve));
  const { port } = await next();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const first = await scrape(port, agent, true);
  proc.send('measure');
  const times = [];
  for (let i = 0; i < RUNS.http(n); i += 1) times.push((await scrape(port, agent)).ms);
  agent.destroy();
  proc.send('report');
  const report = await next();
  return {
    variant,
    n,
    ...report,
    httpMs: median(times),
    httpMaxMs: Math.max(...times),
    bytes: first.bytes,
    sha: first.sha,
  };
}

async function parent() {
  const sizeArg = process.argv.indexOf('--sizes');
  const sizes = sizeArg > 0 ? process.argv[sizeArg + 1].split(',').map(Number) : [10_000, 100_000];
  const variantArg = process.argv.indexOf('--variants');
  // `--variants ours,before`: plain prom-client takes minutes at 100,000 devices.
  const variants = (
    variantArg > 0 ? process.argv[variantArg + 1].split(',') : ['ours', 'before', 'plain']
  ).filter((v) => v !== 'before' || BEFORE !== null);
  const results = [];
  for (const n of sizes) for (const v of variants) results.push(await measure(v, n));
  const f = (x, w = 8, d = 1) => x.toFixed(d).padStart(w);
  console.log(
    `node ${process.version}; render: exporter alone, median of ${RUNS.render(10_000)} (5 at 100k);`,
  );
  console.log(`http: GET /metrics on loopback, median of ${RUNS.http(10_000)} (5 at 100k)`);
  console.log(
    'stall: the longest event-loop delay during one scrape (1 ms timer), median and max over the scrapes',
  );
  console.log(
    'CPU: the server process user+system time per scrape (steadier than wall time on a busy machine)',
  );
  console.log(
    `memory: after all scrapes; ext = external + array buffers. before = ${BEFORE ?? '(BENCH_BEFORE not set)'}`,
  );
  console.log(
    '                           --------- render ---------------  ------------ http -----------------  ----------- memory -----------',
  );
  console.log(
    'variant  devices  MiB out   wall ms   CPU ms  stall ms  (max)  wall ms  (max)  CPU ms  stall ms  (max)  RSS MiB heap MiB ext MiB maxRSS  sha256',
  );
  for (const r of results) {
    console.log(
      `${r.variant.padEnd(7)} ${String(r.n).padStart(8)} ${f(r.bytes / 2 ** 20)} ${f(r.renderMs, 9)} ${f(r.renderCpuMs)}` +
        ` ${f(r.renderStallMs, 9)} ${f(r.renderStallMaxMs, 6)} ${f(r.httpMs)} ${f(r.httpMaxMs, 6)} ${f(r.httpCpuMs, 7)}` +
        ` ${f(r.httpStallMs, 9)} ${f(r.httpStallMaxMs, 6)} ${f(r.rssMB)} ${f(r.heapMB)} ${f(r.externalMB, 7)} ${f(r.maxRssMB, 6, 0)}  ${r.sha}`,
    );
  }
  for (const n of sizes) {
    const ours = results.find((r) => r.variant === 'ours' && r.n === n);
    const before = results.find((r) => r.variant === 'before' && r.n === n);
    if (before !== undefined)
      console.log(`${n} devices: ours and before send the same bytes: ${ours.sha === before.sha}`);
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') await child(args[1], Number(args[2]));
else await parent();
