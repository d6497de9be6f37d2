import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError } from './errors.js';
import { openSqliteStore } from './sqlite-store.js';
import { change, describeStoreContract, device, thrown } from './test-support/store-contract.js';

const dirs: string[] = [];
function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wgm-store-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
});

const isRoot = process.getuid?.() === 0;

describeStoreContract('SqliteStore on :memory:', () => openSqliteStore(':memory:'));
describeStoreContract('SqliteStore on a file', () => openSqliteStore(join(newDir(), 'monitor.db')));

/** The StoreError that opening `file` gives; its message must be one line naming the file. */
function openError(file: string, options: Parameters<typeof openSqliteStore>[1] = {}): StoreError {
  const err = thrown(() => openSqliteStore(file, options).close());
  expect(err).toBeInstanceOf(StoreError);
  const e = err as StoreError;
  expect(e.file).toBe(file);
  expect(e.message.startsWith(`cannot open ${file}: `)).toBe(true);
  expect(e.message).not.toContain('\n');
  expect(e.message).toContain(' — ');
  return e;
}

function populatedFile(): string {
  const file = join(newDir(), 'monitor.db');
  const store = openSqliteStore(file);
  store.saveDevices(
    Array.from({ length: 3_000 }, (_, i) => ({
      row: device('main', String(i), { state: { pad: 'x'.repeat(200) } }),
      change: change('main', String(i), i),
    })),
  );
  store.close();
  return file;
}

describe('SqliteStore on a file', () => {
  it('keeps its data across a close and a re-open', () => {
    const file = join(newDir(), 'monitor.db');
    const first = openSqliteStore(file);
    first.saveDevices([{ row: device('main', '1', { state: { n: 1 } }), change: change('main', '1', 5) }]);
    first.saveAccount({ account: 'main', reachable: false, state: [1] });
    first.addSilence({ account: null, device: '1', until: 99, reason: 'r', createdAt: 1 });
    first.setMeta('k', 'v');
    first.close();

    const again = openSqliteStore(file);
    expect(again.getDevice('main', '1')).toEqual(device('main', '1', { state: { n: 1 } }));
    expect(again.history('main', '1')).toEqual([change('main', '1', 5)]);
    expect(again.getAccounts()).toEqual([{ account: 'main', reachable: false, state: [1] }]);
    expect(again.activeSilences(0)).toHaveLength(1);
    expect(again.getMeta('k')).toBe('v');
    again.close();
  });

  it('puts the file in WAL mode', () => {
    const file = join(newDir(), 'monitor.db');
    const store = openSqliteStore(file);
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    store.close();
  });

  it('lets a read-only reader (the CLI) follow a writer (the daemon) on the same file', () => {
    const file = join(newDir(), 'monitor.db');
    const daemon = openSqliteStore(file);
    const cli = openSqliteStore(file, { readonly: true });
    daemon.saveDevices([{ row: device('main', '1'), change: null }]);
    expect(cli.getDevices()).toHaveLength(1);
    daemon.saveDevices([{ row: device('main', '2'), change: null }]);
    expect(cli.getDevices()).toHaveLength(2);
    cli.close();
    daemon.close();
  });

  it('lets a second writer (CLI `silence`) write beside the daemon', () => {
    const file = join(newDir(), 'monitor.db');
    const daemon = openSqliteStore(file);
    const cli = openSqliteStore(file);
    cli.addSilence({ account: null, device: null, until: 10, reason: null, createdAt: 1 });
    daemon.saveDevices([{ row: device('main', '1'), change: null }]);
    expect(daemon.activeSilences(0)).toHaveLength(1);
    expect(cli.getDevices()).toHaveLength(1);
    cli.close();
    daemon.close();
  });

  it('refuses writes when opened read-only', () => {
    const file = join(newDir(), 'monitor.db');
    openSqliteStore(file).close();
    const cli = openSqliteStore(file, { readonly: true });
    const err = thrown(() => cli.setMeta('a', 'b'));
    expect(err).toMatchObject({ name: 'StoreError', reason: 'readonly', file });
    expect((err as Error).message).toBe(
      `cannot write to ${file}: the store was opened read-only, so it cannot write`,
    );
    cli.close();
  });
});

