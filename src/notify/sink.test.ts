import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../config/types.js';
import { FakeClock } from '../test-support/fake-clock.js';
import type { OutboxMessage } from '../store/outbox.js';
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

/** Every pending message, oldest first. */
function pending(): OutboxMessage[] {
  const out: OutboxMessage[] = [];
  for (const [channel] of db.outbox.pendingCounts()) {
    for (let m = db.outbox.head(channel); m !== null; m = db.outbox.head(channel)) {
      out.push(m);
      db.outbox.markSent(m.id, T0, 1);
    }
  }
  return out.sort((a, b) => a.id - b.id);
}

function events(m: OutboxMessage | undefined): readonly NotificationEvent[] {
  return parsePayload(m?.payload)?.events ?? [];
}

/** The held events per channel (one row each), in the order they were held. */
function held(): Record<string, NotificationEvent[]> {
  const out: Record<string, NotificationEvent[]> = {};
  for (const row of db.outbox.held()) (out[row.channel] ??= []).push(...events(row));
  return out;
}

const withAm = (alert: MonitorAlert): MonitorAlert =>
  alert.kind === 'device' ? { ...alert, channels: ['am'] } : alert;

describe('NotificationSink.publish', () => {
  it('holds each routed event as its own outbox row per channel, for grouping; nothing pending yet', () => {
    const alerts = Array.from({ length: 50 }, (_, i) =>
      deviceAlert({ number: `${100 + i}`, name: `Phone ${i}`, labels: { team: 'sales' } }),
    );
    sink().publish(alerts);
    const rows = db.outbox.held();
    expect(rows).toHaveLength(100);
    expect(rows.every((r) => r.state === 'held' && r.createdAt === T0 && r.attempts === 0)).toBe(true);
    expect(rows.every((r) => events(r).length === 1)).toBe(true);
    const byChannel = held();
    expect(Object.keys(byChannel).sort()).toEqual(['ops', 'sales']);
    // The same event has the same id in every channel; rows have their own delivery ids.
    expect(byChannel['sales']!.map((e) => e.id)).toEqual(byChannel['ops']!.map((e) => e.id));
    expect(new Set(rows.map((m) => m.deliveryId)).size).toBe(100);
    expect(db.outbox.pendingCounts()).toEqual(new Map());
    expect(queued).toBe(1);
  });

  it('Alertmanager is not held: it groups on its own, so its message is queued at once', () => {
    sink().publish([withAm(deviceAlert({ number: '1' })), deviceAlert({ number: '2' })]);
    expect(Object.keys(held())).toEqual(['ops']);
    expect(pending().map((m) => [m.channel, events(m).length])).toEqual([['am', 1]]);
  });

  it('a failing write holds nothing and queues nothing (one transaction)', () => {
    const s = sink();
    const enqueue = db.outbox.enqueue.bind(db.outbox);
    db.outbox.enqueue = () => {
      throw new Error('disk full');
    };
    try {
      expect(() => s.publish([withAm(deviceAlert({ number: '1' })), deviceAlert({ number: '2' })])).toThrow(
        'disk full',
      );
    } finally {
      db.outbox.enqueue = enqueue;
    }
    expect(db.outbox.held()).toEqual([]);
    expect(db.outbox.firing()).toEqual([]);
  });

  it('routes each alert on its own: labels, the device’s channels, default for the rest', () => {
    sink().publish([
      deviceAlert({ number: '1', labels: { team: 'sales' } }),
      deviceAlert({ number: '2', labels: { team: 'support' } }),
      deviceAlert({ number: '3', channels: ['sales'] }),
      accountAlert(),
    ]);
    const byChannel = Object.fromEntries(
      Object.entries(held()).map(([channel, list]) => [
        channel,
        list.map((e) => (e.kind === 'device' ? e.device.number : e.kind)),
      ]),
    );
    expect(byChannel).toEqual({ sales: ['1', '3'], ops: ['1', '2', 'account'] });
  });

  it('keeps the QR code for email and webhook', () => {
    sink().publish([deviceAlert({ qrCode: QR_DATA_URL })]);
    const [event] = held()['ops'] ?? [];
    expect(event?.kind === 'device' && event.qrCode).toBe(QR_DATA_URL);
  });

  it('an alert routed to a channel that does not exist is logged once and skipped', () => {
    const { log, lines } = captureLogger();
    const s = sink(config, log);
    s.publish([deviceAlert({ channels: ['nope', 'ops'] })]);
    s.publish([deviceAlert({ channels: ['nope'] })]);
    expect(Object.keys(held())).toEqual(['ops']);
    expect(lines.filter((l) => l.includes('not configured'))).toHaveLength(1);
  });

  it('nothing to send, nothing queued', () => {
    sink().publish([]);
    sink().publish([deviceAlert({ channels: [] })]);
    expect(pending()).toEqual([]);
    expect(db.outbox.held()).toEqual([]);
    expect(queued).toBe(0);
  });
});

