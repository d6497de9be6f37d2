import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChannelConfig, Config } from '../config/types.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { Notifications, type NotificationsOptions } from './notifications.js';
import type { DeliveryOutcome } from './outbox-worker.js';
import { FaultyOutbox } from './test-support/faulty-outbox.js';
import { FakeNotifier } from './test-support/fake-notifier.js';
import {
  accountAlert,
  alertmanagerChannel,
  upEvent,
  captureLogger,
  deviceAlert,
  sequentialIds,
  T0,
  testConfig,
  webhookChannel,
} from './test-support/fixtures.js';
import { startReceiver } from './test-support/http-receiver.js';
import { tempDb, type TempDb } from './test-support/store.js';

let db: TempDb;
let clock: FakeClock;
let outcomes: [string, DeliveryOutcome][];
let created: FakeNotifier[];
const running: Notifications[] = [];

beforeEach(() => {
  db = tempDb();
  clock = new FakeClock(T0);
  outcomes = [];
  created = [];
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.stop()));
  await db.dispose();
});

function configWith(channels: Record<string, ChannelConfig>, defaults = Object.keys(channels)): Config {
  return testConfig({ notify: { default: defaults, routes: [], channels } });
}

function notifications(
  config: Config,
  log = captureLogger().log,
  fake = true,
  more: Partial<NotificationsOptions> = {},
): Notifications {
  const n = new Notifications({
    outbox: db.outbox,
    config,
    clock,
    log,
    onOutcome: (channel, outcome) => outcomes.push([channel, outcome]),
    newId: sequentialIds(),
    ...(fake
      ? {
          createNotifier: (channel: ChannelConfig) => {
            const f = new FakeNotifier(channel.name, [{ ok: true }], channel.type);
            created.push(f);
            return f;
          },
        }
      : {}),
    ...more,
  });
  running.push(n);
  return n;
}

