// History at scale (issue #17; a benchmark, not a test): a store filled with 10,000 devices × 90
// days × 4 status changes a device a day (3.6 M history rows), then the figures a person waits for
// — the status page (its data and its HTML), `/api/v1/devices`, one device's history through the
// API, `audit` and `audit --json` — and the daily retention prune of one day. For each: the time,
// the longest the event loop was blocked meanwhile (the daemon polls on that loop) and the RSS,
// printed beside the goal.
//
//   npm run bench:history                 SQLite (the base file is cached in the temp dir)
//   BENCH_PG=1 npm run bench:history      also PostgreSQL (a throwaway cluster: needs initdb)
//   BENCH_DEVICES / BENCH_DAYS / BENCH_RESTARTS_EVERY_DAYS override the size and the run record
//
// The history is written at the schema before the rollups (SQLite version 6, PostgreSQL 1), as an
// existing database in the field would be, so opening the store runs the migrations that build
// them from history: that time is printed too.
// Each store's figures run in a child process of its own, so that its RSS and garbage are its own.
// Node's globals are imported so that linting this plain JS file needs no environment settings.
import { execFileSync, spawn } from 'node:child_process';
import console from 'node:console';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, chownSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { auditFromStore } from '../../dist/audit/from-store.js';
import { auditToJson, renderAuditText } from '../../dist/audit/render.js';
import { buildAuditMessageInSlices } from '../../dist/audit/sender.js';
import { RUNS_META_KEY } from '../../dist/audit/runs.js';
import { initialDeliveryState } from '../../dist/monitor/delivery.js';
import { initialDeviceState } from '../../dist/monitor/device-state.js';
import { Mutes } from '../../dist/monitor/mutes.js';
import { MIGRATIONS, runMigrations } from '../../dist/store/migrations.js';
import { PG_MIGRATIONS, migratePostgres } from '../../dist/store/postgres-schema.js';
import { openPostgresStore } from '../../dist/store/postgres-store.js';
import { openSqliteStore } from '../../dist/store/sqlite-store.js';
import { fleetHandlers } from '../../dist/views/pages.js';
import { renderStatusPage, renderStatusPageBytes } from '../../dist/web/status-page.js';
import { buildStatusView } from '../../dist/web/status-view.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
const ACCOUNTS = Math.max(1, Math.round(DEVICES / 100));
const DAYS = Number(process.env.BENCH_DAYS ?? 90);
const PER_DAY = 4;
/** The daemon restarts this often (a minute's gap in its run record): mask edges for the uptimes. */
const RESTART_EVERY_DAYS = Number(process.env.BENCH_RESTARTS_EVERY_DAYS ?? 7);
const REPEATS = 3;
const DAY = 86_400_000;
const NOW = Date.UTC(2025, 2, 31, 12, 0, 0);
const FIRST = 100_000_000;
const TIME_ZONE = 'Europe/Berlin';
/** The schema versions before the rollups: what a database in the field has. */
const SQLITE_BASE_VERSION = 6;
const PG_BASE_VERSION = 1;

const GOALS = {
  statusPage: 300,
  devices: 150,
  audit: 1_000,
  loopBlock: 50,
  pruneSlice: 20,
};

// ---------------------------------------------------------------------------------------------
// The data: deterministic, so the cached file and a PostgreSQL fill hold the same rows.

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const accountOf = (i) => `account-${String(Math.floor((i * ACCOUNTS) / DEVICES)).padStart(3, '0')}`;
const numberOf = (i) => String(FIRST + i);
const START = NOW - DAYS * DAY;
/** One device in a thousand ends deleted at the gateway; one in a thousand ends not connected. */
const isDeleted = (i) => i % 1000 === 7;
const endsDown = (i) => i % 1000 === 9;

