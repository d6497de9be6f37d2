import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { expectNoSecretLeaks, findSecretLeaks, type LeakSource } from '../test-support/no-secret-leaks.js';
import { describeWithPostgres } from '../test-support/postgres.js';
import { StoreError } from './errors.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from './postgres-schema.js';
import { openPostgresStore } from './postgres-store.js';
import { describeOutboxContract, msg } from './test-support/outbox-contract.js';
import { emptyTables, lockWaiters, withClient } from './test-support/postgres-sql.js';
import { change, describeStoreContract, device, rejection } from './test-support/store-contract.js';

describeWithPostgres('PostgresStore', (db) => {
  const open = async () => {
    const store = await openPostgresStore(db().url);
    await emptyTables(db().url);
    return store;
  };
  describeStoreContract('PostgresStore', open);
  describeOutboxContract('PostgresStore', open);
});

describeWithPostgres('PostgresStore on PostgreSQL', (db) => {
  /** A new, empty database of the test cluster. */
  const newDatabase = async () => db().cluster.url(await db().cluster.createDatabase());
  const where = (url: string) => {
    const u = new URL(url);
    return `${u.hostname}:${u.port}${u.pathname}`;
  };
  const versions = (url: string) =>
    withClient(
      url,
      async (c) =>
        (await c.query<{ version: number }>('SELECT version FROM whatsgate_schema ORDER BY version')).rows,
    );

  describe('schema', () => {
    it('a new database gets every table and the current version; opening again runs nothing', async () => {
      const url = await newDatabase();
      await (await openPostgresStore(url)).close();
      const tables = await withClient(url, async (c) =>
        (
          await c.query<{ name: string }>(
            'SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename',
          )
        ).rows.map((r) => r.name),
      );
      expect(tables).toEqual([
        'accounts',
        'alertmanager_firing',
        'api_calls',
        'delivery_problems',
        'devices',
        'ha_lease',
        'history',
        'meta',
        'outbox',
        'silences',
        'whatsgate_schema',
      ]);
      await (await openPostgresStore(url)).close();
      expect(await versions(url)).toEqual(PG_MIGRATIONS.map((_, i) => ({ version: i + 1 })));
      expect(PG_SCHEMA_VERSION).toBe(PG_MIGRATIONS.length);
    });

    it('three replicas starting at once on a new database migrate it once, and all open', async () => {
      const url = await newDatabase();
      const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore(url)));
      await stores[0]!.setMeta('k', 'v');
      for (const store of stores) expect(await store.getMeta('k')).toBe('v');
      await Promise.all(stores.map((s) => s.close()));
      expect(await versions(url)).toHaveLength(PG_SCHEMA_VERSION);
    });

    it('a schema newer than this build is refused and left alone', async () => {
      const url = await newDatabase();
      await (await openPostgresStore(url)).close();
      await withClient(url, (c) =>
        c.query("INSERT INTO whatsgate_schema (version, description) VALUES (99, 'future')"),
      );
      for (const readonly of [false, true]) {
        const err = await rejection(openPostgresStore(url, { readonly }));
        expect(err).toMatchObject({ name: 'StoreError', reason: 'too_new' });
        expect((err as Error).message).toContain('schema version 99, newer than this build knows');
      }
      expect(await versions(url)).toHaveLength(PG_SCHEMA_VERSION + 1);
    });

    it('a database holding another application’s tables is not ours, and left alone', async () => {
      const url = await newDatabase();
      await withClient(url, (c) => c.query('CREATE TABLE devices (serial text PRIMARY KEY)'));
      const err = await rejection(openPostgresStore(url));
      expect(err).toMatchObject({ name: 'StoreError', reason: 'not_ours' });
      expect((err as Error).message).toContain('a database of its own');
      const tables = await withClient(
        url,
        async (c) =>
          (await c.query<{ n: string }>("SELECT tablename AS n FROM pg_tables WHERE schemaname = 'public'"))
            .rows,
      );
      expect(tables).toEqual([{ n: 'devices' }]);
    });

    it('a reader never creates the schema: a database never set up reads as missing', async () => {
      const url = await newDatabase();
      const err = await rejection(openPostgresStore(url, { readonly: true }));
      expect(err).toMatchObject({ name: 'StoreError', reason: 'missing_file' });
      expect(
        await withClient(
          url,
          async (c) => (await c.query<{ t: string | null }>("SELECT to_regclass('devices') AS t")).rows,
        ),
      ).toEqual([{ t: null }]);
      await (await openPostgresStore(url)).close();
      const reader = await openPostgresStore(url, { readonly: true });
      expect(await reader.getDevices()).toEqual([]);
      await reader.close();
    });
  });

  describe('errors', () => {
    /** The StoreError of a failed open: one line naming `host:port/db`, the password nowhere. */
    async function openError(url: string): Promise<StoreError> {
      const err = await rejection(openPostgresStore(url, { connectTimeoutMs: 5_000 }));
      expect(err).toBeInstanceOf(StoreError);
      const e = err as StoreError;
      expect(e.file).toBe(where(url));
      expect(e.message.startsWith(`cannot open ${where(url)}: `)).toBe(true);
      expect(e.message).not.toContain('\n');
      expectNoLeak(e);
      return e;
    }
    function expectNoLeak(err: unknown): void {
      const texts: LeakSource[] = [];
      for (let e: unknown = err, i = 0; e instanceof Error; e = e.cause, i++) {
        texts.push(
          { name: `error ${i} message`, content: e.message },
          { name: `error ${i} stack`, content: e.stack ?? '' },
        );
      }
      texts.push({ name: 'String(error)', content: String(err) });
      expectNoSecretLeaks({ 'the store password': db().cluster.password }, texts);
    }

    it('a server that refuses the connection: io', async () => {
      const url = db().url.replace(`:${db().cluster.port}/`, `:${await closedPort()}/`);
      const err = await openError(url);
      expect(err.reason).toBe('io');
      expect(err.message).toContain('refused the connection');
    });

    it('a wrong password: permission', async () => {
      const url = db().url.replace(encodeURIComponent(db().cluster.password), 'not-the-password');
      const err = await openError(url);
      expect(err.reason).toBe('permission');
      expect(err.message).toContain('authentication failed');
    });

    /** The error as the daemon logs it: pino's err serializer prints its causes' messages and stacks. */
    function logLine(err: unknown): string {
      let out = '';
      createLogger('info', { write: (line: string) => void (out += line) }).error({ err }, 'store failed');
      return out;
    }

    it('a wrong password: the logged error holds neither the password given nor the right one', async () => {
      const wrong = 'not-the-password-0123';
      const url = db().url.replace(encodeURIComponent(db().cluster.password), wrong);
      const line = logLine(await rejection(openPostgresStore(url, { connectTimeoutMs: 5_000 })));
      expect(line).toContain('authentication failed');
      expect(line).toContain('28P01');
      expect(
        findSecretLeaks({ 'the password given': wrong, 'the store password': db().cluster.password }, [
          { name: 'the log line', content: line },
        ]),
      ).toEqual([]);
    });

    it('a server that echoes the password in its error: redacted in the message and in the logged cause', async () => {
      // The server repeats a bad startup parameter's value — here the password, given twice.
      const password = db().cluster.password;
      const url = `${db().url}?options=${encodeURIComponent(`-c lock_timeout=${password}`)}`;
      const err = await rejection(openPostgresStore(url, { connectTimeoutMs: 5_000 }));
      expect(err).toMatchObject({ name: 'StoreError', message: expect.stringContaining('[redacted]') });
      expect((err as Error).cause).toMatchObject({ code: '22023' });
      const line = logLine(err);
      expect(line).toContain('lock_timeout');
      expect(
        findSecretLeaks({ 'the store password': password }, [{ name: 'the log line', content: line }]),
      ).toEqual([]);
    });

    it('a database that does not exist: says to create it', async () => {
      const url = db().cluster.url('nope');
      const err = await openError(url);
      expect(err.message).toContain('does not exist — create it');
    });

    it('a URL that does not parse: invalid, not echoed', async () => {
      const err = await rejection(openPostgresStore(`postgres://postgres:${db().cluster.password}@[bad`));
      expect(err).toMatchObject({ name: 'StoreError', reason: 'invalid' });
      expectNoLeak(err);
    });

    it('a write waiting for a lock past its own timeout: locked, quickly; the store stays usable; no password', async () => {
      const store = await openPostgresStore(db().url);
      await emptyTables(db().url);
      await store.setMeta('k', 'v');
      await withClient(db().url, async (other) => {
        await other.query('BEGIN');
        await other.query("SELECT * FROM meta WHERE key = 'k' FOR UPDATE");
        const started = performance.now();
        const err = await rejection(store.transaction((tx) => tx.setMeta('k', 'w'), { busyTimeoutMs: 50 }));
        expect(performance.now() - started).toBeLessThan(2_000);
        expect(err).toMatchObject({ name: 'StoreError', reason: 'locked' });
        expect((err as Error).message.startsWith(`cannot write to ${where(db().url)}: `)).toBe(true);
        expectNoLeak(err);
        await other.query('ROLLBACK');
      });
      await store.setMeta('k', 'w');
      expect(await store.getMeta('k')).toBe('w');
      await store.close();
    });
  });

  describe('transactions', () => {
    it('a failed statement aborts its transaction: later calls reject, nothing is kept, even if the caller catches', async () => {
      const store = await openPostgresStore(db().url);
      await emptyTables(db().url);
      await store.outbox.enqueue([msg('dup', 'a')]);
      const first = await rejection(
        store.transaction(async (tx) => {
          await tx.setMeta('kept?', 'no');
          const dup = await rejection(tx.outbox.enqueue([msg('dup', 'b')]));
          expect(dup).toMatchObject({ reason: 'invalid' });
          const later = await rejection(tx.setMeta('later', '1'));
          expect((later as Error).message).toContain('this transaction failed before');
        }),
      );
      expect(first).toMatchObject({ name: 'StoreError', reason: 'invalid' });
      expect(await store.getMeta('kept?')).toBeNull();
      expect(await store.getMeta('later')).toBeNull();
      await store.close();
    });

    it('text PostgreSQL cannot hold (U+0000) is kept as U+FFFD instead of failing the write', async () => {
      const store = await openPostgresStore(db().url);
      await emptyTables(db().url);
      const row = device('main', '1', { statusRaw: 'odd\u0000text', probeError: 'x\u0000' });
      await store.saveDevices([{ row, change: change('main', '1', 5, { raw: '\u0000' }) }]);
      expect(await store.getDevice('main', '1')).toMatchObject({
        statusRaw: 'odd\uFFFDtext',
        probeError: 'x\uFFFD',
      });
      expect((await store.history('main', '1'))[0]!.raw).toBe('\uFFFD');
      await store.close();
    });

    it('call log ids become visible in the order of their ids: a second logger waits for the first to commit', async () => {
      const [a, b] = await Promise.all([openPostgresStore(db().url), openPostgresStore(db().url)]);
      await emptyTables(db().url);
      const call = { account: 'main', at: 1, kind: 'check', origin: 'daemon', epoch: null } as const;
      let second: Promise<number> | undefined;
      const first = await a.transaction(async (tx) => {
        const id = await tx.recordApiCall({ ...call, caller: 'a' });
        second = b.recordApiCall({ ...call, caller: 'b' });
        await lockWaiters(db().url);
        expect(await b.apiCalls('main')).toEqual([]);
        return id;
      });
      expect(await second!).toBeGreaterThan(first);
      expect((await b.apiCalls('main')).map((r) => r.caller)).toEqual(['a', 'b']);
      await Promise.all([a.close(), b.close()]);
    });

    it('reading the call log in a transaction holds other loggers until it ends: room read and call logged are one step', async () => {
      const [a, b] = await Promise.all([openPostgresStore(db().url), openPostgresStore(db().url)]);
      await emptyTables(db().url);
      const call = { account: 'main', at: 1, kind: 'check', origin: 'daemon', epoch: null } as const;
      let other: Promise<number[]> | undefined;
      await a.transaction(async (tx) => {
        expect(await tx.apiCalls('main')).toEqual([]);
        // The other process decides on what it reads: it must read after this one logged.
        other = b.transaction(async (btx) => {
          const seen = (await btx.apiCalls('main')).map((r) => r.id);
          await btx.recordApiCall({ ...call, caller: 'b' });
          return seen;
        });
        await lockWaiters(db().url);
        await tx.recordApiCall({ ...call, caller: 'a' });
      });
      expect(await other!).toHaveLength(1);
      // Readers outside a transaction are not held up.
      await a.transaction(async (tx) => {
        await tx.apiCalls('main');
        expect(await b.apiCalls('main')).toHaveLength(2);
      });
      await Promise.all([a.close(), b.close()]);
    });

    it('the call log is locked per account: loggers of another account neither wait nor are waited for', async () => {
      const [a, b] = await Promise.all([openPostgresStore(db().url), openPostgresStore(db().url)]);
      await emptyTables(db().url);
      const call = { at: 1, kind: 'check', origin: 'daemon', epoch: null } as const;
      await a.transaction(async (tx) => {
        expect(await tx.apiCalls('main')).toEqual([]);
        await tx.recordApiCall({ ...call, account: 'main', caller: 'a' });
        // Same steps, another account, while this transaction holds the lock of 'main'. A
        // table-wide lock would make it wait for this transaction — which waits for it.
        const logged = await b.transaction(
          async (btx) => {
            expect(await btx.apiCalls('other')).toEqual([]);
            return btx.recordApiCall({ ...call, account: 'other', caller: 'b' });
          },
          { busyTimeoutMs: 2_000 },
        );
        expect(logged).toBeGreaterThan(0);
        expect(await b.recordApiCall({ ...call, account: 'third', caller: 'b' })).toBeGreaterThan(logged);
      });
      expect((await b.apiCalls('main')).map((r) => r.caller)).toEqual(['a']);
      expect((await a.apiCalls('other')).map((r) => r.caller)).toEqual(['b']);
      await Promise.all([a.close(), b.close()]);
    });

    it('a transaction waits for a lock only so long (lockTimeoutMs), and a statement runs only so long (statementTimeoutMs)', async () => {
      const locked = await openPostgresStore(db().url, { lockTimeoutMs: 200 });
      const slow = await openPostgresStore(db().url, { lockTimeoutMs: 0, statementTimeoutMs: 300 });
      await emptyTables(db().url);
      await locked.setMeta('k', 'v');
      await withClient(db().url, async (other) => {
        await other.query('BEGIN');
        await other.query("SELECT * FROM meta WHERE key = 'k' FOR UPDATE");
        for (const [store, reason] of [
          [locked, 'locked'],
          [slow, 'locked'],
        ] as const) {
          const started = performance.now();
          const err = await rejection(store.transaction((tx) => tx.setMeta('k', 'w')));
          expect(performance.now() - started).toBeLessThan(3_000);
          expect(err).toMatchObject({ name: 'StoreError', reason });
        }
        await other.query('ROLLBACK');
      });
      expect(await locked.getMeta('k')).toBe('v');
      await Promise.all([locked.close(), slow.close()]);
    });

    it('a statement that fails right after BEGIN does not send its connection back to the pool in an aborted transaction', async () => {
      const store = await openPostgresStore(db().url, { poolSize: 1 });
      await emptyTables(db().url);
      // Beyond PostgreSQL's range (2^31 - 1 ms): SET LOCAL lock_timeout fails after BEGIN.
      const err = await rejection(store.transaction((tx) => tx.setMeta('k', 'no'), { busyTimeoutMs: 1e12 }));
      expect(err).toMatchObject({ name: 'StoreError', reason: 'invalid' });
      // The pool's one connection: a new one, or one that is not inside that transaction.
      await store.transaction((tx) => tx.setMeta('k', 'yes'));
      await store.setMeta('j', 'yes');
      expect(await store.getMeta('k')).toBe('yes');
      await store.close();
    });

    it('a transaction left idle (its process paused) is ended by the server after idleInTransactionTimeoutMs, its locks freed', async () => {
      const store = await openPostgresStore(db().url, { idleInTransactionTimeoutMs: 300 });
      await emptyTables(db().url);
      let resume!: () => void;
      const paused = new Promise<void>((resolve) => (resume = resolve));
      let logged!: () => void;
      const holding = new Promise<void>((resolve) => (logged = resolve));
      const call = { at: 1, kind: 'check', origin: 'daemon', epoch: null } as const;
      const idle = rejection(
        store.transaction(async (tx) => {
          await tx.recordApiCall({ ...call, account: 'main', caller: 'paused' });
          logged();
          await paused;
          await tx.setMeta('after the pause', '1');
        }),
      );
      await holding;
      // Another logger of the account waits for the paused one's lock — until the server ends it.
      const other = await openPostgresStore(db().url);
      expect(await other.recordApiCall({ ...call, account: 'main', caller: 'other' })).toBeGreaterThan(0);
      resume();
      expect(await idle).toMatchObject({ name: 'StoreError' });
      expect((await other.apiCalls('main')).map((r) => r.caller)).toEqual(['other']);
      expect(await other.getMeta('after the pause')).toBeNull();
      // Its connection was dropped, not pooled: the store goes on.
      await store.transaction((tx) => tx.setMeta('k', 'v'));
      await Promise.all([store.close(), other.close()]);
    });
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
