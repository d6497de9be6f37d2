import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { describeWithPostgres } from '../test-support/postgres.js';
import { StoreError } from './errors.js';
import { openPostgresStore } from './postgres-store.js';
import { describeOutboxContract } from './test-support/outbox-contract.js';
import { describeStoreContract } from './test-support/store-contract.js';

/** Empties every table but the schema's versions: a fresh store without a new database per test. */
async function emptyTables(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'whatsgate_schema'",
    );
    if (rows.length > 0) {
      await client.query(`TRUNCATE ${rows.map((r) => `"${r.name}"`).join(', ')} RESTART IDENTITY`);
    }
  } finally {
    await client.end();
  }
}

describeWithPostgres('PostgresStore', (db) => {
  const open = async () => {
    const store = await openPostgresStore(db().url);
    await emptyTables(db().url);
    return store;
  };
  describeStoreContract('PostgresStore', open);
  describeOutboxContract('PostgresStore', open);
});
