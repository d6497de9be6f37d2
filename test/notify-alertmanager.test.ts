// The Alertmanager channel against the real Alertmanager binary (Debian's
// prometheus-alertmanager) on loopback: two instances stand for a cluster, and every alert must
// reach both. Missing binary: skipped locally with the reason, a failure in CI.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../src/test-support/fake-clock.js';
import { Notifications } from '../src/notify/notifications.js';
import type { DeliveryOutcome } from '../src/notify/outbox-worker.js';
import {
  ALERTMANAGER_BIN,
  alertmanagerAvailable,
  startAlertmanager,
  type AlertmanagerApiAlert,
  type AlertmanagerProcess,
} from '../src/notify/test-support/alertmanager-process.js';
import {
  accountAlert,
  alertmanagerChannel,
  captureLogger,
  deviceAlert,
  testConfig,
} from '../src/notify/test-support/fixtures.js';
import { tempDb, type TempDb } from '../src/notify/test-support/store.js';

const available = alertmanagerAvailable();
const inCi = process.env['CI'] !== undefined && process.env['CI'] !== '';

if (!available) {
  if (inCi) {
    it(`needs ${ALERTMANAGER_BIN} (required in CI)`, () => {
      expect.fail(`${ALERTMANAGER_BIN} is missing: install Debian's prometheus-alertmanager`);
    });
  } else {
    it.skip(`Alertmanager channel: skipped, ${ALERTMANAGER_BIN} is not installed`, () => undefined);
  }
}

describe.runIf(available)('Alertmanager channel against the real binary', () => {
  const cluster: AlertmanagerProcess[] = [];
  let db: TempDb;
  let clock: FakeClock;
  let notifications: Notifications;
  const outcomes: [string, DeliveryOutcome][] = [];
  const config = testConfig({
    publicUrl: 'https://monitor.example.com',
    notify: { default: ['am'], routes: [], channels: { am: alertmanagerChannel('am', []) } },
  });

  /** Each attempt goes out from the running outbox loop; tests wait for its outcome. */
  const settled = (n: number): Promise<void> => vi.waitFor(() => expect(outcomes).toHaveLength(n));

  function start(): Notifications {
    const n = new Notifications({
      outbox: db.outbox,
      config: {
        ...config,
        notify: {
          ...config.notify,
          channels: {
            am: alertmanagerChannel(
              'am',
              cluster.map((am) => am.url),
            ),
          },
        },
      },
      // Alertmanager compares startsAt/endsAt with its own clock: the fake one starts at the real time.
      clock,
      log: captureLogger().log,
      onOutcome: (channel, outcome) => outcomes.push([channel, outcome]),
    });
    n.start();
    return n;
  }

  async function deviceAlerts(am: AlertmanagerProcess): Promise<AlertmanagerApiAlert[]> {
    return (await am.alerts()).filter((a) => a.labels['alertname'] === 'WhatsGateDeviceDown');
  }

  beforeAll(async () => {
    cluster.push(...(await Promise.all([startAlertmanager(), startAlertmanager()])));
    db = tempDb();
    clock = new FakeClock(Date.now());
    notifications = start();
  });

  afterAll(async () => {
    await notifications?.stop();
    await db?.dispose();
    await Promise.all(cluster.map((am) => am.stop()));
  });

  it('a drop fires WhatsGateDeviceDown on every member, with labels, annotations and generatorURL', async () => {
    const now = clock.now();
    await notifications.publish(
      [
        deviceAlert({
          labels: { team: 'sales' },
          event: { at: now, since: now - 60_000, downSince: now - 60_000 },
        }),
      ],
      db.outbox,
    );
    await settled(1);
    expect(outcomes).toEqual([['am', 'sent']]);
    for (const am of cluster) {
      const alerts = await deviceAlerts(am);
      expect(alerts).toHaveLength(1);
      const [alert] = alerts;
      expect(alert?.labels).toEqual({
        alertname: 'WhatsGateDeviceDown',
        account: 'main',
        device: '123456789',
        name: 'Sales phone',
        team: 'sales',
      });
      expect(alert?.status.state).toBe('active');
      expect(alert?.annotations['summary']).toBe('Sales phone (123456789) is DOWN: disconnected');
      expect(alert?.annotations['description']).toContain('whatsgate-monitor connect 123456789');
      expect(alert?.annotations['reconnect_url']).toBe('https://monitor.example.com/reconnect/123456789');
      expect(alert?.generatorURL).toBe('https://monitor.example.com/');
      expect(Date.parse(alert!.startsAt)).toBe(now - 60_000);
      expect(Date.parse(alert!.endsAt)).toBe(now + 4 * 60_000);
    }
  });

  it('is re-sent every minute while it holds, and after a restart at once (endsAt moves on)', async () => {
    await notifications.tick();
    expect(outcomes).toHaveLength(1);

    // The running loop's own 15 s check re-sends once the minute is up.
    await clock.advance(60_000);
    await notifications.tick();
    await settled(2);
    for (const am of cluster) {
      const [alert] = await deviceAlerts(am);
      expect(Date.parse(alert!.endsAt)).toBe(clock.now() + 4 * 60_000);
    }

    // A restart: the firing alert comes from the database, not from memory.
    await notifications.stop();
    await db.reopen();
    await clock.advance(5_000);
    notifications = start();
    await notifications.tick();
    await settled(3);
    const [alert] = await deviceAlerts(cluster[0]!);
    expect(Date.parse(alert!.endsAt)).toBe(clock.now() + 4 * 60_000);
  });

  it('an unreachable account fires WhatsGateAccountUnreachable', async () => {
    const now = clock.now();
    const before = outcomes.length;
    await notifications.publish([accountAlert({ event: { at: now, since: now - 120_000 } })], db.outbox);
    await settled(before + 1);
    const alerts = (await cluster[1]!.alerts()).filter(
      (a) => a.labels['alertname'] === 'WhatsGateAccountUnreachable',
    );
    expect(alerts.map((a) => a.labels)).toEqual([
      { alertname: 'WhatsGateAccountUnreachable', account: 'main' },
    ]);
    expect(alerts[0]?.annotations['description']).toContain('unauthorized');
  });

  it('recovery resolves it (endsAt = now): gone from every member', async () => {
    // The event's own time is "now" for endsAt; it must not be ahead of Alertmanager's clock.
    const realNow = Date.now();
    await notifications.publish(
      [
        deviceAlert({
          labels: { team: 'sales' },
          event: {
            type: 'device.up',
            at: realNow,
            status: 'connected',
            previousStatus: 'disconnected',
            since: realNow,
            downSince: realNow - 120_000,
          },
        }),
        accountAlert({
          event: {
            type: 'account.recovered',
            at: realNow,
            since: realNow - 180_000,
            reason: null,
            message: null,
          },
        }),
      ],
      db.outbox,
    );
    const sent = outcomes.length;
    await settled(sent + 1);
    for (const am of cluster) expect(await am.alerts()).toEqual([]);
    expect(await db.outbox.firing()).toEqual([]);
    // Nothing left to re-send.
    await clock.advance(120_000);
    const before = outcomes.length;
    await notifications.tick();
    await clock.advance(0);
    expect(outcomes).toHaveLength(before);
  });
});
