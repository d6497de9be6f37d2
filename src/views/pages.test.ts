import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../config/types.js';
import { initialDeliveryState } from '../monitor/delivery.js';
import { initialDeviceState } from '../monitor/device-state.js';
import { Mutes } from '../monitor/mutes.js';
import type { AccountPoller } from '../poll/account-poller.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store.js';
import type { Fleet } from './fleet.js';
import { fleetHandlers, STANDBY_QR_MESSAGE, type PagesDeps } from './pages.js';
import { computeAudit } from '../audit/compute.js';
import { DEFAULT_HISTORY_LIMIT } from '../report/history-page.js';
import type { HistoryRow } from '../store/store.js';

const NOW = 1_700_000_000_000;
const NUMBER = '100000000';
const ALL = { since: null, limit: DEFAULT_HISTORY_LIMIT, cursor: null };
const H = 3_600_000;
const D = 24 * H;

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
    expect(await h.history(NUMBER, ALL)).toEqual({
      rows: [{ at: '2023-11-14T22:12:20+00:00', from: 'connected', to: 'disconnected', raw: 'disconnected' }],
      next: null,
    });
    expect(await h.history('999', ALL)).toBeNull();
    expect(await h.devices()).toMatchObject([{ account: 'main', device: NUMBER, status: 'disconnected' }]);
    const page = await h.statusPage();
    // Seen first a minute ago, disconnected since: a minute observed, none of it connected.
    expect(page.devices).toEqual([
      expect.objectContaining({
        number: NUMBER,
        name: 'Sales phone',
        deletedAt: null,
        uptime24h: 0,
        uptime7d: 0,
        recentChanges: [{ at: NOW - 60_000, from: 'connected', to: 'disconnected' }],
      }),
    ]);
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

describe('the status page from the history’s rollups', () => {
  /** Pollers of several devices, as far as the status page reads them. */
  function fleetOf(devices: readonly { account: string; number: string }[]): Fleet {
    const pollers = new Map<string, AccountPoller>();
    for (const account of new Set(devices.map((d) => d.account))) {
      const own = devices.filter((d) => d.account === account);
      const poller = {
        name: account,
        devices: new Map(
          own.map((d) => [
            d.number,
            {
              config: { number: d.number, name: d.number },
              state: initialDeviceState(),
              delivery: initialDeliveryState(),
            },
          ]),
        ),
        scheduler: { checkSoon: () => undefined, effectiveIntervalMs: 60_000 },
        config: { policy: { intervalMs: 60_000 }, rateLimitPerMinute: 60 },
        accountState: { reachable: true, lastError: null, failingSince: null },
        rows: () =>
          own.map((d) => ({
            account,
            device: d.number,
            status: null,
            statusRaw: null,
            health: 'UP',
            statusSince: null,
            lastCheckAt: null,
            probeError: null,
            transitions: 0,
            state: {},
          })),
      };
      pollers.set(account, poller as unknown as AccountPoller);
    }
    return { pollers, mutes: new Mutes() };
  }

  const row = (device: string, at: number, from: HistoryRow['from'], to: HistoryRow['to']): HistoryRow => ({
    account: 'main',
    device,
    at,
    from,
    to,
    raw: null,
  });

  it.each([
    ['no run record', []],
    [
      'a restart in the last day and one three days ago',
      [
        { start: NOW - 40 * D, end: NOW - 3 * D },
        { start: NOW - 3 * D + H, end: NOW - 10 * H },
        { start: NOW - 9 * H, end: NOW },
      ],
    ],
  ])(
    'uptimes over 24 h and 7 d and the last changes, as computeAudit makes them of the rows: %s',
    async (_label, runs) => {
      const store = openSqliteStore(':memory:');
      const rows = [
        row('100', NOW - 30 * D, null, 'connected'),
        row('200', NOW - 30 * D, null, 'connected'),
        row('200', NOW - 3 * D, 'connected', 'disconnected'),
        row('200', NOW - 3 * D + 2 * H, 'disconnected', 'connected'),
        row('200', NOW - 6 * H, 'connected', 'disconnected'),
        row('400', NOW - 12 * H, null, 'unknown'),
        row('500', NOW - 9 * D, null, 'connected'),
        row('500', NOW - 8 * D, 'connected', 'not_connected'),
      ];
      for (const r of rows) await store.appendHistory(r);
      const numbers = ['100', '200', '300', '400', '500'];
      const page = await fleetHandlers({
        fleet: fleetOf(numbers.map((number) => ({ account: 'main', number }))),
        store,
        clock: { now: () => NOW, monotonic: () => 0, sleep: () => Promise.resolve() },
        config: () => ({ timezone: 'UTC' }) as Config,
        runningPeriods: () => runs,
        canPoll: () => true,
      }).statusPage();
      const raw = (window: number) =>
        computeAudit({
          devices: numbers.map((number) => ({ account: 'main', number, name: number })),
          history: rows,
          runningPeriods: runs,
          now: NOW,
          since: NOW - window,
          staleAfterMs: 0,
        }).devices.map((d) => d.uptime);
      expect(page.devices.map((d) => [d.uptime24h, d.uptime7d])).toEqual(
        numbers.map((_, i) => [raw(D)[i], raw(7 * D)[i]]),
      );
      if (runs.length === 0) {
        expect(page.devices.map((d) => d.uptime24h)).toEqual([1, 0.75, null, 0, 0]);
      }
      // The last three of the last 7 days, newest first: 500's last change is older.
      expect(page.devices.map((d) => d.recentChanges?.map((c) => c.at))).toEqual([
        [],
        [NOW - 6 * H, NOW - 3 * D + 2 * H, NOW - 3 * D],
        [],
        [NOW - 12 * H],
        [],
      ]);
      await store.close();
    },
  );

  it('a device’s history a page at a time, across the accounts that have its number', async () => {
    const store = openSqliteStore(':memory:');
    for (const account of ['a', 'b']) {
      for (let i = 0; i < 5; i++) {
        await store.appendHistory({
          account,
          device: NUMBER,
          at: NOW + i,
          from: null,
          to: 'connected',
          raw: null,
        });
      }
    }
    const h = fleetHandlers({
      fleet: fleetOf([
        { account: 'a', number: NUMBER },
        { account: 'b', number: NUMBER },
      ]),
      store,
      clock: { now: () => NOW, monotonic: () => 0, sleep: () => Promise.resolve() },
      config: () => ({ timezone: 'UTC' }) as Config,
      runningPeriods: () => [],
      canPoll: () => true,
    });
    const seen: unknown[] = [];
    let query = { since: null, limit: 3, cursor: null } as Parameters<typeof h.history>[1];
    for (let pages = 1; ; pages++) {
      const answer = (await h.history(NUMBER, query))!;
      seen.push(...answer.rows);
      if (answer.next === null) {
        expect(pages).toBe(4);
        break;
      }
      query = { ...query, cursor: answer.next };
    }
    expect(seen).toEqual((await h.history(NUMBER, ALL))!.rows);
    expect(seen.map((r) => (r as { account: string }).account)).toEqual([...'aaaaabbbbb']);
    await store.close();
  });
});