/** Day `d`'s rows of every device, in time order: [account, device, at, from, to, raw]. */
function dayRows(d) {
  const random = rng(d * 7919 + 17);
  const rows = [];
  const dayStart = START + d * DAY;
  for (let i = 0; i < DEVICES; i++) {
    const account = accountOf(i);
    const device = numberOf(i);
    if (d === 0) rows.push([account, device, START - 1_000 - i, null, 'connected', 'connected']);
    const times = Array.from({ length: PER_DAY }, () => dayStart + Math.floor(random() * DAY)).sort(
      (a, b) => a - b,
    );
    // connected → disconnected → connected → not_connected → connected, each day.
    const steps = [
      ['connected', 'disconnected'],
      ['disconnected', 'connected'],
      ['connected', 'not_connected'],
      ['not_connected', 'connected'],
    ];
    const last = d === DAYS - 1;
    for (let k = 0; k < PER_DAY; k++) {
      let [from, to] = steps[k % steps.length];
      if (last && k === PER_DAY - 1 && isDeleted(i)) to = 'deleted';
      if (last && k === PER_DAY - 1 && endsDown(i)) to = 'not_connected';
      rows.push([account, device, times[k], from, to, to === 'deleted' ? null : to]);
    }
  }
  return rows.sort((a, b) => a[2] - b[2]);
}

/** The last status of device `i`, as the fill leaves it. */
function lastStatus(i) {
  if (isDeleted(i)) return 'not_connected';
  return endsDown(i) ? 'not_connected' : 'connected';
}

