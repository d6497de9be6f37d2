import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError } from './errors.js';
import { APPLICATION_ID, MIGRATIONS, runMigrations, SCHEMA_VERSION, userVersion } from './migrations.js';
import type { Migration } from './migrations.js';
import { openSqliteStore } from './sqlite-store.js';
import { device, thrown } from './test-support/store-contract.js';

const dirs: string[] = [];
function newFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wgm-migrations-'));
  dirs.push(dir);
  return join(dir, 'monitor.db');
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function inspect<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function tables(db: Database.Database): string[] {
  return db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all()
    .map((r) => r.name);
}

function openError(file: string, options: { readonly?: boolean } = {}): StoreError {
  const err = thrown(() => void openSqliteStore(file, options).close());
  expect(err).toBeInstanceOf(StoreError);
  expect((err as Error).message).not.toContain('\n');
  return err as StoreError;
}

describe('schema migrations', () => {
  it('a fresh database gets the whole schema, the current user_version and our application_id', async () => {
    const file = newFile();
    await openSqliteStore(file).close();
    inspect(file, (db) => {
      expect(userVersion(db)).toBe(SCHEMA_VERSION);
      expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
      expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
      expect(tables(db)).toEqual([
        'accounts',
        'alertmanager_firing',
        'api_calls',
        'delivery_problems',
        'devices',
        'history',
        'meta',
        'outbox',
        'silences',
      ]);
    });
  });

  it('an empty (0-byte) file is initialised like a new one', async () => {
    const file = newFile();
    writeFileSync(file, '');
    await openSqliteStore(file).close();
    inspect(file, (db) => expect(userVersion(db)).toBe(SCHEMA_VERSION));
  });

  it('re-opening keeps the data and the user_version, and runs nothing', async () => {
    const file = newFile();
    const store = openSqliteStore(file);
    await store.saveDevices([{ row: device('main', '1'), change: null }]);
    await store.close();
    inspect(file, (db) => expect(runMigrations(db)).toBe(0));
    const again = openSqliteStore(file);
    expect(await again.getDevices()).toHaveLength(1);
    await again.close();
    inspect(file, (db) => expect(userVersion(db)).toBe(SCHEMA_VERSION));
  });

  it('a database from a newer version is refused, for writing and for reading, and left alone', async () => {
    const file = newFile();
    await openSqliteStore(file).close();
    inspect(file, (db) => db.pragma(`user_version = ${SCHEMA_VERSION + 5}`));
    for (const readonly of [false, true]) {
      const err = openError(file, { readonly });
      expect(err.reason).toBe('too_new');
      expect(err.message).toContain(`schema version ${SCHEMA_VERSION + 5}, newer than this build knows`);
      expect(err.message).toContain('upgrade');
    }
    inspect(file, (db) => expect(userVersion(db)).toBe(SCHEMA_VERSION + 5));
  });

  it('a reader refuses a database older than the code, and leaves the upgrade to a writer', async () => {
    const file = newFile();
    new Database(file).close();
    expect(openError(file, { readonly: true }).reason).toBe('too_old');
    await openSqliteStore(file).close();
    await openSqliteStore(file, { readonly: true }).close();
  });

  it('refuses a SQLite database of another application (tables, user_version 0)', () => {
    const file = newFile();
    inspect(file, (db) => db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)'));
    const err = openError(file);
    expect(err.reason).toBe('not_ours');
    inspect(file, (db) => expect(tables(db)).toEqual(['invoices']));
  });

  it.each([
    [
      'tables, user_version 0',
      (db: Database.Database) => db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)'),
    ],
    ['another application_id', (db: Database.Database) => db.pragma('application_id = 1234')],
  ])('leaves a foreign database (%s) as it was: not even switched to WAL', (_what, make) => {
    const file = newFile();
    inspect(file, make);
    const before = readFileSync(file);
    expect(openError(file).reason).toBe('not_ours');
    // Bytes 18-19 of the header are 2 in WAL mode; nothing else may change either.
    expect(readFileSync(file)).toEqual(before);
    expect(existsSync(`${file}-wal`)).toBe(false);
    inspect(file, (db) => expect(db.pragma('journal_mode', { simple: true })).toBe('delete'));
  });

  it('refuses a database with another application_id', () => {
    const file = newFile();
    inspect(file, (db) => db.pragma('application_id = 1234'));
    expect(openError(file).reason).toBe('not_ours');
  });

  it('migration 3 keeps every device row and history id, and lets not_found in', async () => {
    const file = newFile();
    inspect(file, (db) => {
      runMigrations(db, MIGRATIONS.slice(0, 2));
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.exec(`
        INSERT INTO devices (account, device, status, status_raw, health, status_since, last_check_at, probe_error, transitions, state)
          VALUES ('main', '1', 'unknown', 'Banana Mode', 'DOWN', 10, 20, NULL, 3, '{}');
        INSERT INTO history (id, account, device, at, from_status, to_status, raw)
          VALUES (7, 'main', '1', 10, 'connected', 'unknown', 'Banana Mode'), (9, 'main', '1', 30, 'unknown', 'deleted', NULL);
      `);
      expect(() =>
        db.exec(`INSERT INTO history (account, device, at, to_status) VALUES ('main', '1', 40, 'not_found')`),
      ).toThrow(/CHECK/);
    });
    const store = openSqliteStore(file);
    try {
      expect(await store.getDevice('main', '1')).toMatchObject({
        status: 'unknown',
        statusRaw: 'Banana Mode',
        transitions: 3,
      });
      await store.saveDevices([
        {
          row: device('main', '2', { status: 'not_found', statusRaw: 'device not found!', health: 'DOWN' }),
          change: {
            account: 'main',
            device: '2',
            at: 50,
            from: null,
            to: 'not_found',
            raw: 'device not found!',
          },
        },
      ]);
      expect((await store.getDevice('main', '2'))?.status).toBe('not_found');
      expect((await store.history('main', '2')).map((h) => h.to)).toEqual(['not_found']);
      expect((await store.history('main', '1')).map((h) => [h.at, h.to])).toEqual([
        [10, 'unknown'],
        [30, 'deleted'],
      ]);
    } finally {
      await store.close();
    }
    inspect(file, (db) => {
      expect(db.prepare('SELECT id FROM history ORDER BY id').pluck().all()).toEqual([7, 9, 10]);
      const indexes = db
        .prepare(
          "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'history' AND sql IS NOT NULL ORDER BY name",
        )
        .pluck()
        .all();
      expect(indexes).toEqual(['history_by_device', 'history_by_time', 'history_deleted']);
    });
  });

  describe('runMigrations', () => {
    const create = (name: string): Migration => ({
      description: `create ${name}`,
      up: (db) => db.exec(`CREATE TABLE ${name} (x)`),
    });

    it('applies the migrations in order and counts them', () => {
      const db = new Database(':memory:');
      expect(runMigrations(db, [create('a'), create('b')])).toBe(2);
      expect(userVersion(db)).toBe(2);
      expect(tables(db)).toEqual(['a', 'b']);
      db.close();
    });

    it('applies only the ones appended since the last run (how later issues add tables)', async () => {
      const file = newFile();
      const store = openSqliteStore(file);
      await store.setMeta('kept', 'yes');
      await store.close();
      inspect(file, (db) => {
        expect(runMigrations(db, [...MIGRATIONS, create('later')])).toBe(1);
        expect(userVersion(db)).toBe(SCHEMA_VERSION + 1);
        expect(tables(db)).toContain('later');
      });
    });

    it('rolls a failing migration back whole, keeping the ones before it', () => {
      const db = new Database(':memory:');
      const failing: Migration = {
        description: 'half-done',
        up: (d) => {
          d.exec('CREATE TABLE half (x)');
          throw new Error('oops');
        },
      };
      expect(() => runMigrations(db, [create('a'), failing, create('c')])).toThrow(
        'migration 2 (half-done) failed: oops',
      );
      expect(userVersion(db)).toBe(1);
      expect(tables(db)).toEqual(['a']);
      db.close();
    });

    it('refuses to run on a database newer than the list', () => {
      const db = new Database(':memory:');
      db.pragma('user_version = 3');
      expect(thrown(() => runMigrations(db, [create('a')]))).toMatchObject({ reason: 'too_new' });
      db.close();
    });
  });
});
