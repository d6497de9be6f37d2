// AccountPoller.load against a real SQLite store: the state a poller runs on is what the store
// holds when it loads — after a restart, for a standby refreshing its pages, and for a replica
// taking over from another — and the budget it starts with counts the calls already logged.
// Each "replica" is a poller, its cycle writer and its loop on one FakeClock, as the daemon wires
// them: a tick runs the cycle, then the writer flushes it into the store with its alerts.

import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../config/defaults.js';
import type { AccountConfig, DeviceConfig } from '../config/types.js';
import type { GatewayClient } from '../gateway/client.js';
import { createLogger } from '../log.js';
import { BUDGET_MARGIN_MS, BUDGET_WINDOW_MS } from '../monitor/budget.js';
import type { Observation } from '../monitor/model.js';
import { Mutes } from '../monitor/mutes.js';
import type { MonitorAlert } from '../notify/events.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { AccountPoller } from './account-poller.js';
import { CycleWriter } from './cycle-writer.js';
import { PollLoop } from './poll-loop.js';

const START = 1_700_000_000_000;
const TICK_MS = 10_000;
const INTERVAL_MS = 60_000;
const DEVICES = ['100000001', '100000002', '100000003'];
const silent = createLogger('error', { write: () => undefined });

function accountConfig(devices: readonly string[] = DEVICES): AccountConfig {
  const policy = {
    ...DEFAULT_POLICY,
    intervalMs: INTERVAL_MS,
    failureThreshold: 2,
    repeatIntervalMs: 0,
    delivery: { ...DEFAULT_POLICY.delivery, checkMs: null },
  };
  return {
    name: 'main',
    baseUrl: 'http://gateway.invalid/api',
    token: 't',
    concurrency: 4,
    rateLimitPerMinute: 30,
    policy,
    devices: devices.map((number): DeviceConfig => ({
      number,
      name: number,
      labels: {},
      channels: null,
      policy,
    })),
  };
}

interface Call {
  readonly device: string;
  readonly at: number;
}

/** The gateway as every replica sees it: each device answers with its current status. */
class Gateway {
  readonly calls: Call[] = [];
  readonly status = new Map<string, 'connected' | 'disconnected'>(DEVICES.map((d) => [d, 'connected']));
  /** Holds every /connect until resolved (a QR code for a DOWN that waits for the budget). */
  connectGate: Promise<void> = Promise.resolve();
  constructor(private readonly clock: FakeClock) {}

  client(): GatewayClient {
    return {
      status: async (device, opts) => {
        this.calls.push({ device, at: this.clock.now() });
        await this.clock.sleep(100, opts?.signal);
        const status = this.status.get(device) ?? 'connected';
        return { kind: 'status', status, raw: status } satisfies Observation;
      },
      balance: () => Promise.reject(new Error('not in these tests')),
      connect: async (device) => {
        this.calls.push({ device, at: this.clock.now() });
        await this.connectGate;
        return { kind: 'qr', dataUrl: `data:image/png;base64,${device}`, png: Buffer.from(device) } as const;
      },
      sendText: () => Promise.reject(new Error('not in these tests')),
      delete: () => Promise.reject(new Error('not in these tests')),
      close: () => Promise.resolve(),
    };
  }
}

/** One daemon's polling of the account: poller, cycle writer (alerts through the outbox), loop. */
class Replica {
  readonly poller: AccountPoller;
  readonly alerts: MonitorAlert[] = [];
  readonly #writer: CycleWriter;
  readonly #loop: PollLoop;
  readonly #ticks: Promise<unknown>[] = [];

  constructor(
    readonly store: SqliteStore,
    readonly clock: FakeClock,
    gateway: Gateway,
    config = accountConfig(),
  ) {
    this.#writer = new CycleWriter({
      store,
      log: silent,
      publish: async (tx, alerts) => {
        this.alerts.push(...alerts);
        await tx.outbox.enqueue(
          alerts.map((a, i) => ({
            deliveryId: `${a.event.type}-${a.event.at}-${i}-${Math.random()}`,
            channel: 'ops',
            payload: a.event.type,
            createdAt: clock.now(),
          })),
        );
      },
    });
    this.poller = new AccountPoller(config, gateway.client(), {
      store,
      clock,
      log: silent,
      mutes: new Mutes(),
      commit: (batch) => this.#writer.add(batch),
      recordCheck: () => undefined,
    });
    this.#loop = new PollLoop({ clock });
    this.#loop.add(this.poller);
  }

  /** The daemon's ticks for `ms`: each cycle, then its write. */
  async run(ms: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed += TICK_MS) {
      this.#ticks.push(this.#loop.tick(this.clock.now() + TICK_MS).then(() => this.#writer.flush()));
      await this.clock.advance(TICK_MS);
    }
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await Promise.allSettled(this.#ticks);
    await this.#writer.close();
  }
}

