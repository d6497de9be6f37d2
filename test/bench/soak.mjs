// Soak benchmark (not a test): the real daemon against the simulator for SOAK_MINUTES (15) of
// seeded chaos — random device flips, gateway faults, kill -9 and restart every ~75 s, webhook
// outages (500 for 20–60 s) and SMTP outages (server stopped, restarted on the same port) — then
// a settle (chaos off, every receiver up, outbox drained), SIGTERM, and an account of what the
// daemon decided against what the receivers got: missing events, duplicates, outbox states,
// database integrity, RSS. Exits 1 when something decided was lost.
//
//   npm run bench:soak      (builds first)
//   SOAK_MINUTES=2 SOAK_SEED=42 SOAK_KEEP=1 node test/bench/soak.mjs
//
// "Decided" is every event id in the outbox (the durable record of decisions), checked against
// the poller's log lines (`device.down` … with component poller) and the history table.
// "Delivered" is what a receiver accepted (answered 2xx / took the DATA): the webhook's
// `events[].id` under its `webhook-id`; a mail's `X-Whatsgate-Delivery-Id` mapped to its outbox
// row's events. The same delivery id accepted twice is a retry duplicate (at-least-once allows
// it); the same event id in two different deliveries of one channel is a real duplicate.
// Node's globals are imported so that linting this plain JS file needs no environment settings.

import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import console from 'node:console';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL, fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { fetch } from 'undici';

const { AbortSignal } = globalThis;

const MINUTES = Number(process.env.SOAK_MINUTES ?? 15);
const SEED = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
const KEEP = process.env.SOAK_KEEP === '1';
const DEVICES = Number(process.env.SOAK_DEVICES ?? 20);
const FIRST = 100_000_000;
const TOKEN = 'soak-token';
const SETTLE_MAX_MS = 10 * 60_000;
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const EVENT_TYPES = [
  'device.down',
  'device.up',
  'device.reminder',
  'device.flapping',
  'account.unreachable',
  'account.recovered',
];

// ---------------------------------------------------------------- seeded PRNG (mulberry32)
let prngState = SEED >>> 0;
function random() {
  prngState = (prngState + 0x6d2b79f5) >>> 0;
  let t = prngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const between = (lo, hi) => lo + random() * (hi - lo);
const pick = (list) => list[Math.floor(random() * list.length)];

// ---------------------------------------------------------------- bookkeeping
const t0 = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'wgm-soak-'));
const logPath = join(dir, 'daemon.log');
const chaosPath = join(dir, 'chaos.log');
const logFile = createWriteStream(logPath, { flags: 'a' });
const chaosFile = createWriteStream(chaosPath, { flags: 'a' });
const children = new Set();
const stats = {
  kills: 0,
  starts: 0,
  flips: 0,
  faults: 0,
  webhookOutages: 0,
  smtpOutages: 0,
  unexpectedExits: 0,
};
/** From the daemon's logs, summed over every run. */
const logged = { decided: new Map(), decidedByDevice: new Map(), statusChanged: 0, warnings: new Map() };
const rss = { max: 0, last: 0 };
let stopping = false;

const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(7);
function chaos(text) {
  chaosFile.write(`${new Date().toISOString()} +${elapsed()}s ${text}\n`);
}
function bump(map, key, by = 1) {
  map.set(key, (map.get(key) ?? 0) + by);
}

// ---------------------------------------------------------------- ports, simulator
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startSimulator(port) {
  const child = spawn(
    process.execPath,
    [cli, 'simulate', '--port', String(port), '--devices', String(DEVICES), '--first', String(FIRST)].concat([
      '--token',
      TOKEN,
      '--rate-limit',
      '0',
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  child.on('exit', () => children.delete(child));
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`simulator exited ${code}`)));
  });
  child.stdout.resume();
  child.stderr.resume();
  return child;
}

async function sim(method, path, body) {
  const res = await fetch(`${simUrl}/_sim${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} /_sim${path} → ${res.status} ${text}`);
  return text === '' ? null : JSON.parse(text);
}

