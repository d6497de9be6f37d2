import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Receiver } from '../src/notify/test-support/http-receiver.js';
import type { Simulator } from '../src/simulator/server.js';
import { writeMonitorConfig, webhookNotify } from './support/monitor-config.js';
import { testScope } from './support/scope.js';
import type { DaemonProcess } from './support/daemon.js';
import { type LogLine } from './support/daemon.js';
import { eventually } from './support/ports.js';

// The real daemon when its database refuses writes (issue 11, data loss 1): a lock held by
// another process past the busy timeout (an operator's VACUUM), and a small state_dir whose WAL
// took the last byte. Nothing decided meanwhile may be lost: once the database takes writes
// again, the DOWN is delivered exactly once and its history row carries the original time.
// /readyz says why it is not ready while writes fail; the metrics say so too.

const TOKEN = 'store-fault-token';
const ENV = { WG_TOKEN: TOKEN };

const scope = testScope();

const simulator = (first: string, devices: number): Promise<Simulator> =>
  scope.simulator({ devices, first, token: TOKEN, rateLimitPerMinute: 0 });

const receiver = (): Promise<Receiver> => scope.receiver();

const startDaemon = (configPath: string): DaemonProcess => scope.daemon(configPath, ENV);

function config(
  dir: string,
  stateDir: string,
  sim: Simulator,
  devices: readonly string[],
  hook: string,
): string {
  return writeMonitorConfig(dir, {
    stateDir,
    baseUrl: sim.baseUrl,
    rateLimit: '6000/min',
    devices: devices.map((d) => `{ number: "${d}", name: Phone ${d} }`),
    rest: webhookNotify(hook),
  });
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function metrics(base: string): Promise<{ writable?: number; errors?: number }> {
  const { body } = await get(`${base}/metrics`);
  const writable = metric(body, 'whatsgate_monitor_store_writable');
  const errors = metric(body, 'whatsgate_monitor_store_errors_total');
  return { ...(writable === undefined ? {} : { writable }), ...(errors === undefined ? {} : { errors }) };
}

interface HistoryRecord {
  at: number;
  from_status: string | null;
  to_status: string;
}

function historyOf(dbFile: string, device: string): HistoryRecord[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare<[string], HistoryRecord>(
        'SELECT at, from_status, to_status FROM history WHERE device = ? ORDER BY at, id',
      )
      .all(device);
  } finally {
    db.close();
  }
}

function eventTypes(r: Receiver): string[] {
  return r.requests.flatMap((req) =>
    (JSON.parse(req.body) as { events: { type: string }[] }).events.map((e) => e.type),
  );
}

const checked = (device: string) => (l: LogLine) => l.msg === 'checked' && l['device'] === device;
const storeFailing = (l: LogLine) =>
  l.msg === 'cannot write the poll results; holding them and retrying at every tick';
const storeRecovered = (l: LogLine) =>
  l.msg === 'the store is writable again: wrote the held poll results late';