/** The devices a device.down was sent for, in order. */
const downs = (alerts: readonly MonitorAlert[]): string[] =>
  alerts.flatMap((a) => (a.kind === 'device' && a.event.type === 'device.down' ? [a.device.number] : []));

describe('AccountPoller.load', () => {
  it('reads nothing when constructed: the store is first read by load', async () => {
    const store = openSqliteStore(':memory:');
    await store.close();
    const clock = new FakeClock(START);
    const replica = new Replica(store, clock, new Gateway(clock));
    expect(replica.poller.rows().map((r) => r.status)).toEqual([null, null, null]);
    await expect(replica.poller.load()).rejects.toMatchObject({ reason: 'closed' });
  });

  it('replaces the state in memory with what another writer stored since', async () => {
    const store = openSqliteStore(':memory:');
    const clock = new FakeClock(START);
    const gateway = new Gateway(clock);
    const standby = new Replica(store, clock, gateway);
    await standby.poller.load();
    // The standby polled once itself (a leader before), then another replica led.
    await standby.run(2 * INTERVAL_MS);
    await standby.stop();
    expect(standby.poller.devices.get(DEVICES[0]!)?.state.health).toBe('UP');

    const leader = new Replica(store, clock, gateway);
    await leader.poller.load();
    gateway.status.set(DEVICES[0]!, 'disconnected');
    await leader.run(3 * INTERVAL_MS);
    await leader.stop();
    expect(downs(leader.alerts)).toEqual([DEVICES[0]]);

    await standby.poller.load();
    expect(standby.poller.rows()).toEqual(leader.poller.rows());
    expect(standby.poller.rows()).toEqual(await store.getDevices());
    expect(standby.poller.devices.get(DEVICES[0]!)?.state.health).toBe('DOWN');
    expect(standby.poller.accountState).toEqual(leader.poller.accountState);
    await store.close();
  });

  it('a replica taking over neither re-alerts what the store decided nor checks before it is due', async () => {
    const store = openSqliteStore(':memory:');
    const clock = new FakeClock(START);
    const gateway = new Gateway(clock);
    const old = new Replica(store, clock, gateway);
    await old.poller.load();
    await old.run(INTERVAL_MS);
    gateway.status.set(DEVICES[0]!, 'disconnected');
    gateway.status.set(DEVICES[1]!, 'disconnected');
    await old.run(3 * INTERVAL_MS);
    // kill -9 of the old leader: its memory is gone, the store holds what it decided.
    await old.stop();
    expect(downs(old.alerts).sort()).toEqual([DEVICES[0], DEVICES[1]]);
    const lastCheck = new Map(gateway.calls.map((c) => [c.device, c.at]));
    const handover = gateway.calls.length;

    const next = new Replica(store, clock, gateway);
    await next.poller.load();
    await next.run(3 * INTERVAL_MS);
    gateway.status.set(DEVICES[1]!, 'connected');
    await next.run(3 * INTERVAL_MS);
    await next.stop();

    // Still down: nothing alerted again. Back up: device.up, as the old leader would have sent.
    expect(next.alerts.map((a) => a.event.type)).toEqual(['device.up']);
    expect(next.alerts[0]).toMatchObject({ device: { number: DEVICES[1] } });
    // Each device's first check after the takeover: one interval after its stored last check, as
    // after a restart (within a tick and the budget's spacing), not at once.
    for (const device of DEVICES) {
      const first = gateway.calls.slice(handover).find((c) => c.device === device)!;
      expect(first.at - lastCheck.get(device)!, device).toBeGreaterThanOrEqual(INTERVAL_MS);
      expect(first.at - lastCheck.get(device)!, device).toBeLessThanOrEqual(INTERVAL_MS + TICK_MS);
    }
    expect((await store.history('main', DEVICES[0]!)).map((h) => h.to)).toEqual([
      'connected',
      'disconnected',
    ]);
    await store.close();
  });

  it('starts the budget with the calls another process logged in the last window, under any epoch', async () => {
    const store = openSqliteStore(':memory:');
    const clock = new FakeClock(START);
    const gateway = new Gateway(clock);
    // The previous leader (epoch 6) spent the whole budget in the last 50 s; older calls are gone.
    const call = (at: number, epoch: number) =>
      store.recordApiCall({ account: 'main', at, kind: 'check', origin: 'daemon', caller: 'old', epoch });
    await call(START - 120_000, 5);
    for (let i = 0; i < 30; i++) await call(START - 50_000 + i * 1_000, 6);

    const replica = new Replica(store, clock, gateway);
    const now = clock.monotonic();
    expect(replica.poller.gateway.nextFreeAt(now)).toBe(now);
    await replica.poller.load();
    // The oldest of those 30 must leave the span first: 50 s ago + the window and its margin.
    const freeAt = now - 50_000 + BUDGET_WINDOW_MS + BUDGET_MARGIN_MS;
    expect(replica.poller.gateway.nextFreeAt(now)).toBe(freeAt);
    await replica.run(2 * INTERVAL_MS);
    await replica.stop();
    expect(gateway.calls.length).toBeGreaterThan(0);
    expect(Math.min(...gateway.calls.map((c) => c.at))).toBeGreaterThanOrEqual(START - now + freeAt);
    // A second load adds nothing counted already.
    await replica.poller.load();
    expect(replica.poller.gateway.nextFreeAt(clock.monotonic())).toBe(clock.monotonic());
    await store.close();
  });
});