describe('Notifications', () => {
  it('publish → outbox → channel; pending counts and outcomes for the metrics', async () => {
    const n = notifications(configWith({ ops: webhookChannel('ops', 'http://x') }));
    n.start();
    await n.publish([deviceAlert(), deviceAlert({ number: '222' }), accountAlert()], db.outbox);
    await vi.waitFor(() => expect(outcomes).toHaveLength(1));
    expect(n.pending()).toEqual([]);
    expect(created[0]?.attempts).toHaveLength(1);
    expect(created[0]?.attempts[0]?.message.events).toHaveLength(3);
    expect(outcomes).toEqual([['ops', 'sent']]);
  });

  it('publish inside the tick’s transaction: sent once it commits, never if it rolls back', async () => {
    const n = notifications(configWith({ am: alertmanagerChannel('am', ['http://x']) }));
    n.start();
    await expect(
      db.store.transaction(async (tx) => {
        await n.publish([deviceAlert()], tx.outbox);
        throw new Error('the device rows could not be written');
      }),
    ).rejects.toThrow('device rows');
    await clock.advance(60_000);
    expect(outcomes).toEqual([]);
    expect(await db.outbox.firing()).toEqual([]);

    await db.store.transaction(async (tx) => {
      await n.publish([deviceAlert()], tx.outbox);
      // The loop, woken by publish, waits for this transaction: nothing is sent before it ends.
      await clock.advance(0);
      expect(outcomes).toEqual([]);
    });
    n.wake(); // what the cycle writer does after its commit (a no-op here: already woken)
    await vi.waitFor(() => expect(outcomes).toEqual([['am', 'sent']]));
  });

  it('reload swaps the channels: the old ones are closed, queued messages follow the new config', async () => {
    const n = notifications(configWith({ ops: webhookChannel('ops', 'http://x') }));
    const [old] = created;
    await n.reload(
      configWith({ ops: webhookChannel('ops', 'http://y'), pager: webhookChannel('pager', 'http://z') }),
    );
    expect(old?.closed).toBe(true);
    n.start();
    await n.publish([deviceAlert()], db.outbox);
    await vi.waitFor(() => expect(outcomes).toHaveLength(2));
    expect(created.slice(1).map((f) => [f.channel, f.attempts.length])).toEqual([
      ['ops', 1],
      ['pager', 1],
    ]);
  });

  it('once started, re-sends firing Alertmanager alerts every minute by itself, until resolved', async () => {
    const n = notifications(configWith({ am: alertmanagerChannel('am', ['http://x']) }));
    n.start();
    await n.publish([deviceAlert()], db.outbox);
    await clock.advance(1);
    const am = created[0]!;
    expect(am.attempts.map((a) => a.at - T0)).toEqual([0]);
    await clock.advance(60_000);
    await clock.advance(60_000);
    expect(am.attempts.map((a) => a.at - T0)).toEqual([0, 60_000, 120_000]);
    await n.publish([deviceAlert({ event: upEvent({ at: clock.now() }) })], db.outbox);
    await clock.advance(300_000);
    expect(am.attempts).toHaveLength(4);
    expect(am.attempts[3]?.message.events[0]).toMatchObject({ event: { type: 'device.up' } });
  });

  it('stop() closes every channel', async () => {
    const n = notifications(
      configWith({ a: webhookChannel('a', 'http://x'), b: webhookChannel('b', 'http://y') }),
    );
    n.start();
    await n.stop();
    expect(created.every((f) => f.closed)).toBe(true);
  });

  it('tick() never rejects, even when the database is gone; it logs instead', async () => {
    const { log, lines } = captureLogger();
    const n = notifications(configWith({ ops: webhookChannel('ops', 'http://x') }), log);
    await db.store.close();
    await expect(n.tick()).resolves.toBeUndefined();
    expect(lines.some((l) => l.includes('"level":"error"') && l.includes('Alertmanager re-send'))).toBe(true);
    await db.reopen();
  });

  it('prune removes delivered messages older than retention', async () => {
    const n = notifications(configWith({ ops: webhookChannel('ops', 'http://x') }));
    n.start();
    await n.publish([deviceAlert()], db.outbox);
    await vi.waitFor(() => expect(outcomes).toEqual([['ops', 'sent']]));
    // The held row went into the message: one row, the sent message.
    expect(await n.prune(T0 + 1)).toBe(1);
  });

  it('secrets never reach the logs of a failing delivery', async () => {
    const echo = await startReceiver((req) => ({
      status: 500,
      body: `${req.path} ${JSON.stringify(req.headers)}`,
    }));
    try {
      const { log, lines } = captureLogger();
      const url = `${echo.url.replace('http://', 'http://user:url-secret-1@')}/hook?key=query-secret-2`;
      const n = notifications(
        configWith({
          hook: webhookChannel('hook', url, {
            secret: 'signing-secret-3',
            secretFormat: 'raw',
            headers: { 'X-Api-Key': 'header-secret-4' },
          }),
        }),
        log,
        false,
      );
      n.start();
      await n.publish([deviceAlert()], db.outbox);
      await vi.waitFor(() => expect(outcomes).toEqual([['hook', 'failed']]));
      const logged = lines.join('\n');
      expect(logged).toContain('HTTP 500 from');
      for (const secret of ['url-secret-1', 'query-secret-2', 'signing-secret-3', 'header-secret-4']) {
        expect(logged).not.toContain(secret);
      }
    } finally {
      await echo.close();
    }
  });
});