/** The daemon ran all along but for a minute every RESTART_EVERY_DAYS days. */
function runPeriods() {
  const runs = [];
  let start = START - DAY;
  for (let t = START + RESTART_EVERY_DAYS * DAY; t < NOW; t += RESTART_EVERY_DAYS * DAY) {
    runs.push([start, t]);
    start = t + 60_000;
  }
  runs.push([start, NOW]);
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Filling the stores.

/** The SQLite file at the base schema with the whole history, built once and cached. */
function sqliteBaseFile() {
  const cached = join(tmpdir(), `wgm-history-bench-${DEVICES}x${DAYS}d-v${SQLITE_BASE_VERSION}.db`);
  if (existsSync(cached)) return { file: cached, fillMs: null };
  const t0 = performance.now();
  const building = `${cached}.building`;
  rmSync(building, { force: true });
  const db = new Database(building);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  runMigrations(db, MIGRATIONS.slice(0, SQLITE_BASE_VERSION));
  // Indexes built once at the end rather than row by row.
  db.exec('DROP INDEX history_by_device; DROP INDEX history_by_time; DROP INDEX history_deleted;');
  const insert = db.prepare(
    'INSERT INTO history (account, device, at, from_status, to_status, raw) VALUES (?, ?, ?, ?, ?, ?)',
  );
  db.transaction(() => {
    for (let d = 0; d < DAYS; d++) for (const row of dayRows(d)) insert.run(...row);
  })();
  db.exec(`
    CREATE INDEX history_by_device ON history (account, device, at);
    CREATE INDEX history_by_time ON history (at);
    CREATE INDEX history_deleted ON history (account, device, at) WHERE to_status = 'deleted';`);
  db.pragma('journal_mode = WAL');
  db.close();
  execFileSync('mv', [building, cached]);
  return { file: cached, fillMs: performance.now() - t0 };
}

function deviceRows() {
  return Array.from({ length: DEVICES }, (_, i) => {
    const status = lastStatus(i);
    const state = {
      ...initialDeviceState(),
      status,
      statusRaw: status,
      statusSince: NOW - 3_600_000,
      lastCheckAt: NOW - 30_000,
      health: status === 'connected' ? 'UP' : 'DOWN',
      transitions: DAYS * PER_DAY,
    };
    return {
      account: accountOf(i),
      device: numberOf(i),
      status,
      statusRaw: status,
      health: state.health,
      statusSince: state.statusSince,
      lastCheckAt: state.lastCheckAt,
      probeError: null,
      transitions: state.transitions,
      state: { ...state, delivery: initialDeliveryState() },
    };
  });
}

async function prepareStore(store) {
  const rows = deviceRows();
  await store.saveDevices(rows.map((row) => ({ row, change: null })));
  await store.setMeta(RUNS_META_KEY, JSON.stringify(runPeriods()));
  return rows;
}

async function startPostgres() {
  const root = '/usr/lib/postgresql';
  const bin = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => join(root, v, 'bin'))[0]
    : undefined;
  if (bin === undefined) throw new Error(`no PostgreSQL under ${root}`);
  const user = {};
  if (process.getuid() === 0) {
    const fields = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'))
      ?.split(':');
    if (fields === undefined) throw new Error('running as root and no postgres user for initdb');
    user.uid = Number(fields[2]);
    user.gid = Number(fields[3]);
  }
  const dir = mkdtempSync(join(tmpdir(), 'wgm-bench-pg-'));
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid);
  const env = { ...process.env, LC_ALL: 'C', HOME: dir };
  execFileSync(
    join(bin, 'initdb'),
    ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
    { ...user, env, stdio: 'ignore' },
  );
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const server = spawn(
    join(bin, 'postgres'),
    [
      ...['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'],
      ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      ...['-c', 'shared_buffers=256MB', '-c', 'max_wal_size=4GB', '-c', 'lc_messages=C'],
    ],
    { ...user, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  await new Promise((resolve, reject) => {
    let log = '';
    server.stderr.setEncoding('utf8').on('data', (chunk) => {
      log += chunk;
      if (log.includes('ready to accept connections')) resolve();
    });
    server.once('exit', (code) => reject(new Error(`postgres exited ${code}: ${log}`)));
  });
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGINT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function fillPostgres(url) {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  try {
    await migratePostgres(pool, 'bench', PG_MIGRATIONS.slice(0, PG_BASE_VERSION));
    await pool.query('DROP INDEX history_by_device, history_by_time, history_deleted');
    for (let d = 0; d < DAYS; d++) {
      const rows = dayRows(d);
      await pool.query(
        `INSERT INTO history (account, device, at, from_status, to_status, raw)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])`,
        [0, 1, 2, 3, 4, 5].map((c) => rows.map((r) => r[c])),
      );
    }
    await pool.query(`
      CREATE INDEX history_by_device ON history (account, device, at);
      CREATE INDEX history_by_time ON history (at);
      CREATE INDEX history_deleted ON history (account, device, at) WHERE to_status = 'deleted';`);
    await pool.query('VACUUM ANALYZE history');
  } finally {
    await pool.end();
  }
}

// ---------------------------------------------------------------------------------------------
// What the daemon would hand the views.

/** What the views read of an AccountPoller (src/views/pages.test.ts fakes it the same way). */
function fakeFleet(rows) {
  const pollers = new Map();
  for (const row of rows) {
    let p = pollers.get(row.account);
    if (p === undefined) {
      const devices = new Map();
      const own = [];
      p = {
        name: row.account,
        devices,
        own,
        scheduler: { checkSoon: () => undefined, effectiveIntervalMs: 60_000 },
        config: { policy: { intervalMs: 60_000 }, rateLimitPerMinute: 30 },
        accountState: { reachable: true, lastError: null, failingSince: null },
        // The poller builds its rows afresh at each call.
        rows: () => own.map((r) => ({ ...r, state: { ...r.state } })),
      };
      pollers.set(row.account, p);
    }
    p.own.push(row);
    p.devices.set(row.device, {
      config: { number: row.device, name: `Device ${row.device}` },
      state: row.state,
      delivery: row.state.delivery,
    });
  }
  return { pollers, mutes: new Mutes() };
}

function auditConfig(rows) {
  const accounts = new Map();
  for (const r of rows) {
    const list = accounts.get(r.account) ?? [];
    list.push({ number: r.device, name: `Device ${r.device}`, policy: { intervalMs: 60_000 } });
    accounts.set(r.account, list);
  }
  return {
    timezone: TIME_ZONE,
    audit: { staleAfterMs: 14 * DAY, channels: [], schedule: null },
    accounts: [...accounts].map(([name, devices]) => ({ name, devices })),
  };
}

// ---------------------------------------------------------------------------------------------
// Measuring.

/** Runs `fn` `repeats` times: median and max wall time, longest event-loop block, RSS after. */
async function measure(fn, repeats = REPEATS) {
  const times = [];
  const cpus = [];
  let blockMs = 0;
  let value;
  for (let r = 0; r < repeats; r++) {
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    await sleep(5);
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    value = await fn();
    times.push(performance.now() - t0);
    const used = process.cpuUsage(cpu);
    cpus.push((used.user + used.system) / 1000);
    // The probe's next wake-up records a block that lasted to the end of `fn`.
    await sleep(20);
    loop.disable();
    blockMs = Math.max(blockMs, loop.max / 1e6);
  }
  times.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  return {
    ms: times[Math.floor(times.length / 2)],
    // Other processes on the machine stretch wall time; CPU time of this process says what it cost.
    cpuMs: cpus[Math.floor(cpus.length / 2)],
    maxMs: times.at(-1),
    blockMs,
    rssMB: process.memoryUsage().rss / 2 ** 20,
    value,
  };
}

async function runFigures(label, store, rows) {
  const fleet = fakeFleet(rows);
  const config = auditConfig(rows);
  const runs = runPeriods().map(([start, end]) => ({ start, end }));
  const handlers = fleetHandlers({
    fleet,
    store,
    clock: { now: () => NOW, monotonic: () => performance.now(), sleep: (ms) => sleep(ms) },
    config: () => config,
    runningPeriods: () => runs,
    canPoll: () => true,
  });
  const out = [];
  const add = (figure, m, goalMs, note = '') => out.push({ figure, ...m, goalMs, note });

  const data = await measure(() => handlers.statusPage());
  add('status page: data', data, null);
  const html = await measure(() =>
    renderStatusPageBytes(buildStatusView(data.value, { relinkAvailable: true }), 'nonce'),
  );
  add(
    'status page: HTML render',
    html,
    null,
    `in slices, as the server does: ${(html.value.length / 2 ** 20).toFixed(1)} MiB`,
  );
  const htmlAtOnce = await measure(() =>
    renderStatusPage(buildStatusView(data.value, { relinkAvailable: true }), 'nonce'),
  );
  add('status page: HTML render in one go', htmlAtOnce, null, 'for comparison');
  const page = await measure(async () =>
    renderStatusPage(buildStatusView(await handlers.statusPage(), { relinkAvailable: true }), 'nonce'),
  );
  add('status page: total', page, GOALS.statusPage, 'rendered in one go: for comparison');
  const pageAsync = await measure(async () =>
    renderStatusPageBytes(buildStatusView(await handlers.statusPage(), { relinkAvailable: true }), 'nonce'),
  );
  add(
    'status page: total, rows in slices',
    pageAsync,
    GOALS.statusPage,
    `renderStatusPageBytes, as the server sends it: ${(pageAsync.value.length / 2 ** 20).toFixed(1)} MiB`,
  );
  const api = await measure(async () => JSON.stringify(await handlers.devices()));
  add('/api/v1/devices', api, GOALS.devices, `${(api.value.length / 2 ** 20).toFixed(1)} MiB`);
  const hist = await measure(async () =>
    JSON.stringify(
      (await handlers.history(numberOf(4242), { since: null, limit: 1_000, cursor: null })).rows,
    ),
  );
  add('device history (API, no parameters)', hist, null, `${JSON.parse(hist.value).length} rows`);
  const auditText = await measure(
    async () =>
      renderAuditText(await auditFromStore(store, config, { now: NOW, since: NOW - 7 * DAY }), TIME_ZONE),
    2,
  );
  add('audit (7 d)', auditText, GOALS.audit);
  const auditJson = await measure(
    async () =>
      JSON.stringify(
        auditToJson(await auditFromStore(store, config, { now: NOW, since: NOW - 7 * DAY }), TIME_ZONE),
        null,
        2,
      ),
    2,
  );
  add('audit --json (7 d)', auditJson, GOALS.audit, `${(auditJson.value.length / 2 ** 20).toFixed(1)} MiB`);
  const auditDaemon = await measure(
    async () =>
      buildAuditMessageInSlices(
        await auditFromStore(store, config, { now: NOW, since: NOW - 7 * DAY }),
        TIME_ZONE,
      ),
    2,
  );
  add('scheduled audit (7 d, daemon)', auditDaemon, null, 'text, HTML and JSON, in slices');
  const audit90 = await measure(
    async () =>
      renderAuditText(await auditFromStore(store, config, { now: NOW, since: NOW - DAYS * DAY }), TIME_ZONE),
    1,
  );
  add(`audit --since ${DAYS}d`, audit90, null);
  const slices = [];
  const prune = await measure(() => store.prune(START + DAY, { onSlice: (x) => slices.push(x) }), 1);
  const slowest = slices.reduce((m, x) => Math.max(m, x.ms), 0);
  add(
    'retention prune of one day',
    prune,
    null,
    `${prune.value.history} rows in ${slices.length} slices, the longest ${slowest.toFixed(1)} ms`,
  );

  console.log(`\n${label}`);
  console.log(
    'figure                                 median ms    max ms    CPU ms   loop block ms   RSS MiB   goal',
  );
  for (const r of out) {
    const goal = [];
    if (r.goalMs !== null) goal.push(`< ${r.goalMs} ms${r.ms < r.goalMs ? ' ok' : ' MISSED'}`);
    const blockGoal = r.figure.startsWith('retention') ? GOALS.pruneSlice : GOALS.loopBlock;
    goal.push(`loop < ${blockGoal} ms${r.blockMs < blockGoal ? ' ok' : ' MISSED'}`);
    console.log(
      `${r.figure.padEnd(38)} ${r.ms.toFixed(1).padStart(9)} ${r.maxMs.toFixed(1).padStart(9)} ${r.cpuMs.toFixed(1).padStart(9)} ` +
        `${r.blockMs.toFixed(1).padStart(15)} ${r.rssMB.toFixed(0).padStart(9)}   ${goal.join(', ')}${
          r.note === '' ? '' : `  (${r.note})`
        }`,
    );
  }
  console.log(
    `peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} cores`,
  );
}

/** Each store's figures in a process of its own: its RSS and its garbage its own. */
function child(...args) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', ...args], {
      stdio: 'inherit',
    });
    c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args[0]} run exited ${code}`))));
  });
}

async function main() {
  console.log(
    `node ${process.version}; ${DEVICES} devices over ${ACCOUNTS} accounts, ${DAYS} days × ${PER_DAY} changes ` +
      `a day (${((DEVICES * (DAYS * PER_DAY + 1)) / 1e6).toFixed(2)} M history rows); the daemon restarted ` +
      `every ${RESTART_EVERY_DAYS} days; median of ${REPEATS} (audit 2, prune 1); each store in a process of its own`,
  );
  if (process.env.BENCH_SQLITE !== '0') {
    const base = sqliteBaseFile();
    console.log(
      base.fillMs === null
        ? `SQLite base file cached: ${base.file}`
        : `SQLite filled in ${(base.fillMs / 1000).toFixed(1)} s`,
    );
    await child('sqlite', base.file);
  }
  if (process.env.BENCH_PG !== '1') {
    console.log('\nPostgreSQL: not run (BENCH_PG=1 runs it on a throwaway cluster)');
    return;
  }
  const cluster = await startPostgres();
  try {
    const t0 = performance.now();
    await fillPostgres(cluster.url);
    console.log(`\nPostgreSQL filled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await child('pg', cluster.url);
  } finally {
    await cluster.stop();
  }
}