describe('the daemon when its database refuses writes', () => {
  it('holds a DOWN decided while another process locks the database and delivers it once after', async () => {
    const target = '491700001';
    const sim = await simulator('491700000', 2);
    const hook = await receiver();
    const dir = scope.dir('wgm-store-lock-');
    const daemon = startDaemon(config(dir, join(dir, 'state'), sim, ['491700000', target], hook.url));
    const base = await daemon.url();
    await daemon.waitFor(checked(target), 'a first check');
    await eventually('ready', async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined));
    expect(await metrics(base)).toEqual({ writable: 1, errors: 0 });

    // An operator's VACUUM, in effect: another connection holds the write lock for longer than
    // the daemon's busy timeout (5 s).
    const dbFile = join(dir, 'state', 'monitor.db');
    const locker = new Database(dbFile, { timeout: 10_000 });
    let locked = true;
    const release = (): void => {
      if (!locked) return;
      locked = false;
      locker.exec('COMMIT');
      locker.close();
    };
    scope.defer(release);
    locker.exec('BEGIN EXCLUSIVE');
    const lockedAt = Date.now();
    const from = daemon.lines.length;
    sim.setStatus(target, 'disconnected');
    await daemon.waitFor(
      (l) => l.msg === 'device.down' && l['device'] === target,
      'the DOWN decided',
      30_000,
      from,
    );
    const failing = await daemon.waitFor(storeFailing, 'the store failure logged', 30_000, from);
    expect(failing).toMatchObject({ level: 'error', reason: 'locked' });

    const notReady = await eventually(
      '/readyz 503',
      async () => {
        const r = await get(`${base}/readyz`);
        return r.status === 503 ? r : undefined;
      },
      30_000,
    );
    expect(notReady.body).toMatch(/^not ready: the database refuses writes .*locked by another process.*\n$/);
    expect(notReady.body.trim().split('\n')).toHaveLength(1);
    const during = await metrics(base);
    expect(during.writable).toBe(0);
    expect(during.errors).toBeGreaterThanOrEqual(1);
    // Retries do not wait the 5 s busy timeout again: scrapes stay prompt while the lock holds
    // (they took 4.8 s each when every tick waited it out).
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await get(`${base}/metrics`);
      expect(performance.now() - started).toBeLessThan(2_500);
    }
    // Monitoring goes on: the other device is still checked while writes fail.
    await daemon.waitFor(checked('491700000'), 'checks go on', 30_000, daemon.lines.length);
    expect(hook.requests).toHaveLength(0);

    release();
    const releasedAt = Date.now();
    const recovered = await daemon.waitFor(storeRecovered, 'the recovery logged', 30_000, from);
    expect(recovered['level']).toBe('info');
    expect(recovered['alerts']).toBeGreaterThanOrEqual(1);
    // One error line for the whole outage, not one per tick.
    expect(daemon.lines.slice(from).filter(storeFailing)).toHaveLength(1);

    const down = await hook.request(1);
    const events = (JSON.parse(down.body) as { events: { type: string; device: { number: string } }[] })
      .events;
    expect(events.map((e) => [e.type, e.device.number])).toEqual([['device.down', target]]);
    await eventually('ready again', async () =>
      (await get(`${base}/readyz`)).status === 200 ? true : undefined,
    );
    expect((await metrics(base)).writable).toBe(1);

    // The history row was decided while locked and written with that time, once.
    const drops = historyOf(dbFile, target).filter((h) => h.to_status === 'disconnected');
    expect(drops).toHaveLength(1);
    expect(drops[0]!.at).toBeGreaterThanOrEqual(lockedAt);
    expect(drops[0]!.at).toBeLessThan(releasedAt);

    // A later message on the same channel: a duplicate DOWN would have gone out before it.
    sim.setStatus(target, 'connected');
    await hook.request(2);
    expect(eventTypes(hook)).toEqual(['device.down', 'device.up']);
  }, 90_000);

  it('starts, serves and recovers when a small state_dir is full of WAL at start-up', async (ctx) => {
    const target = '491800001';
    const sim = await simulator('491800000', 2);
    const hook = await receiver();
    const dir = scope.dir('wgm-store-full-');
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', stateDir], { stdio: 'pipe' });
    } catch (err) {
      ctx.skip(`cannot mount a 512 KiB tmpfs here (needs root): ${String(err).split('\n')[0]}`);
    }
    scope.defer(() => {
      execFileSync('umount', ['-l', stateDir], { stdio: 'pipe' });
    });
    const configPath = config(dir, stateDir, sim, ['491800000', target], hook.url);

    const first = startDaemon(configPath);
    await first.waitFor(checked(target), 'a first check');
    first.kill('SIGKILL');
    await first.exited;

    // The WAL takes the last byte of the file system; it cannot be checkpointed into the
    // database, which would have to grow. The history a long run leaves (rows of a device no
    // longer configured) gives start-up's ANALYZE something to write: that failed the open with
    // SQLITE_FULL, so the service exited 1 at every restart.
    const dbFile = join(stateDir, 'monitor.db');
    const filler = new Database(dbFile);
    filler.pragma('wal_autocheckpoint = 0');
    const fill = filler.prepare(
      "INSERT INTO history (account, device, at, from_status, to_status, raw) VALUES ('main', '491899999', ?, 'connected', 'disconnected', 'x')",
    );
    // Row by row: the schema's own size varies between versions, so the file system may fill
    // up before the 3,000 rows are in; that is fine, the checkpoint and the refill follow.
    const fillUntilFull = (from: number, to: number): unknown => {
      for (let i = from; i < to; i++) {
        try {
          fill.run(i);
        } catch (err) {
          return (err as { code?: unknown }).code;
        }
      }
      return null;
    };
    fillUntilFull(0, 3000);
    try {
      filler.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Already too full to checkpoint: all the better.
    }
    const code = fillUntilFull(3000, Number.POSITIVE_INFINITY);
    expect(code).toBe('SQLITE_FULL');
    filler.close();

    const second = startDaemon(configPath);
    const base = await second.url();
    expect((await get(`${base}/healthz`)).status).toBe(200);
    const failing = await second.waitFor(storeFailing, 'the store failure logged');
    expect(failing['reason']).toBe('disk_full');
    const notReady = await eventually('/readyz 503', async () => {
      const r = await get(`${base}/readyz`);
      return r.status === 503 ? r : undefined;
    });
    expect(notReady.body).toMatch(/^not ready: the database refuses writes .*disk is full/);
    expect((await metrics(base)).writable).toBe(0);

    const from = second.lines.length;
    sim.setStatus(target, 'disconnected');
    await second.waitFor(
      (l) => l.msg === 'device.down' && l['device'] === target,
      'the DOWN decided',
      30_000,
      from,
    );
    const decidedBy = Date.now();

    // The operator gives the state_dir room: the held results go in, the DOWN goes out.
    execFileSync('mount', ['-o', 'remount,size=8m', stateDir], { stdio: 'pipe' });
    await second.waitFor(storeRecovered, 'the recovery logged', 30_000, from);
    await hook.request(1);
    expect(eventTypes(hook)).toEqual(['device.down']);
    await eventually('ready', async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined));
    expect((await metrics(base)).writable).toBe(1);
    const drops = historyOf(dbFile, target).filter((h) => h.to_status === 'disconnected');
    expect(drops).toHaveLength(1);
    expect(drops[0]!.at).toBeLessThanOrEqual(decidedBy);
    expect(second.child.exitCode).toBeNull();
  }, 90_000);
});