// ---------------------------------------------------------------- webhook receiver
const webhook = { down: false, accepted: [], refused: 0 };
const webhookServer = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (webhook.down) {
      webhook.refused++;
      res.writeHead(500).end('soak: outage');
      return;
    }
    const id = req.headers['webhook-id'];
    let events = [];
    try {
      events = JSON.parse(Buffer.concat(chunks).toString('utf8')).events.map((e) => e.id);
    } catch {
      events = ['<unparsable>'];
    }
    webhook.accepted.push({ deliveryId: typeof id === 'string' ? id : '<none>', events, at: Date.now() });
    res.writeHead(200).end('ok');
  });
});

// ---------------------------------------------------------------- SMTP sink
const smtp = { server: null, port: 0, accepted: [] };
async function startSmtp() {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 1000,
    onData(stream, _session, callback) {
      simpleParser(stream, { skipImageLinks: true }).then(
        (mail) => {
          const id = mail.headers.get('x-whatsgate-delivery-id');
          smtp.accepted.push({
            deliveryId: typeof id === 'string' ? id : '<none>',
            messageId: mail.messageId,
            at: Date.now(),
          });
          callback();
        },
        (err) => callback(err),
      );
    },
  });
  server.on('error', (err) => chaos(`smtp server error: ${err.message}`));
  for (let attempt = 1; ; attempt++) {
    try {
      await new Promise((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(smtp.port, '127.0.0.1', () => {
          server.server.off('error', reject);
          resolve();
        });
      });
      break;
    } catch (err) {
      if (attempt >= 20) throw err;
      await sleep(250);
    }
  }
  smtp.port = server.server.address().port;
  smtp.server = server;
}
function stopSmtp() {
  const server = smtp.server;
  smtp.server = null;
  return server === null ? Promise.resolve() : new Promise((resolve) => server.close(() => resolve()));
}

// ---------------------------------------------------------------- the daemon
let daemon = null; // { child, pid, url, exited }
let configPath = '';

function writeConfig(simBase, webhookUrl) {
  const devices = Array.from(
    { length: DEVICES },
    (_, i) => `      - { number: "${FIRST + i}", name: Soak ${String(i).padStart(2, '0')} }`,
  );
  configPath = join(dir, 'config.yml');
  writeFileSync(
    configPath,
    `state_dir: ${join(dir, 'state')}
listen: 127.0.0.1:0
schedule: "* * * * * *"
log_level: info
defaults:
  interval: 5s
  timeout: 4s
  failure_threshold: 2
  repeat_interval: 0
  flap_threshold: 4
  flap_window: 2m
accounts:
  - name: soak
    base_url: ${simBase}
    token: \${WG_TOKEN}
    rate_limit: 1200/min
    concurrency: 4
    devices:
${devices.join('\n')}
notify:
  group_wait: 0s
  group_interval: 0s
  default: [hook, mail]
  channels:
    hook: { type: webhook, url: "${webhookUrl}", timeout: 5s }
    mail: { type: email, host: 127.0.0.1, port: ${smtp.port}, secure: false, from: monitor@example.com, to: ops@example.com, timeout: 5s }
`,
  );
}