describe('AccountPoller.update', () => {
  it('starts a device put back in the config from its stored state', async () => {
    const store = openSqliteStore(':memory:');
    const clock = new FakeClock(START);
    const gateway = new Gateway(clock);
    gateway.status.set(DEVICES[2]!, 'disconnected');
    const replica = new Replica(store, clock, gateway);
    await replica.poller.load();
    await replica.run(3 * INTERVAL_MS);
    expect(downs(replica.alerts)).toEqual([DEVICES[2]]);
    await replica.poller.update(accountConfig(DEVICES.slice(0, 2)));
    expect(replica.poller.devices.has(DEVICES[2]!)).toBe(false);
    await replica.poller.update(accountConfig());
    expect(replica.poller.devices.get(DEVICES[2]!)?.state.health).toBe('DOWN');
    await replica.run(2 * INTERVAL_MS);
    await replica.stop();
    expect(downs(replica.alerts)).toEqual([DEVICES[2]]);
    await store.close();
  });
});

describe('AccountPoller.check', () => {
  it('loses no DOWN whose QR code arrives after ticks were skipped meanwhile', async () => {
    const store = openSqliteStore(':memory:');
    const clock = new FakeClock(START);
    const gateway = new Gateway(clock);
    const config = accountConfig();
    const qr = config.devices.map((d) => ({ ...d, policy: { ...d.policy, reconnect: 'qr' as const } }));
    const replica = new Replica(store, clock, gateway, { ...config, devices: qr });
    await replica.poller.load();
    await replica.run(INTERVAL_MS);
    let release = (): void => undefined;
    gateway.connectGate = new Promise((resolve) => (release = resolve));
    gateway.status.set(DEVICES[0]!, 'disconnected');
    // The DOWN is decided, then waits for its QR code across several ticks, each skipped.
    await replica.run(3 * INTERVAL_MS);
    expect(downs(replica.alerts)).toEqual([]);
    release();
    await replica.run(2 * TICK_MS);
    await replica.stop();
    expect(downs(replica.alerts)).toEqual([DEVICES[0]]);
    const down = replica.alerts.find((a) => a.event.type === 'device.down')!;
    expect(down).toMatchObject({ qrCode: { dataUrl: `data:image/png;base64,${DEVICES[0]}` } });
    expect((await store.getDevices()).find((r) => r.device === DEVICES[0])?.health).toBe('DOWN');
    await store.close();
  });
});