describe('Notifications on an HA replica (SPEC §11)', () => {
  it('start() after stop(): a replica that leads again delivers again, through channels made afresh', async () => {
    const n = notifications(configWith({ ops: webhookChannel('ops', 'http://x') }));
    n.start();
    await n.publish([deviceAlert()], db.outbox);
    await vi.waitFor(() => expect(outcomes).toEqual([['ops', 'sent']]));
    await n.stop();
    expect(created.map((f) => f.closed)).toEqual([true]);

    // Lost the lease: what the new leader queued waits here untouched until this one leads again.
    await n.publish([deviceAlert({ number: '222' })], db.outbox);
    await clock.advance(10 * 60_000);
    expect(outcomes).toHaveLength(1);
    n.start();
    await vi.waitFor(() => expect(outcomes).toHaveLength(2));
    expect(created.map((f) => [f.closed, f.attempts.length])).toEqual([
      [true, 1],
      [false, 1],
    ]);
    expect(n.sendersUp()).toEqual([]);
    await n.stop();
    await n.stop(); // idempotent
    expect(created.every((f) => f.closed)).toBe(true);
  });

  it('while canSend says no: nothing released, claimed, sent or re-sent; resumes when it says yes', async () => {
    let leading = true;
    const outbox = new FaultyOutbox(db.outbox);
    const n = new Notifications({
      outbox,
      config: configWith({
        ops: webhookChannel('ops', 'http://x'),
        am: alertmanagerChannel('am', ['http://y']),
      }),
      clock,
      log: captureLogger().log,
      onOutcome: (channel, outcome) => outcomes.push([channel, outcome]),
      newId: sequentialIds(),
      canSend: () => leading,
      createNotifier: (channel) => {
        const f = new FakeNotifier(channel.name, [{ ok: true }], channel.type);
        created.push(f);
        return f;
      },
    });
    running.push(n);
    n.start();
    await n.publish([deviceAlert()], db.outbox);
    await clock.advance(1);
    expect(outcomes).toEqual([
      ['am', 'sent'],
      ['ops', 'sent'],
    ]);
    const claims = outbox.faults.count('markAttempting');

    // The lease lapsed on this replica's clock: it sends nothing, however long.
    leading = false;
    await n.publish([deviceAlert({ number: '222' })], db.outbox);
    await clock.advance(5 * 60_000);
    expect(outcomes).toHaveLength(2);
    expect(outbox.faults.count('markAttempting')).toBe(claims);
    expect(outbox.faults.count('removeHeld')).toBe(1); // the first group only
    expect(await db.outbox.held()).toHaveLength(1);
    // The Alertmanager re-send (due every minute) is not even queued.
    expect(outbox.faults.count('firing')).toBe(1);
    await n.tick();
    expect(outbox.faults.count('firing')).toBe(1);

    leading = true;
    await clock.advance(1_000);
    await vi.waitFor(() => expect(outcomes).toHaveLength(4));
    expect(outcomes.slice(2).sort()).toEqual([
      ['am', 'sent'], // the new drop
      ['ops', 'sent'], // its group, due meanwhile
    ]);
    // The re-send loop too: both firing alerts again at its next check (every 15 s).
    await clock.advance(60_000);
    expect(outcomes).toHaveLength(5);
    expect(created.find((f) => f.channel === 'am')?.attempts.at(-1)?.message.events).toHaveLength(2);
  });

  it('deposed (another replica took over): one line, nothing retried, no crash; the loop goes on', async () => {
    const { log, lines } = captureLogger();
    const outbox = new FaultyOutbox(db.outbox);
    const n = new Notifications({
      outbox,
      config: configWith({
        ops: webhookChannel('ops', 'http://x'),
        am: alertmanagerChannel('am', ['http://y']),
      }),
      clock,
      log,
      newId: sequentialIds(),
      onOutcome: (channel, outcome) => outcomes.push([channel, outcome]),
      createNotifier: (channel) => {
        const f = new FakeNotifier(channel.name, [{ ok: true }], channel.type);
        created.push(f);
        return f;
      },
    });
    running.push(n);
    // Queued (the am message, the ops event held) before the other replica took over.
    await n.publish([deviceAlert()], db.outbox);
    outbox.faults.deposed = true;
    n.start();
    await clock.advance(10 * 60_000);
    expect(outcomes).toEqual([]);
    const took = lines.filter((l) => l.includes('"level":"warn"') && l.includes('another replica took over'));
    // One for the delivery loop, one for the Alertmanager re-send loop.
    expect(took).toHaveLength(2);
    expect(lines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
    const claims = outbox.faults.count('markAttempting');
    expect(claims).toBe(1);
    // Everything stays as the other replica will find it.
    expect(await db.outbox.held()).toHaveLength(1);
    expect(await db.outbox.pendingCounts()).toEqual(new Map([['am', 1]]));
    // Still running: a wake is served (and the message left to the other replica not retried).
    n.wake();
    await clock.advance(60_000);
    expect(outbox.faults.count('markAttempting')).toBe(claims);
    expect(outbox.faults.count('held')).toBeGreaterThan(1);
  });
});
