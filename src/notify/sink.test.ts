import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../config/types.js';
import { FakeClock } from '../test-support/fake-clock.js';
import type { OutboxMessage } from '../store/outbox-store.js';
import type { MonitorAlert } from './events.js';
import { parsePayload, type NotificationEvent } from './message.js';
import { NotificationSink } from './sink.js';
import {
  accountAlert,
  alertmanagerChannel,
  captureLogger,
  deviceAlert,
  QR_DATA_URL,
  sequentialIds,
  T0,
  testConfig,
  upEvent,
  webhookChannel,
} from './test-support/fixtures.js';
import { FaultyOutbox } from './test-support/faulty-outbox.js';
import { tempDb, type TempDb } from './test-support/store.js';

let db: TempDb;
let clock: FakeClock;
let queued: number;

const config: Config = testConfig({
  notify: {
    default: ['ops'],
    routes: [{ match: { team: 'sales' }, channels: ['sales', 'ops'] }],
    channels: {
      ops: webhookChannel('ops', 'http://127.0.0.1:1/ops'),
      sales: webhookChannel('sales', 'http://127.0.0.1:1/sales'),
      am: alertmanagerChannel('am', ['http://127.0.0.1:1']),
    },
  },
});

beforeEach(() => {
  db = tempDb();
  clock = new FakeClock(T0);
  queued = 0;
});
afterEach(() => db.dispose());

function sink(cfg: Config = config, log = captureLogger().log): NotificationSink {
  return new NotificationSink({
    store: db.outbox,
    clock,
    log,
    config: cfg,
    newId: sequentialIds(),
    onQueued: () => queued++,
  });
}

/** Every pending message, oldest first (marked sent, so the next call sees only newer ones). */
async function pending(): Promise<OutboxMessage[]> {
  const out: OutboxMessage[] = [];
  for (const [channel] of await db.outbox.pendingCounts()) {
    for (let m = await db.outbox.head(channel); m !== null; m = await db.outbox.head(channel)) {
      out.push(m);
      await db.outbox.markSent(m.id, T0, 1);
    }
  }
  return out.sort((a, b) => a.id - b.id);
}

function events(m: OutboxMessage | undefined): readonly NotificationEvent[] {
  return parsePayload(m?.payload)?.events ?? [];
}

/** The held events per channel (one row each), in the order they were held. */
async function held(): Promise<Record<string, NotificationEvent[]>> {
  const out: Record<string, NotificationEvent[]> = {};
  for (const row of await db.outbox.held()) (out[row.channel] ??= []).push(...events(row));
  return out;
}

const withAm = (alert: MonitorAlert): MonitorAlert =>
  alert.kind === 'device' ? { ...alert, channels: ['am'] } : alert;

describe('NotificationSink.publish', () => {
  it('holds each routed event as its own outbox row per channel, for grouping; nothing pending yet', async () => {
    const alerts = Array.from({ length: 50 }, (_, i) =>
      deviceAlert({ number: `${100 + i}`, name: `Phone ${i}`, labels: { team: 'sales' } }),
    );
    await sink().publish(alerts, db.outbox);
    const rows = await db.outbox.held();
    expect(rows).toHaveLength(100);
    expect(rows.every((r) => r.state === 'held' && r.createdAt === T0 && r.attempts === 0)).toBe(true);
    expect(rows.every((r) => events(r).length === 1)).toBe(true);
    const byChannel = await held();
    expect(Object.keys(byChannel).sort()).toEqual(['ops', 'sales']);
    // The same event has the same id in every channel; rows have their own delivery ids.
    expect(byChannel['sales']!.map((e) => e.id)).toEqual(byChannel['ops']!.map((e) => e.id));
    expect(new Set(rows.map((m) => m.deliveryId)).size).toBe(100);
    expect(await db.outbox.pendingCounts()).toEqual(new Map());
    expect(queued).toBe(1);
  });

  it('Alertmanager is not held: it groups on its own, so its message is queued at once', async () => {
    await sink().publish([withAm(deviceAlert({ number: '1' })), deviceAlert({ number: '2' })], db.outbox);
    expect(Object.keys(await held())).toEqual(['ops']);
    expect((await pending()).map((m) => [m.channel, events(m).length])).toEqual([['am', 1]]);
  });

  it('a failing write holds nothing and queues nothing (one transaction)', async () => {
    const failing = new FaultyOutbox(db.outbox);
    failing.faults.failing.set('enqueue', new Error('disk full'));
    await expect(
      sink().publish([withAm(deviceAlert({ number: '1' })), deviceAlert({ number: '2' })], failing),
    ).rejects.toThrow('disk full');
    expect(failing.faults.count('hold')).toBe(1);
    expect(await db.outbox.held()).toEqual([]);
    expect(await db.outbox.firing()).toEqual([]);
  });

  it('writes only through the outbox it is given, inside the caller’s transaction', async () => {
    // The cycle writer's tick: device rows and messages commit together, or neither.
    await expect(
      db.store.transaction(async (tx) => {
        await sink().publish([withAm(deviceAlert({ number: '1' })), deviceAlert({ number: '2' })], tx.outbox);
        expect(await tx.outbox.held()).toHaveLength(1);
        throw new Error('the tick failed after publishing');
      }),
    ).rejects.toThrow('the tick failed');
    expect(await db.outbox.held()).toEqual([]);
    expect(await db.outbox.firing()).toEqual([]);
    expect(await pending()).toEqual([]);
    await db.store.transaction((tx) => sink().publish([deviceAlert({ number: '3' })], tx.outbox));
    expect(Object.keys(await held())).toEqual(['ops']);
  });

  it('routes each alert on its own: labels, the device’s channels, default for the rest', async () => {
    await sink().publish(
      [
        deviceAlert({ number: '1', labels: { team: 'sales' } }),
        deviceAlert({ number: '2', labels: { team: 'support' } }),
        deviceAlert({ number: '3', channels: ['sales'] }),
        accountAlert(),
      ],
      db.outbox,
    );
    const byChannel = Object.fromEntries(
      Object.entries(await held()).map(([channel, list]) => [
        channel,
        list.map((e) => (e.kind === 'device' ? e.device.number : e.kind)),
      ]),
    );
    expect(byChannel).toEqual({ sales: ['1', '3'], ops: ['1', '2', 'account'] });
  });

  it('keeps the QR code for email and webhook', async () => {
    await sink().publish([deviceAlert({ qrCode: QR_DATA_URL })], db.outbox);
    const [event] = (await held())['ops'] ?? [];
    expect(event?.kind === 'device' && event.qrCode).toBe(QR_DATA_URL);
  });

  it('an alert routed to a channel that does not exist is logged once and skipped', async () => {
    const { log, lines } = captureLogger();
    const s = sink(config, log);
    await s.publish([deviceAlert({ channels: ['nope', 'ops'] })], db.outbox);
    await s.publish([deviceAlert({ channels: ['nope'] })], db.outbox);
    expect(Object.keys(await held())).toEqual(['ops']);
    expect(lines.filter((l) => l.includes('not configured'))).toHaveLength(1);
  });

  it('nothing to send, nothing queued', async () => {
    await sink().publish([], db.outbox);
    await sink().publish([deviceAlert({ channels: [] })], db.outbox);
    expect(await pending()).toEqual([]);
    expect(await db.outbox.held()).toEqual([]);
    expect(queued).toBe(0);
  });
});

