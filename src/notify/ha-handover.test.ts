import { afterEach, expect, it, vi } from 'vitest';
import type { Config } from '../config/types.js';
import { StoreError } from '../store/errors.js';
import { openPostgresStore, type PostgresStore } from '../store/postgres-store.js';
import { emptyTables, expireLease } from '../store/test-support/postgres-sql.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { describeWithPostgres } from '../test-support/postgres.js';
import { Notifications } from './notifications.js';
import { FakeNotifier } from './test-support/fake-notifier.js';
import {
  captureLogger,
  deviceAlert,
  sequentialIds,
  T0,
  testConfig,
  webhookChannel,
} from './test-support/fixtures.js';

// Issue 15: held (grouped) events carry over a failover. Two replicas' notification loops on one
// real PostgreSQL: the first holds a drop for its group and dies before the group is due; the
// next holder releases it once, and the deposed one can neither release nor send it.

const LEASE = 'whatsgate-monitor';
const GROUP_WAIT_MS = 30_000;
const stores: PostgresStore[] = [];
const running: Notifications[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.stop()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

describeWithPostgres('grouped notifications across a failover', (db) => {
  const config: Config = testConfig({
    notify: {
      groupWaitMs: GROUP_WAIT_MS,
      groupIntervalMs: GROUP_WAIT_MS,
      default: ['hook'],
      routes: [],
      channels: { hook: webhookChannel('hook', 'http://127.0.0.1:9/unused') },
    },
  });

  async function replica(holder: string, clock: FakeClock, leading: () => boolean) {
    const store = await openPostgresStore(db().url);
    stores.push(store);
    const notifier = new FakeNotifier('hook');
    const notifications = new Notifications({
      outbox: store.outbox,
      config,
      clock,
      log: captureLogger().log,
      newId: sequentialIds(`${holder}-`),
      createNotifier: () => notifier,
      canSend: leading,
    });
    running.push(notifications);
    return { store, notifier, notifications };
  }

  it('the next holder releases the events the last one held, once; the deposed one sends nothing', async () => {
    await emptyTables(db().url);
    const clock = new FakeClock(T0);
    const aLeads = true;
    let bLeads = false;
    const a = await replica('a', clock, () => aLeads);
    const b = await replica('b', clock, () => bLeads);
    const epochA = await a.store.acquireLease(LEASE, 'a', 15_000);
    a.store.setFence({ lease: LEASE, epoch: epochA });
    b.store.setFence({ lease: LEASE, epoch: null });

    a.notifications.start();

    // A decides a drop; its channel groups, so the event is held, not sent.
    await a.store.transaction((tx) => a.notifications.publish([deviceAlert({ number: '111' })], tx.outbox));
    expect((await a.store.outbox.held()).map((m) => m.channel)).toEqual(['hook']);

    // A's lease lapses and B takes over — but A does not know it (paused, its clock not yet
    // read): its loop still believes it leads, so only the fence keeps it from the group.
    await expireLease(db().url, LEASE);
    const epochB = await b.store.acquireLease(LEASE, 'b', 15_000);
    expect(epochB).toBe(epochA! + 1);
    b.store.setFence({ lease: LEASE, epoch: epochB });
    bLeads = true;
    b.notifications.start();

    // The group comes due: B releases and sends it, once.
    await clock.advance(GROUP_WAIT_MS);
    await vi.waitFor(() => expect(b.notifier.attempts).toHaveLength(1));
    await vi.waitFor(async () => expect((await b.store.outbox.pendingCounts()).size).toBe(0));
    expect(await b.store.outbox.held()).toEqual([]);
    const sent = b.notifier.attempts[0]!.message.deliveryId;
    expect((await b.store.outbox.find(sent))?.state).toBe('sent');
    await clock.advance(10 * GROUP_WAIT_MS);
    expect(b.notifier.attempts).toHaveLength(1);

    // A tried to release the same group and was refused by the fence: it sent nothing, and a
    // write it still tries is refused too.
    expect(a.notifier.attempts).toEqual([]);
    const refused = await a.store.outbox
      .enqueue([{ deliveryId: 'late', channel: 'hook', payload: {}, createdAt: T0 }])
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StoreError);
    expect((refused as StoreError).reason).toBe('deposed');
  });
});