function startDaemon() {
  const child = spawn(process.execPath, [cli, 'run', '--config', configPath], {
    env: { PATH: process.env.PATH ?? '', WG_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  stats.starts++;
  const run = { child, pid: child.pid, url: null, exited: null, ready: null };
  run.exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  let resolveReady;
  run.ready = new Promise((resolve) => (resolveReady = resolve));
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    logFile.write(chunk);
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let line;
      try {
        line = JSON.parse(text);
      } catch {
        continue;
      }
      if (line.msg === 'whatsgate-monitor started') {
        run.url = String(line.listen);
        resolveReady(run.url);
      }
      if (line.component === 'poller' && EVENT_TYPES.includes(line.msg)) {
        bump(logged.decided, line.msg);
        bump(logged.decidedByDevice, `${line.device ?? line.account ?? '-'} ${line.msg}`);
      }
      if (line.msg === 'status changed') logged.statusChanged++;
      if (['warn', 'error', 'fatal'].includes(line.level))
        bump(logged.warnings, `${line.level}: ${line.msg}`);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d) => {
    logFile.write(`[stderr pid ${child.pid}] ${d}`);
  });
  void run.exited.then(({ code, signal }) => {
    chaos(`daemon pid ${run.pid} exited code=${code} signal=${signal}`);
    if (signal !== 'SIGKILL' && !(signal === 'SIGTERM' || code === 0)) stats.unexpectedExits++;
    resolveReady(null);
  });
  daemon = run;
  chaos(`daemon started pid ${run.pid}`);
  return run;
}

function sampleRss() {
  if (daemon === null || daemon.child.exitCode !== null || daemon.child.signalCode !== null) return;
  try {
    const status = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (m !== null) {
      const mib = Number(m[1]) / 1024;
      rss.last = mib;
      rss.max = Math.max(rss.max, mib);
    }
  } catch {
    // the process is gone between the check and the read
  }
}

// ---------------------------------------------------------------- chaos loops
let stopChaos = () => undefined;
const chaosStopped = new Promise((resolve) => (stopChaos = resolve));
let chaosOn = true;
/** Sleeps `ms`, or less when the chaos stops. */
const pause = (ms) => Promise.race([sleep(ms), chaosStopped]);

const deviceIds = Array.from({ length: DEVICES }, (_, i) => String(FIRST + i));
const simStatus = new Map(deviceIds.map((d) => [d, 'connected']));
const lastFlip = new Map(deviceIds.map((d) => [d, 0]));

async function flipLoop() {
  while (chaosOn) {
    await pause(between(3000, 9000));
    if (!chaosOn) break;
    // A device flipped in the last 25 s is left alone so that most drops get confirmed.
    const calm = deviceIds.filter((d) => Date.now() - lastFlip.get(d) > 25_000);
    if (calm.length === 0) continue;
    const device = pick(calm);
    const now = simStatus.get(device);
    const next = now === 'connected' ? pick(['disconnected', 'not connected']) : 'connected';
    await sim('POST', `/devices/${device}/status`, { status: next });
    simStatus.set(device, next);
    lastFlip.set(device, Date.now());
    stats.flips++;
    chaos(`flip ${device} ${now} → ${next}`);
  }
}

const FAULTS = [
  { fault: '500' },
  { fault: 'slow', delay_ms: 2500 },
  { fault: 'garbage' },
  { fault: 'html', http_status: 502 },
  { fault: 'api_error', message: 'soak says no' },
];
async function faultLoop() {
  while (chaosOn) {
    await pause(between(15_000, 45_000));
    if (!chaosOn) break;
    const fault = pick(FAULTS);
    const everyone = random() < 0.15;
    const targets = everyone ? [] : deviceIds.filter(() => random() < 0.12).slice(0, 4);
    if (!everyone && targets.length === 0) targets.push(pick(deviceIds));
    const spell = everyone ? between(4000, 12_000) : between(8000, 25_000);
    stats.faults++;
    chaos(
      `fault ${JSON.stringify(fault)} on ${everyone ? 'all' : targets.join(',')} for ${(spell / 1000).toFixed(0)}s`,
    );
    if (everyone) await sim('POST', '/fault', fault);
    else for (const d of targets) await sim('POST', `/devices/${d}/fault`, fault);
    await sleep(spell);
    if (everyone) await sim('POST', '/fault', { fault: 'none' });
    else for (const d of targets) await sim('POST', `/devices/${d}/fault`, { fault: 'none' });
    chaos(`fault cleared`);
  }
}

async function killLoop() {
  while (chaosOn) {
    await pause(between(60_000, 90_000));
    if (!chaosOn) break;
    const run = daemon;
    chaos(`kill -9 pid ${run.pid}`);
    run.child.kill('SIGKILL');
    await run.exited;
    stats.kills++;
    await sleep(between(1000, 3000));
    startDaemon();
  }
}

async function webhookOutageLoop() {
  while (chaosOn) {
    await pause(between(90_000, 180_000));
    if (!chaosOn) break;
    const spell = between(20_000, 60_000);
    stats.webhookOutages++;
    chaos(`webhook outage (500) for ${(spell / 1000).toFixed(0)}s`);
    webhook.down = true;
    await pause(spell);
    webhook.down = false;
    chaos('webhook back');
  }
}

async function smtpOutageLoop() {
  await pause(between(30_000, 60_000));
  while (chaosOn) {
    const spell = between(20_000, 60_000);
    stats.smtpOutages++;
    chaos(`smtp outage (stopped) for ${(spell / 1000).toFixed(0)}s`);
    await stopSmtp();
    await pause(spell);
    await startSmtp();
    chaos('smtp back');
    await pause(between(100_000, 200_000));
  }
}

// ---------------------------------------------------------------- settle, account
async function pendingNotifications(url) {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('whatsgate_notifications_pending')) sum += Number(line.split(' ').pop());
  }
  return sum;
}

