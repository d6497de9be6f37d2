import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeWithPostgres } from '../test-support/postgres.js';
import { isHaStore } from './lease.js';
import { dbPathIn, describeLocation, sqliteIn, type StoreLocation } from './location.js';
import { openStore } from './open.js';
import { rejection } from './test-support/store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'wgm-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openStore on SQLite', () => {
  it('opens (creating) the file in state_dir; a reader opens it read-only', async () => {
    const location = sqliteIn(dir);
    expect(location).toEqual({ kind: 'sqlite', file: dbPathIn(dir) });
    const store = await openStore(location);
    expect(isHaStore(store)).toBe(false);
    await store.setMeta('k', 'v');
    await store.close();
    const reader = await openStore(location, { readonly: true });
    expect(await reader.getMeta('k')).toBe('v');
    await expect(reader.setMeta('k', 'w')).rejects.toMatchObject({ reason: 'readonly' });
    await reader.close();
  });

  it('a reader of a file the daemon never created: missing_file, as before', async () => {
    const err = await rejection(
      openStore({ kind: 'sqlite', file: join(dir, 'none.db') }, { readonly: true }),
    );
    expect(err).toMatchObject({ name: 'StoreError', reason: 'missing_file' });
  });
});

describe('describeLocation', () => {
  it.each<[StoreLocation, string]>([
    [
      { kind: 'sqlite', file: '/var/lib/whatsgate-monitor/monitor.db' },
      '/var/lib/whatsgate-monitor/monitor.db',
    ],
    [
      { kind: 'postgres', url: 'postgres://monitor:s3cr3t-pw@db.example.com:6432/wgm?sslmode=require' },
      'db.example.com:6432/wgm',
    ],
    [{ kind: 'postgres', url: 'postgresql://monitor@db.example.com/wgm' }, 'db.example.com:5432/wgm'],
    [{ kind: 'postgres', url: 'postgres:///wgm?host=/run/postgresql' }, '/run/postgresql:5432/wgm'],
    [{ kind: 'postgres', url: 'postgres://monitor:pw@[::1]:5433/' }, '[::1]:5433/monitor'],
    [{ kind: 'postgres', url: 'postgres://monitor:s3cr3t-pw@db:5432/w%20gm' }, 'db:5432/w gm'],
    [{ kind: 'postgres', url: 'not a url s3cr3t-pw' }, '(an unparsable PostgreSQL URL)'],
  ])('%j → %s', (location, shown) => {
    expect(describeLocation(location)).toBe(shown);
  });
});

describeWithPostgres('openStore on PostgreSQL', (db) => {
  it('opens an HaStore; a reader refuses a database never set up', async () => {
    const url = db().cluster.url(await db().cluster.createDatabase());
    await expect(openStore({ kind: 'postgres', url }, { readonly: true })).rejects.toMatchObject({
      reason: 'missing_file',
    });
    const store = await openStore({ kind: 'postgres', url });
    expect(isHaStore(store)).toBe(true);
    await store.setMeta('k', 'v');
    await store.close();
    const reader = await openStore({ kind: 'postgres', url }, { readonly: true });
    expect(await reader.getMeta('k')).toBe('v');
    await expect(reader.setMeta('k', 'w')).rejects.toMatchObject({ reason: 'readonly' });
    await expect(reader.transaction((tx) => tx.outbox.enqueue([]))).resolves.toBeUndefined();
    await expect(reader.transaction((tx) => tx.setMeta('k', 'w'))).rejects.toMatchObject({
      reason: 'readonly',
    });
    expect(await reader.getMeta('k')).toBe('v');
    await reader.close();
  });
});