describe('openSqliteStore errors', () => {
  it('a missing directory', () => {
    const file = join(newDir(), 'nope', 'monitor.db');
    const err = openError(file);
    expect(err.reason).toBe('missing_dir');
    expect(err.message).toContain('does not exist — create it');
  });

  it('a parent path that is a file', () => {
    const parent = join(newDir(), 'plain');
    writeFileSync(parent, '');
    expect(openError(join(parent, 'monitor.db')).reason).toBe('missing_dir');
  });

  it('a missing file, opened read-only (a CLI before the daemon ever ran): not created', () => {
    const file = join(newDir(), 'monitor.db');
    const err = openError(file, { readonly: true });
    expect(err.reason).toBe('missing_file');
    expect(existsSync(file)).toBe(false);
  });

  it.skipIf(isRoot)(
    'a read-only file (chmod 0444) opened for writing [skipped as root: chmod does not stop root]',
    () => {
      const file = populatedFile();
      chmodSync(file, 0o444);
      const err = openError(file);
      expect(err.reason).toBe('readonly');
      expect(err.message).toContain('read-only');
    },
  );

  it.skipIf(isRoot)('a directory that is not writable [skipped as root: chmod does not stop root]', () => {
    const dir = newDir();
    chmodSync(dir, 0o555);
    expect(openError(join(dir, 'monitor.db')).reason).toBe('permission');
  });

  it('a database locked by another process past the busy timeout', () => {
    const file = populatedFile();
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    try {
      const err = openError(file, { busyTimeoutMs: 50 });
      expect(err.reason).toBe('locked');
      expect(err.message).toContain('locked by another process');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });

  it('a transaction may wait less than the busy timeout for a lock, and leaves the timeout as it was', () => {
    const file = populatedFile();
    const store = openSqliteStore(file, { busyTimeoutMs: 3000 });
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    const started = performance.now();
    const err = thrown(() => store.transaction(() => store.setMeta('k', 'v'), { busyTimeoutMs: 0 }));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(err).toMatchObject({ name: 'StoreError', reason: 'locked' });
    expect(store.connection.pragma('busy_timeout', { simple: true })).toBe(3000);
    other.exec('ROLLBACK');
    other.close();
    store.transaction(() => store.setMeta('k', 'v'), { busyTimeoutMs: 0 });
    expect(store.getMeta('k')).toBe('v');
    expect(store.connection.pragma('busy_timeout', { simple: true })).toBe(3000);
    store.close();
  });

  it('a lock taken after opening: the write fails with a StoreError, the store stays usable', () => {
    const file = populatedFile();
    const store = openSqliteStore(file, { busyTimeoutMs: 50 });
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    const err = thrown(() => store.saveDevices([{ row: device('main', 'x'), change: null }]));
    expect(err).toMatchObject({ name: 'StoreError', reason: 'locked' });
    expect((err as Error).message.startsWith(`cannot save devices to ${file}: `)).toBe(true);
    other.exec('ROLLBACK');
    other.close();
    store.saveDevices([{ row: device('main', 'x'), change: null }]);
    expect(store.getDevice('main', 'x')).not.toBeNull();
    store.close();
  });

  it('a file of random bytes', () => {
    const file = join(newDir(), 'monitor.db');
    const bytes = randomBytes(64 * 1024);
    bytes.write('garbage', 0);
    writeFileSync(file, bytes);
    const err = openError(file);
    expect(err.reason).toBe('corrupt');
    expect(err.message).toBe(
      `cannot open ${file}: the file is not a SQLite database (corrupt?) — move it aside to start fresh`,
    );
    expect(openError(file, { readonly: true }).reason).toBe('corrupt');
  });

  it('a truncated database', () => {
    const file = populatedFile();
    expect(existsSync(`${file}-wal`)).toBe(false);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const err = openError(file);
    expect(err.reason).toBe('corrupt');
    expect(err.message).toContain('move it aside to start fresh');
    expect(err.cause).toMatchObject({ code: expect.stringMatching(/^SQLITE_CORRUPT/) });
  });

  it('a database truncated inside its first page', () => {
    const file = populatedFile();
    truncateSync(file, 1000);
    expect(openError(file).reason).toBe('corrupt');
  });
});
