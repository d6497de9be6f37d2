import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChannelConfig } from '../config/types.js';
import type { AccountFleet } from '../monitor/grouping.js';
import { FakeClock } from '../test-support/fake-clock.js';
import type { OutboxMessage, OutboxStore } from '../store/outbox-store.js';
import type { MonitorAlert } from './events.js';
import { parsePayload, type NotificationEvent } from './message.js';
import { Notifications } from './notifications.js';
import { GroupRelease } from './release.js';
import { NotificationSink } from './sink.js';
import { FakeNotifier } from './test-support/fake-notifier.js';
import {
  accountAlert,
  alertmanagerChannel,
  captureLogger,
  deviceAlert,
  sequentialIds,
  T0,
  testConfig,
  upEvent,
  webhookChannel,
} from './test-support/fixtures.js';
import { FaultyOutbox } from './test-support/faulty-outbox.js';
import { tempDb, type TempDb } from './test-support/store.js';

const S = 1000;
const MIN = 60_000;
const POLICY = { groupWaitMs: 30 * S, groupIntervalMs: 5 * MIN };

let db: TempDb;
let clock: FakeClock;
let fleet: Record<string, AccountFleet>;

beforeEach(() => {
  db = tempDb();
  clock = new FakeClock(T0);
  fleet = {};
});
afterEach(() => db.dispose());

const config = testConfig({
  notify: {
    ...POLICY,
    default: ['ops'],
    routes: [],
    channels: { ops: webhookChannel('ops', 'http://127.0.0.1:1/ops') },
  },
});

function sink(): NotificationSink {
  return new NotificationSink({
    store: db.outbox,
    clock,
    log: captureLogger().log,
    config,
    newId: sequentialIds('ev'),
  });
}

function release(store: OutboxStore = db.outbox): GroupRelease {
  return new GroupRelease({
    store,
    clock,
    log: captureLogger().log,
    policy: () => POLICY,
    fleet: () => fleet,
    newId: sequentialIds('msg'),
  });
}

const down = (number: string, at = clock.now()): MonitorAlert =>
  deviceAlert({ number, name: `Phone ${number}`, event: { at, since: at, downSince: at } });
const up = (number: string, at = clock.now()): MonitorAlert =>
  deviceAlert({ number, name: `Phone ${number}`, event: upEvent({ at, since: at, downSince: at - S }) });

/** Every pending message, oldest first (not marked: the worker is not running). */
async function queued(): Promise<OutboxMessage[]> {
  const out: OutboxMessage[] = [];
  for (const [channel] of await db.outbox.pendingCounts()) {
    for (let m = await db.outbox.head(channel); m !== null; m = await db.outbox.head(channel)) {
      out.push(m);
      await db.outbox.markSent(m.id, clock.now(), 1);
    }
  }
  return out;
}

function events(m: OutboxMessage | undefined): readonly NotificationEvent[] {
  return parsePayload(m?.payload)?.events ?? [];
}

function numbers(m: OutboxMessage | undefined): string[] {
  return events(m).map((e) => (e.kind === 'device' ? `${e.event.type}:${e.device.number}` : e.kind));
}

