import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, runMigrations, SCHEMA_VERSION, userVersion } from './migrations.js';
import { openSqliteStore } from './sqlite-store.js';
import { describeOutboxContract, msg } from './test-support/outbox-contract.js';

const dirs: string[] = [];
function newFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wgm-outbox-'));
  dirs.push(dir);
  return join(dir, 'monitor.db');
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describeOutboxContract('SqliteStore on :memory:', () => Promise.resolve(openSqliteStore(':memory:')));
describeOutboxContract('SqliteStore on a file', () => Promise.resolve(openSqliteStore(newFile())));

describe('the SQLite outbox on a file', () => {
  it('survives closing and reopening the file', async () => {
    const file = newFile();
    const store = openSqliteStore(file);
    await store.outbox.enqueue([msg('kept', 'a', 1_000, { events: ['ü', '📱'] })]);
    await store.close();
    const again = openSqliteStore(file);
    expect(await again.outbox.head('a')).toMatchObject({
      deliveryId: 'kept',
      payload: { events: ['ü', '📱'] },
    });
    await again.close();
  });
});

describe('migration 2 (outbox)', () => {
  it('upgrades a database of the first schema, keeping its data', async () => {
    const file = newFile();
    const old = new Database(file);
    runMigrations(old, MIGRATIONS.slice(0, 1));
    old.prepare("INSERT INTO meta (key, value) VALUES ('kept', 'yes')").run();
    expect(userVersion(old)).toBe(1);
    old.close();

    const upgraded = openSqliteStore(file);
    expect(await upgraded.getMeta('kept')).toBe('yes');
    await upgraded.outbox.enqueue([msg('m', 'a')]);
    expect(await upgraded.outbox.heads()).toHaveLength(1);
    await upgraded.close();
    const check = new Database(file);
    expect(userVersion(check)).toBe(SCHEMA_VERSION);
    check.close();
  });
});

describe('migration 3 (held and cancelled outbox rows)', () => {
  it('rebuilds the outbox keeping every row, id and state; the new states are accepted', async () => {
    const file = newFile();
    const old = new Database(file);
    runMigrations(old, MIGRATIONS.slice(0, 2));
    old
      .prepare(
        `INSERT INTO outbox (id, delivery_id, channel, payload, created_at, attempts, next_attempt_at, last_error, state, done_at)
         VALUES (7, 'old-sent', 'a', '{}', 1000, 2, 1000, NULL, 'sent', 1500),
                (9, 'old-pending', 'a', '{}', 2000, 1, 12000, 'HTTP 500', 'pending', NULL)`,
      )
      .run();
    expect(() => old.prepare("UPDATE outbox SET state = 'held' WHERE id = 9").run()).toThrow(
      /CHECK constraint/,
    );
    old.close();

    const upgraded = openSqliteStore(file);
    const ob = upgraded.outbox;
    expect(await ob.find('old-sent')).toMatchObject({
      id: 7,
      state: 'sent',
      attempts: 2,
      doneAt: 1500,
      grouped: false,
    });
    expect(await ob.find('old-pending')).toMatchObject({
      id: 9,
      state: 'pending',
      nextAttemptAt: 12000,
      lastError: 'HTTP 500',
    });
    expect((await ob.heads()).map((m) => m.id)).toEqual([9]);
    await ob.hold([msg('h', 'a')]);
    await ob.markCancelled([(await ob.held())[0]!.id], 3_000, 'x');
    expect((await ob.find('h'))?.state).toBe('cancelled');
    await ob.enqueue([msg('new', 'a')]);
    expect((await ob.find('new'))!.id).toBeGreaterThan(9);
    await upgraded.close();
  });
});
