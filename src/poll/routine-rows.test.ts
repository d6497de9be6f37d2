// Routine rows (issue 17) through the real poller, cycle writer and SQLite store on a FakeClock:
// "still connected" rows reach the store at most every ROUTINE_ROW_EVERY_MS, and a crash — the
// poller dropped without a stop or a last flush — loses no status change, history row or alert,
// only last-check times and run counters of devices whose answers repeated.

import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../config/defaults.js';
import type { AccountConfig, DeviceConfig } from '../config/types.js';
import type { GatewayClient } from '../gateway/client.js';
import { createLogger } from '../log.js';
import type { DeviceState } from '../monitor/device-state.js';
import type { Observation } from '../monitor/model.js';
import { Mutes } from '../monitor/mutes.js';
import type { MonitorAlert } from '../notify/events.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store.js';
import type { AccountRow, DeviceRow } from '../store/store.js';
import type { AccountState } from '../monitor/account-state.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { AccountPoller } from './account-poller.js';
import { CycleWriter } from './cycle-writer.js';
import { PollLoop } from './poll-loop.js';
import { ROUTINE_ROW_EVERY_MS } from './routine-rows.js';

const START = 1_700_000_000_000;
const TICK_MS = 10_000;
const INTERVAL_MS = 60_000;
const DEVICES = ['100000001', '100000002', '100000003', '100000004'];
const silent = createLogger('error', { write: () => undefined });

function accountConfig(): AccountConfig {
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
    devices: DEVICES.map((number): DeviceConfig => ({
      number,
      name: number,
      labels: {},
      channels: null,
      policy,
    })),
  };
}

/** Each device answers its current status. */
function gateway(clock: FakeClock, status: Map<string, 'connected' | 'disconnected'>): GatewayClient {
  return {
    status: async (device, opts) => {
      await clock.sleep(100, opts?.signal);
      const s = status.get(device) ?? 'connected';
      return { kind: 'status', status: s, raw: s } satisfies Observation;
    },
    balance: () => Promise.reject(new Error('not in these tests')),
    connect: () => Promise.reject(new Error('not in these tests')),
    sendText: () => Promise.reject(new Error('not in these tests')),
    delete: () => Promise.reject(new Error('not in these tests')),
    close: () => Promise.resolve(),
  };
}

/** A daemon's polling as the daemon wires it: each tick runs the cycle, then the writer flushes. */
class Replica {
  readonly poller: AccountPoller;
  readonly alerts: MonitorAlert[] = [];
  readonly writes: DeviceRow[][] = [];
  readonly accountWrites: AccountRow[] = [];
  readonly #writer: CycleWriter;
  readonly #loop: PollLoop;
  readonly #ticks: Promise<unknown>[] = [];

  constructor(
    readonly store: SqliteStore,
    readonly clock: FakeClock,
    status: Map<string, 'connected' | 'disconnected'>,
  ) {
    this.#loop = new PollLoop({ clock });
    this.#writer = new CycleWriter({
      store,
      log: silent,
      publish: async (tx, alerts) => {
        this.alerts.push(...alerts);
        await tx.outbox.enqueue(
          alerts.map((a, i) => ({
            deliveryId: `${a.event.type}-${a.event.at}-${i}`,
            channel: 'ops',
            payload: a.event.type,
            createdAt: clock.now(),
          })),
        );
      },
    });
    this.poller = new AccountPoller(accountConfig(), gateway(clock, status), {
      store,
      clock,
      log: silent,
      mutes: new Mutes(),
      commit: (batch) => {
        this.writes.push(batch.saves.map((s) => s.row));
        if (batch.account !== null) this.accountWrites.push(batch.account);
        this.#writer.add(batch);
      },
      recordCheck: () => undefined,
    });
    this.#loop.add(this.poller);
  }

  /** The daemon's ticks for `ms`, each written when its cycle ends; settled when it returns. */
  async run(ms: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed += TICK_MS) {
      this.#ticks.push(this.#loop.tick(this.clock.now() + TICK_MS).then(() => this.#writer.flush()));
      await this.clock.advance(TICK_MS);
    }
    await Promise.all(this.#ticks.splice(0));
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await this.#writer.close();
  }
}

const stored = async (store: SqliteStore): Promise<Map<string, DeviceRow>> =>
  new Map((await store.getDevices()).map((r) => [r.device, r]));
const memory = (replica: Replica): Map<string, DeviceRow> =>
  new Map(replica.poller.rows().map((r) => [r.device, r]));
const stateOf = (row: DeviceRow | undefined): DeviceState => row?.state as DeviceState;