describe('GroupRelease', () => {
  it('the first event waits group_wait for company, then all go out as one message, worst first', async () => {
    const s = sink();
    const r = release();
    await s.publish([down('1')], db.outbox);
    expect(await r.run()).toEqual({ queued: 0, cancelled: 0, wakeAt: T0 + 30 * S });
    await clock.advance(10 * S);
    await s.publish([accountAlert(), down('2')], db.outbox);
    await clock.advance(20 * S - 1);
    expect((await r.run()).queued).toBe(0);
    expect(await queued()).toEqual([]);
    await clock.advance(1);
    expect(await r.run()).toEqual({ queued: 1, cancelled: 0, wakeAt: null });
    const [m] = await queued();
    expect(m).toMatchObject({ channel: 'ops', createdAt: T0 + 30 * S, grouped: true, deliveryId: 'msg-1' });
    expect(numbers(m)).toEqual(['device.down:1', 'device.down:2', 'account']);
    expect(await db.outbox.held()).toEqual([]);
  });

  it('later events wait until group_interval has passed since the last message', async () => {
    const s = sink();
    const r = release();
    await s.publish([down('1')], db.outbox);
    await clock.advance(30 * S);
    await r.run();
    expect(await queued()).toHaveLength(1);
    await clock.advance(40 * S); // T0+70s
    await s.publish([down('2')], db.outbox);
    await clock.advance(2 * MIN); // T0+190s
    await s.publish([down('3')], db.outbox);
    expect((await r.run()).wakeAt).toBe(T0 + 30 * S + 5 * MIN);
    await clock.advanceTo(T0 + 30 * S + 5 * MIN - 1);
    expect((await r.run()).queued).toBe(0);
    await clock.advance(1);
    expect((await r.run()).queued).toBe(1);
    expect((await queued()).map(numbers)).toEqual([['device.down:2', 'device.down:3']]);
  });

  it('a DOWN and its UP inside one wait cancel out: nothing queued, both rows kept as cancelled', async () => {
    const s = sink();
    const r = release();
    await s.publish([down('1')], db.outbox);
    await clock.advance(10 * S);
    await s.publish([up('1')], db.outbox);
    expect(await r.run()).toEqual({ queued: 0, cancelled: 2, wakeAt: null });
    await clock.advance(10 * MIN);
    expect(await r.run()).toEqual({ queued: 0, cancelled: 0, wakeAt: null });
    expect(await queued()).toEqual([]);
    // The sink numbers the event, then its held row: rows ev-2 and ev-4.
    const rows = [await db.outbox.find('ev-2'), await db.outbox.find('ev-4')];
    expect(rows.map((m) => m?.state)).toEqual(['cancelled', 'cancelled']);
    expect(rows.map((m) => numbers(m ?? undefined))).toEqual([['device.down:1'], ['device.up:1']]);
    expect(rows[0]?.lastError).toMatch(/^cancelled out/);
    // Kept for the record until retention prunes them.
    expect(await db.outbox.prune(T0 + 10 * S)).toBe(0);
    expect(await db.outbox.prune(T0 + 10 * S + 1)).toBe(2);
  });

  it('the mass-outage line: each device.down carries its account’s fleet at release time', async () => {
    const s = sink();
    const r = release();
    await s.publish([down('1'), down('2'), down('3')], db.outbox);
    fleet = { main: { devicesTotal: 4, devicesDown: 3 } };
    await clock.advance(30 * S);
    await r.run();
    const evs = events((await queued())[0]);
    expect(evs).toHaveLength(3);
    for (const e of evs) {
      expect(e.kind === 'device' && e.outage).toEqual({ down: 3, total: 4, likelyGatewaySide: true });
    }
  });

  it('a restart rebuilds the same plan from the outbox: released once, never again', async () => {
    await sink().publish([down('1')], db.outbox);
    await clock.advance(30 * S);
    await db.reopen(); // the held row survived
    expect(await db.outbox.held()).toHaveLength(1);
    expect((await release().run()).queued).toBe(1);
    await db.reopen();
    await sink().publish([down('2')], db.outbox);
    // group_interval counts from the message the previous process queued, read from the outbox.
    expect(await release().run()).toEqual({ queued: 0, cancelled: 0, wakeAt: T0 + 30 * S + 5 * MIN });
    expect((await queued()).map(numbers)).toEqual([['device.down:1']]);
  });

  it('a failure inside the release step leaves everything held (one transaction)', async () => {
    await sink().publish([down('1'), down('2')], db.outbox);
    await clock.advance(30 * S);
    const failing = new FaultyOutbox(db.outbox);
    failing.faults.failing.set('removeHeld', new Error('disk I/O error'));
    await expect(release(failing).run()).rejects.toThrow('disk I/O error');
    expect(failing.faults.count('enqueue')).toBe(1);
    expect(await db.outbox.pendingCounts()).toEqual(new Map());
    expect(await db.outbox.held()).toHaveLength(2);
    expect((await release().run()).queued).toBe(1);
    expect((await queued()).map(numbers)).toEqual([['device.down:1', 'device.down:2']]);
  });

  it('held rows another process released meanwhile are not queued twice: the step is rolled back', async () => {
    await sink().publish([down('1')], db.outbox);
    await clock.advance(30 * S);
    const racing = new FaultyOutbox(db.outbox);
    // Another process releases the rows between this step's read and its delete.
    racing.faults.before.set('removeHeld', async (tx, [ids]) => {
      await tx.removeHeld(ids as number[]);
    });
    await expect(release(racing).run()).rejects.toThrow('released elsewhere meanwhile');
    // Rolled back whole: still held, nothing queued by this step.
    expect(await db.outbox.held()).toHaveLength(1);
    expect(await queued()).toEqual([]);
  });

  it('refused as deposed (another replica leads): nothing changes, the held events stay for it', async () => {
    await sink().publish([down('1'), up('2')], db.outbox);
    await clock.advance(30 * S);
    const fenced = new FaultyOutbox(db.outbox);
    fenced.faults.deposed = true;
    await expect(release(fenced).run()).rejects.toMatchObject({ reason: 'deposed' });
    expect(await db.outbox.held()).toHaveLength(2);
    expect(await db.outbox.pendingCounts()).toEqual(new Map());
    // The replica that leads now releases them as this one would have.
    expect((await release().run()).queued).toBe(1);
  });
});

