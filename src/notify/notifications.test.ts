import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChannelConfig, Config } from '../config/types.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { Notifications } from './notifications.js';
import type { DeliveryOutcome } from './outbox-worker.js';
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
  db.dispose();
});

function configWith(channels: Record<string, ChannelConfig>, defaults = Object.keys(channels)): Config {
  return testConfig({ notify: { default: defaults, routes: [], channels } });
}

function notifications(config: Config, log = captureLogger().log, fake = true): Notifications {
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
  });
  running.push(n);
  return n;
}

describe('Notifications', () => {
  it('publish → outbox → channel; pending counts and outcomes for the metrics', async () => {
    const n = notifications(configWith({ ops: webhookChannel('ops', 'http://x') }));
    n.start();
    n.publish([deviceAlert(), deviceAlert({ number: '222' }), accountAlert()]);
    await vi.waitFor(() => expect(outcomes).toHaveLength(1));
    expect(n.pending()).toEqual([]);
    expect(created[0]?.attempts).toHaveLength(1);
    expect(created[0]?.attempts[0]?.message.events).toHaveLength(3);
    expect(outcomes).toEqual([['ops', 'sent']]);
  });

  it('reload swaps the channels: the old ones are closed, queued messages follow the new config', async () => {
    const n = notifications(configWith({ ops: webhookChannel('ops', 'http://x') }));
    const [old] = created;
    await n.reload(
      configWith({ ops: webhookChannel('ops', 'http://y'), pager: webhookChannel('pager', 'http://z') }),
    );
    expect(old?.closed).toBe(true);
    n.start();
    n.publish([deviceAlert()]);
    await vi.waitFor(() => expect(outcomes).toHaveLength(2));
    expect(created.slice(1).map((f) => [f.channel, f.attempts.length])).toEqual([
      ['ops', 1],
      ['pager', 1],
    ]);
  });

  it('once started, re-sends firing Alertmanager alerts every minute by itself, until resolved', async () => {
    const n = notifications(configWith({ am: alertmanagerChannel('am', ['http://x']) }));
    n.start();
    n.publish([deviceAlert()]);
    await clock.advance(1);
    const am = created[0]!;
    expect(am.attempts.map((a) => a.at - T0)).toEqual([0]);
    await clock.advance(60_000);
    await clock.advance(60_000);
    expect(am.attempts.map((a) => a.at - T0)).toEqual([0, 60_000, 120_000]);
    n.publish([deviceAlert({ event: upEvent({ at: clock.now() }) })]);
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

  it('tick() never throws, even when the database is gone; it logs instead', () => {
    const { log, lines } = captureLogger();
    const n = notifications(configWith({ ops: webhookChannel('ops', 'http://x') }), log);
    db.store.close();
    expect(() => n.tick()).not.toThrow();
    expect(lines.some((l) => l.includes('"level":"error"') && l.includes('Alertmanager re-send'))).toBe(true);
    db.reopen();
  });

  it('prune removes delivered messages older than retention', async () => {
    const n = notifications(configWith({ ops: webhookChannel('ops', 'http://x') }));
    n.start();
    n.publish([deviceAlert()]);
    await vi.waitFor(() => expect(outcomes).toEqual([['ops', 'sent']]));
    // The held row went into the message: one row, the sent message.
    expect(n.prune(T0 + 1)).toBe(1);
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
      n.publish([deviceAlert()]);
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