/** Devices whose notifications flapping pauses (their state JSON, read while the daemon runs). */
function flappingDevices() {
  const db = new Database(join(dir, 'state', 'monitor.db'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('SELECT device, state FROM devices')
      .all()
      .filter((r) => JSON.parse(r.state).flapping === true)
      .map((r) => r.device);
  } finally {
    db.close();
  }
}

async function settle() {
  chaos('settle: chaos stopped');
  await sim('POST', '/fault', { fault: 'none' });
  webhook.down = false;
  if (smtp.server === null) await startSmtp();
  if (daemon === null || daemon.child.exitCode !== null || daemon.child.signalCode !== null) startDaemon();
  // Two intervals and a confirmation for the last flips to be decided.
  await sleep(25_000);
  const until = Date.now() + SETTLE_MAX_MS;
  let zeros = 0;
  while (Date.now() < until && zeros < 3) {
    await sleep(2000);
    sampleRss();
    const url = await daemon.ready;
    if (url === null) throw new Error('the daemon exited during the settle');
    const pending = await pendingNotifications(url).catch(() => -1);
    // Flapping ends after flap_window stable; then the daemon tells what it held back.
    const flapping = pending === 0 ? flappingDevices().length : -1;
    zeros = pending === 0 && flapping === 0 ? zeros + 1 : 0;
  }
  chaos(
    `settle done after ${((Date.now() - t0) / 1000).toFixed(0)}s: ${zeros >= 3 ? 'drained' : 'TIMED OUT'}`,
  );
  sampleRss();
  daemon.child.kill('SIGTERM');
  const exit = await Promise.race([daemon.exited, sleep(30_000).then(() => null)]);
  if (exit === null) {
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    return { drained: zeros >= 3, term: 'hung, SIGKILL' };
  }
  return { drained: zeros >= 3, term: exit.signal ?? `code ${exit.code}` };
}

function account(drained, term) {
  const db = new Database(join(dir, 'state', 'monitor.db'), { readonly: true, fileMustExist: true });
  const integrity = db.pragma('integrity_check', { simple: true });
  const historyRows = db.prepare('SELECT count(*) AS n FROM history').get().n;
  const rows = db
    .prepare('SELECT delivery_id, channel, state, payload, attempts, last_error FROM outbox ORDER BY id')
    .all();
  const deviceRows = db.prepare('SELECT device, health, status, state FROM devices').all();
  db.close();

  const states = new Map();
  const events = new Map(); // id → { type, device, at, channels: Map<channel, state> }
  const rowEvents = new Map(); // delivery id → event ids
  for (const row of rows) {
    // A message folded into an older one before its first attempt is marked sent with
    // last_error "merged into <delivery id>"; its events travel in that message.
    const mergedInto = /^merged into (\S+)$/.exec(row.last_error ?? '')?.[1] ?? null;
    row.mergedInto = mergedInto;
    bump(states, mergedInto === null ? row.state : `${row.state} (merged)`);
    let payload;
    try {
      payload = JSON.parse(row.payload);
    } catch {
      continue;
    }
    const ids = [];
    for (const e of payload.events ?? []) {
      ids.push(e.id);
      const type = e.kind === 'device' || e.kind === 'account' ? e.event.type : e.kind;
      const known = events.get(e.id) ?? {
        type,
        device: e.kind === 'device' ? e.device.number : (e.account ?? '-'),
        at: e.event?.at ?? e.at,
        channels: new Map(),
      };
      known.channels.set(row.channel, row.state);
      events.set(e.id, known);
    }
    rowEvents.set(row.delivery_id, ids);
  }
  const decidedByType = new Map();
  for (const e of events.values()) bump(decidedByType, e.type);

  // Delivered, per channel: event id → the distinct delivery ids that carried it.
  const channels = {
    hook: { accepted: webhook.accepted.map((a) => ({ deliveryId: a.deliveryId, events: a.events })) },
    mail: {
      accepted: smtp.accepted.map((a) => ({
        deliveryId: a.deliveryId,
        events: rowEvents.get(a.deliveryId) ?? null,
      })),
    },
  };
  const perChannel = {};
  for (const [name, ch] of Object.entries(channels)) {
    const byDelivery = new Map();
    const byEvent = new Map();
    let unknown = 0;
    for (const a of ch.accepted) {
      bump(byDelivery, a.deliveryId);
      if (a.events === null) {
        unknown++;
        continue;
      }
      for (const id of a.events) {
        const set = byEvent.get(id) ?? new Set();
        set.add(a.deliveryId);
        byEvent.set(id, set);
      }
    }
    const missing = [];
    for (const [id, e] of events)
      if (e.channels.has(name) && !byEvent.has(id)) missing.push({ id, ...e, state: e.channels.get(name) });
    const duplicates = [...byEvent]
      .filter(([, s]) => s.size > 1)
      .map(([id, s]) => ({ id, deliveries: [...s] }));
    const retryDuplicates = [...byDelivery].filter(([, n]) => n > 1).map(([id, n]) => ({ id, n }));
    const sentNotReceived = rows.filter(
      (r) =>
        r.channel === name &&
        r.state === 'sent' &&
        !byDelivery.has(r.delivery_id) &&
        (r.mergedInto === null || !byDelivery.has(r.mergedInto)),
    );
    perChannel[name] = {
      messages: ch.accepted.length,
      events: byEvent.size,
      unknown,
      missing,
      duplicates,
      retryDuplicates,
      sentNotReceived,
    };
  }

  // Per device: DOWN and UP alternate, and the last one matches where the simulator left it.
  const sequenceGaps = [];
  const finalMismatches = [];
  const stillFlapping = [];
  for (const device of deviceIds) {
    const seq = [...events.values()]
      .filter((e) => e.device === device && (e.type === 'device.down' || e.type === 'device.up'))
      .sort((a, b) => a.at - b.at);
    let prev = 'device.up';
    for (const e of seq) {
      if (e.type === prev)
        sequenceGaps.push(`${device}: ${e.type} at ${new Date(e.at).toISOString()} after ${prev}`);
      prev = e.type;
    }
    const wantDown = simStatus.get(device) !== 'connected';
    const row = deviceRows.find((r) => r.device === device);
    const health = row?.health ?? 'none';
    if (row !== undefined && JSON.parse(row.state).flapping === true) {
      stillFlapping.push(device);
      continue;
    }
    if ((health === 'DOWN') !== wantDown || (prev === 'device.down') !== wantDown) {
      finalMismatches.push(
        `${device}: simulator "${simStatus.get(device)}", db ${health}, last event ${prev}`,
      );
    }
  }
  // Log vs outbox, per device and type: more in the log = decided before a kill, decided again.
  const logVsOutbox = [];
  const outboxByDevice = new Map();
  for (const e of events.values()) bump(outboxByDevice, `${e.device} ${e.type}`);
  for (const key of new Set([...logged.decidedByDevice.keys(), ...outboxByDevice.keys()])) {
    const l = logged.decidedByDevice.get(key) ?? 0;
    const o = outboxByDevice.get(key) ?? 0;
    if (l !== o) logVsOutbox.push(`${key}: log ${l}, outbox ${o}`);
  }
  return {
    drained,
    term,
    integrity,
    historyRows,
    states,
    decidedByType,
    decided: events.size,
    perChannel,
    sequenceGaps,
    finalMismatches,
    stillFlapping,
    logVsOutbox,
  };
}

function fmtMap(map, keys) {
  return (keys ?? [...map.keys()].sort())
    .filter((k) => map.has(k) || keys !== undefined)
    .map((k) => `${k} ${map.get(k) ?? 0}`)
    .join(', ');
}

function report(r) {
  const row = (label, value) => console.log(`${label.padEnd(34)} ${value}`);
  const lost =
    r.perChannel.hook.missing.length +
    r.perChannel.mail.missing.length +
    r.perChannel.hook.sentNotReceived.length +
    r.perChannel.mail.sentNotReceived.length +
    r.sequenceGaps.length +
    r.finalMismatches.length;
  console.log('');
  console.log('whatsgate-monitor soak');
  console.log('-'.repeat(100));
  row('minutes (chaos) / total', `${MINUTES} / ${((Date.now() - t0) / 60_000).toFixed(1)}`);
  row('seed', `${SEED}   (SOAK_SEED=${SEED} replays the chaos)`);
  row('devices', `${DEVICES}, interval 5s, failure_threshold 2, flap 4 in 2m, group_wait/interval 0s`);
  row(
    'kill -9 / daemon starts',
    `${stats.kills} / ${stats.starts}   (unexpected exits: ${stats.unexpectedExits})`,
  );
  row('device flips', stats.flips);
  row('gateway fault spells', stats.faults);
  row(
    'outages webhook / smtp',
    `${stats.webhookOutages} / ${stats.smtpOutages}   (webhook 500s answered: ${webhook.refused})`,
  );
  row('settle', `${r.drained ? 'outbox drained, no device flapping' : 'NOT drained'}; SIGTERM → ${r.term}`);
  console.log('-'.repeat(100));
  row('decided (outbox event ids)', `${r.decided}: ${fmtMap(r.decidedByType)}`);
  row(
    'decided (poller log lines)',
    `${[...logged.decided.values()].reduce((a, b) => a + b, 0)}: ${fmtMap(logged.decided)}`,
  );
  row('status changes: log / history rows', `${logged.statusChanged} / ${r.historyRows}`);
  for (const [name, c] of Object.entries(r.perChannel)) {
    row(
      `delivered ${name}`,
      `${c.events} events in ${c.messages} accepted messages${c.unknown > 0 ? ` (${c.unknown} with unknown delivery id)` : ''}`,
    );
    row(
      `  missing ${name}`,
      c.missing.length === 0
        ? 0
        : c.missing
            .map((m) => `${m.id} ${m.type} ${m.device} @${new Date(m.at).toISOString()} [${m.state}]`)
            .join('; '),
    );
    row(
      `  duplicates ${name} (event twice)`,
      c.duplicates.length === 0
        ? 0
        : c.duplicates.map((d) => `${d.id} in ${d.deliveries.join(' + ')}`).join('; '),
    );
    row(
      `  retry duplicates ${name}`,
      c.retryDuplicates.length === 0 ? 0 : c.retryDuplicates.map((d) => `${d.id} ×${d.n}`).join('; '),
    );
    row(
      `  sent but not received ${name}`,
      c.sentNotReceived.length === 0 ? 0 : c.sentNotReceived.map((s) => s.delivery_id).join('; '),
    );
  }
  row(
    'outbox states',
    fmtMap(r.states, ['sent', 'sent (merged)', 'dropped', 'pending', 'held', 'cancelled']),
  );
  row('DOWN/UP sequence gaps', r.sequenceGaps.length === 0 ? 0 : r.sequenceGaps.join('; '));
  row('final state ≠ simulator', r.finalMismatches.length === 0 ? 0 : r.finalMismatches.join('; '));
  row('still flapping (alerts paused)', r.stillFlapping.length === 0 ? 0 : r.stillFlapping.join(', '));
  row('log ≠ outbox (device, type)', r.logVsOutbox.length === 0 ? 0 : r.logVsOutbox.join('; '));
  row('database integrity_check', r.integrity);
  row(
    'daemon warn/error log lines',
    logged.warnings.size === 0 ? 0 : [...logged.warnings].map(([m, n]) => `${n}× ${m}`).join('; '),
  );
  row('daemon RSS MiB max / last', `${rss.max.toFixed(1)} / ${rss.last.toFixed(1)}`);
  console.log('-'.repeat(100));
  row(
    'verdict',
    lost === 0 && r.integrity === 'ok' && r.drained ? 'nothing lost' : `LOST or INCOMPLETE (${lost})`,
  );
  console.log(
    KEEP
      ? `kept: ${dir} (daemon.log, chaos.log, state/monitor.db)`
      : '(SOAK_KEEP=1 keeps the logs and database)',
  );
  return lost === 0 && r.integrity === 'ok' && r.drained ? 0 : 1;
}

// ---------------------------------------------------------------- main
function cleanup() {
  for (const child of children) child.kill('SIGKILL');
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
}

let simUrl = '';
async function main() {
  console.log(`soak: ${MINUTES} min, seed ${SEED}, ${DEVICES} devices, dir ${dir}`);
  const simPort = await freePort();
  await startSimulator(simPort);
  simUrl = `http://127.0.0.1:${simPort}`;
  await new Promise((resolve) => webhookServer.listen(0, '127.0.0.1', resolve));
  await startSmtp();
  writeConfig(`${simUrl}/api`, `http://127.0.0.1:${webhookServer.address().port}/hook`);
  startDaemon();
  if ((await daemon.ready) === null) throw new Error(`the daemon did not start; see ${logPath}`);

  const sampler = setInterval(sampleRss, 2000);
  const progress = setInterval(() => {
    console.log(
      `+${elapsed()}s kills ${stats.kills} flips ${stats.flips} faults ${stats.faults} ` +
        `outages ${stats.webhookOutages}/${stats.smtpOutages} decided ${[...logged.decided.values()].reduce((a, b) => a + b, 0)} ` +
        `hook ${webhook.accepted.length} mail ${smtp.accepted.length} rss ${rss.last.toFixed(0)} MiB`,
    );
  }, 60_000);
  const loops = [flipLoop(), faultLoop(), killLoop(), webhookOutageLoop(), smtpOutageLoop()].map((p) =>
    p.catch((err) => {
      chaos(`chaos loop failed: ${err.stack ?? err}`);
      console.error(`chaos loop failed: ${err.message}`);
    }),
  );
  await sleep(MINUTES * 60_000);
  chaosOn = false;
  stopChaos();
  await Promise.all(loops);
  const { drained, term } = await settle();
  clearInterval(sampler);
  clearInterval(progress);
  await sleep(500);
  const result = account(drained, term);
  return report(result);
}

process.on('SIGINT', () => {
  if (stopping) return;
  stopping = true;
  console.error('interrupted: killing children');
  cleanup();
  process.exit(130);
});

main().then(
  async (code) => {
    stopping = true;
    webhookServer.closeAllConnections();
    webhookServer.close();
    await stopSmtp();
    await new Promise((resolve) => logFile.end(resolve));
    await new Promise((resolve) => chaosFile.end(resolve));
    cleanup();
    process.exit(code);
  },
  (err) => {
    console.error(err);
    cleanup();
    process.exit(2);
  },
);