async function runSqlite(baseFile) {
  const dir = mkdtempSync(join(tmpdir(), 'wgm-history-bench-'));
  try {
    const file = join(dir, 'monitor.db');
    copyFileSync(baseFile, file);
    const t0 = performance.now();
    const store = openSqliteStore(file);
    console.log(
      `SQLite open (migrations from version ${SQLITE_BASE_VERSION} to ${MIGRATIONS.length}): ${(
        (performance.now() - t0) /
        1000
      ).toFixed(1)} s`,
    );
    const rows = await prepareStore(store);
    await runFigures('SQLite', store, rows);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runPostgres(url) {
  const t1 = performance.now();
  const store = await openPostgresStore(url);
  console.log(
    `PostgreSQL open (migrations from version ${PG_BASE_VERSION} to ${PG_MIGRATIONS.length}): ${(
      (performance.now() - t1) /
      1000
    ).toFixed(1)} s`,
  );
  // What autovacuum does soon after the migration wrote the table anew: without a visibility
  // map, index-only scans visit the table too.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('VACUUM ANALYZE history');
  await client.end();
  const rows = await prepareStore(store);
  await runFigures(
    'PostgreSQL (shared_buffers 256 MB, fsync off, same machine; history vacuumed)',
    store,
    rows,
  );
  await store.close();
}

const [, , flag, which, where] = process.argv;
if (flag === '--child') await (which === 'sqlite' ? runSqlite(where) : runPostgres(where));
else await main();