describe('Alertmanager firing alerts', () => {
  it('a drop is queued and remembered as firing; the recovery resolves it and forgets it', async () => {
    const s = sink();
    await s.publish([withAm(deviceAlert({ labels: { team: 'sales' }, qrCode: QR_DATA_URL }))], db.outbox);
    expect(await db.outbox.firing()).toMatchObject([
      { channel: 'am', key: 'device/main/123456789', updatedAt: T0 },
    ]);
    // Alertmanager gets no image, so the firing copy keeps none.
    expect((await db.outbox.firing())[0]?.event).toMatchObject({ qrCode: null });
    await s.publish([withAm(deviceAlert({ labels: { team: 'sales' }, event: upEvent() }))], db.outbox);
    expect(await db.outbox.firing()).toEqual([]);
    expect((await pending()).filter((m) => m.channel === 'am').map((m) => events(m)[0]?.kind)).toEqual([
      'device',
      'device',
    ]);
  });

  it('the recovery is sent with the labels the alert fired with, even if a reload changed them', async () => {
    const s = sink();
    await s.publish([withAm(deviceAlert({ name: 'Old name', labels: { team: 'sales' } }))], db.outbox);
    await s.publish(
      [withAm(deviceAlert({ name: 'New name', labels: { team: 'support' }, event: upEvent() }))],
      db.outbox,
    );
    const [, resolve] = (await pending()).filter((m) => m.channel === 'am');
    expect(events(resolve)[0]).toMatchObject({
      device: { name: 'Old name', labels: { team: 'sales' } },
      event: { type: 'device.up' },
    });
  });

  it('a flapping device that is UP sends Alertmanager nothing', async () => {
    await sink().publish(
      [
        withAm(
          deviceAlert({ event: { type: 'device.flapping', status: 'connected', downSince: undefined } }),
        ),
      ],
      db.outbox,
    );
    expect(await pending()).toEqual([]);
  });

  it('re-sends every firing alert once a minute, one message per channel; restarts re-send at once', async () => {
    const s = sink();
    await s.publish([withAm(deviceAlert()), accountAlert()], db.outbox);
    // The account alert went to ops (default); only the device fires at am.
    await pending();
    await s.refreshFiring(T0 + 59_999);
    expect(await pending()).toEqual([]);
    await s.refreshFiring(T0 + 60_000);
    const [refresh] = await pending();
    expect(refresh?.channel).toBe('am');
    expect(events(refresh).map((e) => e.kind)).toEqual(['device']);
    await s.refreshFiring(T0 + 60_000 + 30_000);
    expect(await pending()).toEqual([]);

    const restarted = sink();
    await restarted.refreshFiring(T0 + 100_000);
    expect((await pending()).map((m) => m.channel)).toEqual(['am']);
  });

  it('no re-send while the channel still has messages pending (they go first)', async () => {
    const s = sink();
    await s.publish([withAm(deviceAlert())], db.outbox);
    await s.refreshFiring(T0 + 120_000);
    expect((await db.outbox.pendingCounts()).get('am')).toBe(1);
  });

  it('stops re-sending alerts of devices and channels no longer configured', async () => {
    const { log, lines } = captureLogger();
    const s = sink(config, log);
    await s.publish([withAm(deviceAlert({ number: '123456789' }))], db.outbox);
    await pending();
    s.setConfig(testConfig({ notify: config.notify, accounts: [] }));
    await s.refreshFiring(T0 + 120_000);
    expect(await pending()).toEqual([]);
    expect(await db.outbox.firing()).toEqual([]);
    expect(lines.some((l) => l.includes('no longer configured'))).toBe(true);
  });
});
