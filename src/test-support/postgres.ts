// A throwaway PostgreSQL for tests: Debian's `postgresql` (installed by .ci/run), `initdb` into a
// fresh temp dir, its own port on 127.0.0.1, its unix socket in that dir, fsync off. No mocks.
//
// initdb refuses to run as root, so as root (CI, containers) the cluster belongs to the
// unprivileged `postgres` user Debian's package creates; otherwise to the current user. The
// server runs under a small sh wrapper that holds our stdin: when this process ends — stop(), or
// a test worker that died — the pipe closes, the wrapper stops the server and deletes the dir,
// so no cluster outlives its test file.
//
// One cluster per test file (`describeWithPostgres`): vitest runs files in parallel forks, and a
// cluster starts in about a second (initdb most of it). Tests skip when the binaries are missing,
// and fail in CI (CI set), where a skip would hide that the HA store was never tested.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';

/** Debian's layout: /usr/lib/postgresql/<major>/bin. `POSTGRES_BIN` overrides. */
const DEBIAN_ROOT = '/usr/lib/postgresql';

/** The bin dir of the newest PostgreSQL installed, or undefined. */
export function findPostgresBin(): string | undefined {
  const override = process.env['POSTGRES_BIN'];
  if (override !== undefined && override !== '') {
    return existsSync(join(override, 'initdb')) ? override : undefined;
  }
  let versions: string[];
  try {
    versions = readdirSync(DEBIAN_ROOT);
  } catch {
    return undefined;
  }
  return versions
    .filter((v) => /^\d+(?:\.\d+)?$/.test(v) && existsSync(join(DEBIAN_ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(DEBIAN_ROOT, v, 'bin'))[0];
}

export const POSTGRES_MISSING_REASON = `PostgreSQL not found (${DEBIAN_ROOT}/<version>/bin/initdb, or set POSTGRES_BIN) — apt install postgresql`;

export interface TestCluster {
  readonly host: string;
  readonly port: number;
  /** The superuser's password (scram-sha-256 over TCP): tests check it never leaks. */
  readonly password: string;
  /** How long initdb plus the server's start took, for the record. */
  readonly startupMs: number;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/<database>`. */
  url(database: string): string;
  /** A new empty database; returns its name. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server and deletes its files. Idempotent. */
  stop(): Promise<void>;
}

interface RunAs {
  readonly uid?: number;
  readonly gid?: number;
}

/** As root: the `postgres` user's ids (initdb refuses root). Otherwise: ourselves. */
function runAs(): RunAs {
  if (process.getuid?.() !== 0) return {};
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const fields = line?.split(':');
  if (fields === undefined || fields.length < 4) {
    throw new Error(
      'running as root, and there is no `postgres` user to run initdb as (apt install postgresql creates it)',
    );
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// $1 the postgres binary, $2 the dir to delete at the end, then postgres' arguments. A
// background list's stdin is /dev/null unless redirected, hence fd 3.
const WRAPPER = `
pg="$1"; dir="$2"; shift 2
exec 3<&0
"$pg" "$@" </dev/null &
server=$!
{ read -r _ <&3; kill -QUIT "$server" 2>/dev/null; } &
watcher=$!
wait "$server"
kill "$watcher" 2>/dev/null
rm -rf "$dir"
`;

const READY = 'database system is ready to accept connections';
const START_DEADLINE_MS = 30_000;
const STOP_DEADLINE_MS = 15_000;

/** Starts a cluster (initdb, then the server); rejects with the server's own log when it cannot. */
export async function startPostgres(bin = findPostgresBin()): Promise<TestCluster> {
  if (bin === undefined) throw new Error(POSTGRES_MISSING_REASON);
  const started = performance.now();
  const user = runAs();
  const password = randomBytes(18).toString('base64url');
  // Another process may take the free port before the server binds it: a few tries, each from
  // a fresh initdb (a server that exited took its dir with it).
  for (let attempt = 1; ; attempt++) {
    const dir = initdb(bin, user, password);
    const port = await freePort();
    try {
      const server = await runServer(bin, dir, port, user);
      return cluster(server, port, password, performance.now() - started);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      if (!(err instanceof PortTaken) || attempt === 3) throw err;
    }
  }
}

/** A new cluster in a new temp dir owned by `user`; returns the dir (the data is in `data/`). */
function initdb(bin: string, user: RunAs, password: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wgm-pg-'));
  try {
    if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (user.uid !== undefined) chownSync(pwfile, user.uid, user.gid!);
    execFileSync(
      join(bin, 'initdb'),
      [
        ...['-D', join(dir, 'data'), '-U', 'postgres', `--pwfile=${pwfile}`],
        ...['--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-locale'],
        '--no-sync',
      ],
      { ...user, env: { ...process.env, LC_ALL: 'C', HOME: dir }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return dir;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`initdb failed${stderr ? `: ${stderr}` : ''}`, { cause: err });
  }
}

class PortTaken extends Error {}

/** Spawns the server in its wrapper; resolves once it accepts connections (its log says so). */
function runServer(bin: string, dir: string, port: number, user: RunAs): Promise<ChildProcess> {
  const args = [
    ...['-D', join(dir, 'data'), '-p', String(port), '-k', dir],
    ...['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off'],
    ...['-c', 'full_page_writes=off', '-c', 'autovacuum=off', '-c', 'shared_buffers=32MB'],
    ...['-c', 'lc_messages=C', '-c', 'max_connections=200'],
  ];
  const child = spawn('sh', ['-c', WRAPPER, 'sh', join(bin, 'postgres'), dir, ...args], {
    ...user,
    env: { ...process.env, LC_ALL: 'C', HOME: dir },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let log = '';
    const fail = (err: Error): void => {
      clearTimeout(deadline);
      child.stdin?.end();
      reject(err);
    };
    const deadline = setTimeout(
      () => fail(new Error(`PostgreSQL did not start within ${START_DEADLINE_MS} ms:\n${log}`)),
      START_DEADLINE_MS,
    );
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk;
      if (log.includes(READY)) {
        clearTimeout(deadline);
        child.stderr.removeAllListeners('data');
        child.stderr.resume();
        resolve(child);
      }
    });
    child.once('error', fail);
    child.once('exit', (code) => {
      const what = `PostgreSQL exited (${code}) before it was ready:\n${log}`;
      fail(/could not bind|Address already in use/.test(log) ? new PortTaken(what) : new Error(what));
    });
  });
}

function cluster(server: ChildProcess, port: number, password: string, startupMs: number): TestCluster {
  const host = '127.0.0.1';
  const url = (database: string) =>
    `postgres://postgres:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
  let stopped: Promise<void> | undefined;
  return {
    host,
    port,
    password,
    startupMs,
    url,
    async createDatabase(name = `t_${randomBytes(6).toString('hex')}`) {
      const client = new Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      } finally {
        await client.end();
      }
      return name;
    },
    stop() {
      stopped ??= new Promise<void>((resolve, reject) => {
        if (server.exitCode !== null || server.signalCode !== null) {
          resolve();
          return;
        }
        const deadline = setTimeout(
          () => reject(new Error(`PostgreSQL did not stop within ${STOP_DEADLINE_MS} ms`)),
          STOP_DEADLINE_MS,
        );
        server.once('exit', () => {
          clearTimeout(deadline);
          resolve();
        });
        server.stdin!.end();
      });
      return stopped;
    },
  };
}

export interface TestDatabase {
  readonly cluster: TestCluster;
  /** This file's database. */
  readonly url: string;
  readonly name: string;
}

/**
 * A describe block with a cluster of its own and one database in it, started before its tests
 * and stopped after. `db()` gives them while the tests run. Without PostgreSQL: skipped, or
 * failed when CI is set.
 */
export function describeWithPostgres(name: string, body: (db: () => TestDatabase) => void): void {
  const bin = findPostgresBin();
  if (bin === undefined) {
    if (process.env['CI']) {
      describe(name, () => {
        it('needs PostgreSQL (required when CI is set)', () => {
          throw new Error(`${POSTGRES_MISSING_REASON}; .ci/run installs Debian's postgresql`);
        });
      });
    } else {
      describe.skip(`${name} [skipped: ${POSTGRES_MISSING_REASON}]`, () => body(() => unreachable()));
    }
    return;
  }
  describe(name, () => {
    let current: TestDatabase | undefined;
    beforeAll(async () => {
      const cluster = await startPostgres(bin);
      try {
        const database = await cluster.createDatabase();
        current = { cluster, url: cluster.url(database), name: database };
      } catch (err) {
        await cluster.stop();
        throw err;
      }
    });
    afterAll(async () => {
      await current?.cluster.stop();
    });
    body(() => current ?? unreachable());
  });
}

function unreachable(): never {
  throw new Error('the test PostgreSQL is not running (its beforeAll failed)');
}