describe('Alertmanager firing alerts', () => {
  it('a drop is queued and remembered as firing; the recovery resolves it and forgets it', () => {
    const s = sink();
    s.publish([withAm(deviceAlert({ labels: { team: 'sales' }, qrCode: QR_DATA_URL }))]);
    expect(db.outbox.firing()).toMatchObject([
      { channel: 'am', key: 'device/main/123456789', updatedAt: T0 },
    ]);
    // Alertmanager gets no image, so the firing copy keeps none.
    expect(db.outbox.firing()[0]?.event).toMatchObject({ qrCode: null });
    s.publish([withAm(deviceAlert({ labels: { team: 'sales' }, event: upEvent() }))]);
    expect(db.outbox.firing()).toEqual([]);
    expect(
      pending()
        .filter((m) => m.channel === 'am')
        .map((m) => events(m)[0]?.kind),
    ).toEqual(['device', 'device']);
  });

  it('the recovery is sent with the labels the alert fired with, even if a reload changed them', () => {
    const s = sink();
    s.publish([withAm(deviceAlert({ name: 'Old name', labels: { team: 'sales' } }))]);
    s.publish([withAm(deviceAlert({ name: 'New name', labels: { team: 'support' }, event: upEvent() }))]);
    const [, resolve] = pending().filter((m) => m.channel === 'am');
    expect(events(resolve)[0]).toMatchObject({
      device: { name: 'Old name', labels: { team: 'sales' } },
      event: { type: 'device.up' },
    });
  });

  it('a flapping device that is UP sends Alertmanager nothing', () => {
    sink().publish([
      withAm(deviceAlert({ event: { type: 'device.flapping', status: 'connected', downSince: undefined } })),
    ]);
    expect(pending()).toEqual([]);
  });

  it('re-sends every firing alert once a minute, one message per channel; restarts re-send at once', () => {
    const s = sink();
    s.publish([withAm(deviceAlert()), accountAlert()]);
    // The account alert went to ops (default); only the device fires at am.
    pending();
    s.refreshFiring(T0 + 59_999);
    expect(pending()).toEqual([]);
    s.refreshFiring(T0 + 60_000);
    const [refresh] = pending();
    expect(refresh?.channel).toBe('am');
    expect(events(refresh).map((e) => e.kind)).toEqual(['device']);
    s.refreshFiring(T0 + 60_000 + 30_000);
    expect(pending()).toEqual([]);

    const restarted = sink();
    restarted.refreshFiring(T0 + 100_000);
    expect(pending().map((m) => m.channel)).toEqual(['am']);
  });

  it('no re-send while the channel still has messages pending (they go first)', () => {
    const s = sink();
    s.publish([withAm(deviceAlert())]);
    s.refreshFiring(T0 + 120_000);
    expect(db.outbox.pendingCounts().get('am')).toBe(1);
  });

  it('stops re-sending alerts of devices and channels no longer configured', () => {
    const { log, lines } = captureLogger();
    const s = sink(config, log);
    s.publish([withAm(deviceAlert({ number: '123456789' }))]);
    pending();
    s.setConfig(testConfig({ notify: config.notify, accounts: [] }));
    s.refreshFiring(T0 + 120_000);
    expect(pending()).toEqual([]);
    expect(db.outbox.firing()).toEqual([]);
    expect(lines.some((l) => l.includes('no longer configured'))).toBe(true);
  });
});
