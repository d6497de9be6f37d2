import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError } from './errors.js';
import { openSqliteStore } from './sqlite-store.js';
import { change, describeStoreContract, device, rejection, thrown } from './test-support/store-contract.js';

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

describeStoreContract('SqliteStore on :memory:', () => Promise.resolve(openSqliteStore(':memory:')));
describeStoreContract('SqliteStore on a file', () =>
  Promise.resolve(openSqliteStore(join(newDir(), 'monitor.db'))),
);

/** The StoreError that opening `file` gives; its message must be one line naming the file. */
function openError(file: string, options: Parameters<typeof openSqliteStore>[1] = {}): StoreError {
  const err = thrown(() => void openSqliteStore(file, options).close());
  expect(err).toBeInstanceOf(StoreError);
  const e = err as StoreError;
  expect(e.file).toBe(file);
  expect(e.message.startsWith(`cannot open ${file}: `)).toBe(true);
  expect(e.message).not.toContain('\n');
  expect(e.message).toContain(' — ');
  return e;
}

async function populatedFile(): Promise<string> {
  const file = join(newDir(), 'monitor.db');
  const store = openSqliteStore(file);
  await store.saveDevices(
    Array.from({ length: 3_000 }, (_, i) => ({
      row: device('main', String(i), { state: { pad: 'x'.repeat(200) } }),
      change: change('main', String(i), i),
    })),
  );
  await store.close();
  return file;
}

describe('SqliteStore on a file', () => {
  it('keeps its data across a close and a re-open', async () => {
    const file = join(newDir(), 'monitor.db');
    const first = openSqliteStore(file);
    await first.saveDevices([
      { row: device('main', '1', { state: { n: 1 } }), change: change('main', '1', 5) },
    ]);
    await first.saveAccount({ account: 'main', reachable: false, state: [1] });
    await first.addSilence({ account: null, device: '1', until: 99, reason: 'r', createdAt: 1 });
    await first.setMeta('k', 'v');
    await first.close();

    const again = openSqliteStore(file);
    expect(await again.getDevice('main', '1')).toEqual(device('main', '1', { state: { n: 1 } }));
    expect(await again.history('main', '1')).toEqual([change('main', '1', 5)]);
    expect(await again.getAccounts()).toEqual([{ account: 'main', reachable: false, state: [1] }]);
    expect(await again.activeSilences(0)).toHaveLength(1);
    expect(await again.getMeta('k')).toBe('v');
    await again.close();
  });

  it('puts the file in WAL mode', async () => {
    const file = join(newDir(), 'monitor.db');
    const store = openSqliteStore(file);
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    await store.close();
  });

  it('lets a read-only reader (the CLI) follow a writer (the daemon) on the same file', async () => {
    const file = join(newDir(), 'monitor.db');
    const daemon = openSqliteStore(file);
    const cli = openSqliteStore(file, { readonly: true });
    await daemon.saveDevices([{ row: device('main', '1'), change: null }]);
    expect(await cli.getDevices()).toHaveLength(1);
    await daemon.saveDevices([{ row: device('main', '2'), change: null }]);
    expect(await cli.getDevices()).toHaveLength(2);
    await cli.close();
    await daemon.close();
  });

  it('lets a second writer (CLI `silence`) write beside the daemon', async () => {
    const file = join(newDir(), 'monitor.db');
    const daemon = openSqliteStore(file);
    const cli = openSqliteStore(file);
    await cli.addSilence({ account: null, device: null, until: 10, reason: null, createdAt: 1 });
    await daemon.saveDevices([{ row: device('main', '1'), change: null }]);
    expect(await daemon.activeSilences(0)).toHaveLength(1);
    expect(await cli.getDevices()).toHaveLength(1);
    await cli.close();
    await daemon.close();
  });

  it('refuses writes when opened read-only', async () => {
    const file = join(newDir(), 'monitor.db');
    await openSqliteStore(file).close();
    const cli = openSqliteStore(file, { readonly: true });
    const err = await rejection(cli.setMeta('a', 'b'));
    expect(err).toMatchObject({ name: 'StoreError', reason: 'readonly', file });
    expect((err as Error).message).toBe(
      `cannot write to ${file}: the store was opened read-only, so it cannot write`,
    );
    await cli.close();
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
    async () => {
      const file = await populatedFile();
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

  it('a database locked by another process past the busy timeout', async () => {
    const file = await populatedFile();
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

  it('a transaction may wait less than the busy timeout for a lock, and leaves the timeout as it was', async () => {
    const file = await populatedFile();
    const store = openSqliteStore(file, { busyTimeoutMs: 400 });
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    let started = performance.now();
    const err = await rejection(store.transaction((tx) => tx.setMeta('k', 'v'), { busyTimeoutMs: 0 }));
    expect(performance.now() - started).toBeLessThan(300);
    expect(err).toMatchObject({ name: 'StoreError', reason: 'locked' });
    // The store's own timeout is back: a plain write waits it out before failing.
    started = performance.now();
    expect(await rejection(store.setMeta('k', 'v'))).toMatchObject({ reason: 'locked' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(350);
    other.exec('ROLLBACK');
    other.close();
    await store.transaction((tx) => tx.setMeta('k', 'v'), { busyTimeoutMs: 0 });
    expect(await store.getMeta('k')).toBe('v');
    await store.close();
  });

  it('a lock taken after opening: the write fails with a StoreError, the store stays usable', async () => {
    const file = await populatedFile();
    const store = openSqliteStore(file, { busyTimeoutMs: 50 });
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    const err = await rejection(store.saveDevices([{ row: device('main', 'x'), change: null }]));
    expect(err).toMatchObject({ name: 'StoreError', reason: 'locked' });
    expect((err as Error).message.startsWith(`cannot save devices to ${file}: `)).toBe(true);
    other.exec('ROLLBACK');
    other.close();
    await store.saveDevices([{ row: device('main', 'x'), change: null }]);
    expect(await store.getDevice('main', 'x')).not.toBeNull();
    await store.close();
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

  it('a truncated database', async () => {
    const file = await populatedFile();
    expect(existsSync(`${file}-wal`)).toBe(false);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const err = openError(file);
    expect(err.reason).toBe('corrupt');
    expect(err.message).toContain('move it aside to start fresh');
    expect(err.cause).toMatchObject({ code: expect.stringMatching(/^SQLITE_CORRUPT/) });
  });

  it('a database truncated inside its first page', async () => {
    const file = await populatedFile();
    truncateSync(file, 1000);
    expect(openError(file).reason).toBe('corrupt');
  });
});
