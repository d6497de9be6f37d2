import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../config/types.js';
import { initialDeliveryState } from '../monitor/delivery.js';
import { initialDeviceState } from '../monitor/device-state.js';
import { Mutes } from '../monitor/mutes.js';
import type { AccountPoller } from '../poll/account-poller.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store.js';
import type { Fleet } from './fleet.js';
import { fleetHandlers, STANDBY_QR_MESSAGE, type PagesDeps } from './pages.js';

const NOW = 1_700_000_000_000;
const NUMBER = '100000000';

/** What the views read of an AccountPoller, and what they ask of it (re-checks, QR codes). */
function fakePoller(name: string) {
  const asked = { checkSoon: [] as string[], connect: [] as string[] };
  const state = { ...initialDeviceState(), status: 'disconnected' as const, lastCheckAt: NOW - 1000 };
  const poller = {
    name,
    devices: new Map([
      [NUMBER, { config: { number: NUMBER, name: 'Sales phone' }, state, delivery: initialDeliveryState() }],
    ]),
    scheduler: { checkSoon: (d: string) => asked.checkSoon.push(d), effectiveIntervalMs: 60_000 },
    config: { policy: { intervalMs: 60_000 }, rateLimitPerMinute: 60 },
    accountState: { reachable: true, lastError: null, failingSince: null },
    rows: () => [
      {
        account: name,
        device: NUMBER,
        status: 'disconnected',
        statusRaw: 'disconnected',
        health: 'DOWN',
        statusSince: NOW - 60_000,
        lastCheckAt: NOW - 1000,
        probeError: null,
        transitions: 1,
        state: {},
      },
    ],
    connect: (d: string) => {
      asked.connect.push(d);
      return Promise.resolve({ kind: 'already_connected', message: 'device is already connected' });
    },
  };
  return { poller: poller as unknown as AccountPoller, asked };
}

describe('fleetHandlers', () => {
  let store: SqliteStore;
  let leader: boolean;
  let main: ReturnType<typeof fakePoller>;
  let deps: PagesDeps;

  beforeEach(async () => {
    store = openSqliteStore(':memory:');
    leader = true;
    main = fakePoller('main');
    const fleet: Fleet = { pollers: new Map([['main', main.poller]]), mutes: new Mutes() };
    deps = {
      fleet,
      store,
      clock: { now: () => NOW, monotonic: () => 0, sleep: () => Promise.resolve() },
      config: () => ({ timezone: 'UTC' }) as Config,
      runningPeriods: (now) => Promise.resolve([{ start: now - 3_600_000, end: now }]),
      canPoll: () => leader,
    };
    await store.appendHistory({
      account: 'main',
      device: NUMBER,
      at: NOW - 60_000,
      from: 'connected',
      to: 'disconnected',
      raw: 'disconnected',
    });
  });

  afterEach(async () => {
    await store.close();
  });

  it('reads the history, the devices report and the status page from the store', async () => {
    const h = fleetHandlers(deps);
    expect(await h.history(NUMBER, null)).toEqual([
      { at: '2023-11-14T22:12:20+00:00', from: 'connected', to: 'disconnected', raw: 'disconnected' },
    ]);
    expect(await h.history('999', null)).toBeNull();
    expect(await h.devices()).toMatchObject([{ account: 'main', device: NUMBER, status: 'disconnected' }]);
    const page = await h.statusPage();
    expect(page.history).toHaveLength(1);
    expect(page.runningPeriods).toEqual([{ start: NOW - 3_600_000, end: NOW }]);
    expect(page.devices).toMatchObject([{ number: NUMBER, name: 'Sales phone', deletedAt: null }]);
  });

  it('shows a device deleted with `delete` as deleted', async () => {
    await store.appendHistory({
      account: 'main',
      device: NUMBER,
      at: NOW - 1000,
      from: 'disconnected',
      to: 'deleted',
      raw: null,
    });
    expect(await fleetHandlers(deps).devices()).toMatchObject([{ device: NUMBER, status: 'deleted' }]);
  });

  it('on the leader: a watched re-link page asks for a re-check, and a QR fetch calls the gateway', async () => {
    const h = fleetHandlers(deps);
    expect(await h.relinkDevice(NUMBER, { checkSoon: true })).toMatchObject({ status: 'disconnected' });
    expect(await h.reconnectQr(NUMBER, AbortSignal.timeout(1000))).toEqual({ status: 'connected' });
    expect(main.asked).toEqual({ checkSoon: [NUMBER], connect: [NUMBER] });
  });

  it('on a standby: the page is served from the store, but nothing asks the gateway', async () => {
    leader = false;
    const h = fleetHandlers(deps);
    expect(await h.relinkDevice(NUMBER, { checkSoon: true })).toMatchObject({
      account: 'main',
      number: NUMBER,
      status: 'disconnected',
      lastCheckAt: NOW - 1000,
    });
    expect(await h.reconnectQr(NUMBER, AbortSignal.timeout(1000))).toEqual({
      status: 'standby',
      message: STANDBY_QR_MESSAGE,
    });
    expect(await h.reconnectQr('999', AbortSignal.timeout(1000))).toMatchObject({ status: 'not_found' });
    expect(main.asked).toEqual({ checkSoon: [], connect: [] });
    // A failover later: the same handlers poll again.
    leader = true;
    expect(await h.reconnectQr(NUMBER, AbortSignal.timeout(1000))).toEqual({ status: 'connected' });
  });
});