describe('routine rows', () => {
  it('writes a device whose answer repeats at most every ROUTINE_ROW_EVERY_MS; memory moves at every check', async () => {
    const store = openSqliteStore(':memory:');
    const clock = new FakeClock(START);
    const replica = new Replica(store, clock, new Map());
    await replica.poller.load();
    await replica.run(INTERVAL_MS);
    // The first answer of each device is a change (null → connected): written at once.
    const first = await stored(store);
    expect([...first.values()].map((r) => r.status)).toEqual(DEVICES.map(() => 'connected'));
    await replica.run(2 * INTERVAL_MS);
    const later = await stored(store);
    const now = memory(replica);
    for (const device of DEVICES) {
      expect(later.get(device)!.lastCheckAt, device).toBe(first.get(device)!.lastCheckAt);
      expect(now.get(device)!.lastCheckAt! - later.get(device)!.lastCheckAt!, device).toBeGreaterThanOrEqual(
        2 * INTERVAL_MS,
      );
    }
    // Once the stored row is ROUTINE_ROW_EVERY_MS old, the next check writes it; never more often.
    await replica.run(ROUTINE_ROW_EVERY_MS);
    const rewritten = await stored(store);
    for (const device of DEVICES) {
      expect(rewritten.get(device)!.lastCheckAt!, device).toBeGreaterThan(first.get(device)!.lastCheckAt!);
      const writes = replica.writes.flat().filter((r) => r.device === device);
      for (let i = 1; i < writes.length; i++) {
        expect(writes[i]!.lastCheckAt! - writes[i - 1]!.lastCheckAt!, device).toBeGreaterThanOrEqual(
          ROUTINE_ROW_EVERY_MS,
        );
      }
    }
    // The account's row likewise: a cycle with valid answers moves only its last valid answer.
    const accountTimes = replica.accountWrites.map((r) => (r.state as AccountState).lastValidAnswerAt!);
    expect(accountTimes.length).toBeGreaterThan(1);
    for (let i = 1; i < accountTimes.length; i++) {
      expect(accountTimes[i]! - accountTimes[i - 1]!).toBeGreaterThanOrEqual(ROUTINE_ROW_EVERY_MS);
    }
    // A clean stop hands over what waits: the store then holds what memory holds.
    await replica.stop();
    expect(await stored(store)).toEqual(memory(replica));
    expect((await store.getAccounts())[0]!.state).toEqual(replica.poller.accountState);
    await store.close();
  });

  it('a crash loses no status change, history row or alert — only repeated answers’ times', async () => {
    const store = openSqliteStore(':memory:');
    const clock = new FakeClock(START);
    const status = new Map<string, 'connected' | 'disconnected'>();
    const a = new Replica(store, clock, status);
    await a.poller.load();
    await a.run(3 * INTERVAL_MS);
    status.set(DEVICES[0]!, 'disconnected');
    await a.run(3 * INTERVAL_MS);
    expect(a.alerts.map((x) => [x.event.type, x.kind === 'device' ? x.device.number : null])).toEqual([
      ['device.down', DEVICES[0]],
    ]);
    // kill -9: replica A is dropped as it is — no stop, no last flush of what waits.
    const inMemory = memory(a);
    const inStore = await stored(store);

    // Every change is in the store: history, the DOWN and what it told, the queued alert.
    expect((await store.history('main', DEVICES[0]!)).map((h) => [h.from, h.to])).toEqual([
      [null, 'connected'],
      ['connected', 'disconnected'],
    ]);
    expect((await store.outbox.heads()).map((m) => m.payload)).toEqual(['device.down']);
    let lagging = 0;
    for (const device of DEVICES) {
      const m = stateOf(inMemory.get(device));
      const s = stateOf(inStore.get(device));
      // What differs is only what a repeated answer moves.
      expect({ ...s, lastCheckAt: 0, consecutiveHealthy: 0, consecutiveUnhealthy: 0 }, device).toEqual({
        ...m,
        lastCheckAt: 0,
        consecutiveHealthy: 0,
        consecutiveUnhealthy: 0,
      });
      if (s.lastCheckAt! < m.lastCheckAt!) lagging++;
    }
    expect(lagging).toBeGreaterThan(0);
    const account = (await store.getAccounts())[0]!.state as AccountState;
    expect({ ...account, lastValidAnswerAt: 0 }).toEqual({ ...a.poller.accountState, lastValidAnswerAt: 0 });

    // The next process starts from the store: nothing told again, nothing missed.
    const b = new Replica(store, clock, status);
    await b.poller.load();
    await b.run(3 * INTERVAL_MS);
    expect(b.alerts).toEqual([]);
    status.set(DEVICES[0]!, 'connected');
    await b.run(2 * INTERVAL_MS);
    await b.stop();
    expect(b.alerts.map((x) => x.event.type)).toEqual(['device.up']);
    expect((await store.history('main', DEVICES[0]!)).map((h) => h.to)).toEqual([
      'connected',
      'disconnected',
      'connected',
    ]);
    await store.close();
  });
});