describe('grouping through the running Notifications loop', () => {
  const running: Notifications[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((n) => n.stop()));
  });

  function start(channels: Record<string, ChannelConfig>, notifiers: FakeNotifier[]): Notifications {
    const n = new Notifications({
      outbox: db.outbox,
      config: testConfig({ notify: { ...POLICY, default: Object.keys(channels), routes: [], channels } }),
      clock,
      log: captureLogger().log,
      newId: sequentialIds(`run${running.length}`),
      fleet: () => fleet,
      createNotifier: (c) => {
        const f = new FakeNotifier(c.name, [{ ok: true }], c.type);
        notifiers.push(f);
        return f;
      },
    });
    running.push(n);
    n.start();
    return n;
  }

  it('wakes at group_wait by itself; Alertmanager is sent at once', async () => {
    const made: FakeNotifier[] = [];
    const n = start(
      { ops: webhookChannel('ops', 'http://x'), am: alertmanagerChannel('am', ['http://y']) },
      made,
    );
    await n.publish([down('1')], db.outbox);
    await clock.advance(0);
    const [ops, am] = made;
    expect(am?.attempts).toHaveLength(1);
    expect(ops?.attempts).toHaveLength(0);
    await clock.advance(30 * S - 1);
    expect(ops?.attempts).toHaveLength(0);
    await clock.advance(1);
    await vi.waitFor(() => expect(ops?.attempts).toHaveLength(1));
    expect(ops?.attempts[0]?.at).toBe(T0 + 30 * S);
  });

  it('held rows survive a stop; the next process sends them once, at their due time', async () => {
    const first: FakeNotifier[] = [];
    const n1 = start({ ops: webhookChannel('ops', 'http://x') }, first);
    await n1.publish([down('1'), down('2')], db.outbox);
    await clock.advance(10 * S);
    await n1.stop();
    expect(first[0]?.attempts).toHaveLength(0);
    await db.reopen();

    const second: FakeNotifier[] = [];
    start({ ops: webhookChannel('ops', 'http://x') }, second);
    await clock.advance(20 * S);
    await vi.waitFor(() => expect(second[0]?.attempts).toHaveLength(1));
    expect(second[0]?.attempts[0]?.message.events.map((e) => e.id)).toHaveLength(2);
    await running.at(-1)?.stop();
    await db.reopen();

    const third: FakeNotifier[] = [];
    start({ ops: webhookChannel('ops', 'http://x') }, third);
    await clock.advance(10 * MIN);
    expect(third[0]?.attempts).toHaveLength(0);
  });

  it('a DOWN and its UP inside one wait: the receiver hears nothing', async () => {
    const made: FakeNotifier[] = [];
    const n = start({ ops: webhookChannel('ops', 'http://x') }, made);
    await n.publish([down('1')], db.outbox);
    await clock.advance(5 * S);
    await n.publish([up('1')], db.outbox);
    await clock.advance(30 * MIN);
    expect(made[0]?.attempts).toHaveLength(0);
    expect(await db.outbox.held()).toEqual([]);
  });
});
