// The behaviour every Store implementation must show. Each implementation's test file calls
// describeStoreContract with a function that opens a fresh, empty store.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  DeliveryProblemChange,
  DeviceRow,
  HistoryRow,
  NewApiCall,
  NewSilence,
  Store,
} from '../store.js';
import { StoreError } from '../errors.js';
import { describeRollupContract } from './rollup-contract.js';

export function device(account: string, number: string, over: Partial<DeviceRow> = {}): DeviceRow {
  return {
    account,
    device: number,
    status: 'connected',
    statusRaw: 'connected',
    health: 'UP',
    statusSince: 1_000,
    lastCheckAt: 2_000,
    probeError: null,
    transitions: 0,
    state: { consecutive: 0 },
    ...over,
  };
}

export function change(
  account: string,
  number: string,
  at: number,
  over: Partial<HistoryRow> = {},
): HistoryRow {
  return { account, device: number, at, from: 'connected', to: 'disconnected', raw: 'disconnected', ...over };
}

/** The error `fn` throws synchronously (opening a SQLite file); fails the test when it throws nothing. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, none was thrown');
}

/** What `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, the promise resolved');
}

function silence(over: Partial<NewSilence> = {}): NewSilence {
  return { account: null, device: null, until: 10_000, reason: null, createdAt: 1_000, ...over };
}

/** Values whose JSON text must come back as the same value. */
export const JSON_STATES: readonly [string, unknown][] = [
  ['null', null],
  ['a number', 42],
  ['a string with quotes, newlines and non-ASCII', 'a "b"\n\tc — ✓ 📱 \u0000 end'],
  ['an empty object', {}],
  ['an empty array', []],
  [
    'a nested state machine snapshot',
    {
      phase: 'DOWN',
      counts: { failures: 3, successes: 0 },
      since: 1_700_000_000_123,
      lastAlertAt: null,
      flaps: [1_700_000_000_000, 1_700_000_100_000],
      ok: false,
      ratio: 0.1,
      negative: -17.25,
      big: Number.MAX_SAFE_INTEGER,
      tiny: 5e-324,
      keys: { z: 1, a: 2, 'with space': 3, '': 4 },
    },
  ],
];

/** `open` gives a fresh, empty store; each test closes it. */
export function describeStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('devices', () => {
      it('starts empty', async () => {
        expect(await store.getDevices()).toEqual([]);
        expect(await store.getDevice('main', '1')).toBeNull();
      });

      it('saves a batch and reads it back ordered by account, then device', async () => {
        const rows = [
          device('b', '2'),
          device('a', '3'),
          device('a', '1', { status: null, statusRaw: null }),
        ];
        await store.saveDevices(rows.map((row) => ({ row, change: null })));
        expect((await store.getDevices()).map((r) => `${r.account}/${r.device}`)).toEqual([
          'a/1',
          'a/3',
          'b/2',
        ]);
        expect(await store.getDevice('a', '1')).toEqual(rows[2]);
      });

      it('orders names by their characters’ code points, whatever the database’s locale', async () => {
        const names = ['b', 'B', 'a', '_', 'Z', 'é', '1', 'a b', 'ab'];
        await store.saveDevices(names.map((n) => ({ row: device(n, n), change: null })));
        await store.saveDevices([
          { row: device('a', 'B'), change: null },
          { row: device('a', 'b'), change: null },
        ]);
        const sorted = [...names].sort();
        expect((await store.getDevices()).map((r) => `${r.account}/${r.device}`)).toEqual(
          sorted.flatMap((n) => (n === 'a' ? ['a/B', 'a/a', 'a/b'] : [`${n}/${n}`])),
        );
        for (const n of names) await store.saveAccount({ account: n, reachable: true, state: null });
        expect((await store.getAccounts()).map((r) => r.account)).toEqual(sorted);
      });

      it('keeps every field, nulls included', async () => {
        const row = device('main', '123', {
          status: 'unknown',
          statusRaw: 'qr pending',
          health: 'DOWN',
          statusSince: null,
          lastCheckAt: null,
          probeError: 'HTTP 503 from GET http://gw/api/status/123',
          transitions: 7,
          state: { x: [1, 'two', null] },
        });
        await store.saveDevices([{ row, change: null }]);
        expect(await store.getDevice('main', '123')).toStrictEqual(row);
      });

      it('replaces the row of a device saved again', async () => {
        await store.saveDevices([{ row: device('main', '1'), change: null }]);
        const next = device('main', '1', {
          status: 'disconnected',
          health: 'DOWN',
          transitions: 1,
          state: 'b',
        });
        await store.saveDevices([{ row: next, change: null }]);
        expect(await store.getDevices()).toEqual([next]);
      });

      it('keys devices by account and number: the same number in two accounts is two devices', async () => {
        await store.saveDevices([
          { row: device('a', '1', { health: 'UP' }), change: null },
          { row: device('b', '1', { health: 'DOWN' }), change: null },
        ]);
        expect((await store.getDevice('a', '1'))?.health).toBe('UP');
        expect((await store.getDevice('b', '1'))?.health).toBe('DOWN');
      });

      it('appends the changes of a batch to the history', async () => {
        await store.saveDevices([
          { row: device('main', '1'), change: change('main', '1', 5_000) },
          { row: device('main', '2'), change: null },
        ]);
        expect(await store.history('main', '1')).toEqual([change('main', '1', 5_000)]);
        expect(await store.history('main', '2')).toEqual([]);
      });

      it('saves nothing of a batch when one of its rows fails', async () => {
        await store.saveDevices([{ row: device('main', '0'), change: null }]);
        const bad = device('main', '2', { health: 'SIDEWAYS' as DeviceRow['health'] });
        await expect(
          store.saveDevices([
            { row: device('main', '1'), change: change('main', '1', 5_000) },
            { row: bad, change: null },
          ]),
        ).rejects.toThrow(StoreError);
        expect((await store.getDevices()).map((r) => r.device)).toEqual(['0']);
        expect(await store.history('main', '1')).toEqual([]);
      });

      it('accepts an empty batch', async () => {
        await store.saveDevices([]);
        expect(await store.getDevices()).toEqual([]);
      });

      it('rejects a state that JSON cannot represent, saving nothing', async () => {
        await expect(
          store.saveDevices([{ row: device('main', '1', { state: undefined }), change: null }]),
        ).rejects.toThrow(/not JSON-serialisable/);
        expect(await store.getDevices()).toEqual([]);
      });

      it('saves 10,000 devices in one batch', async () => {
        const batch = Array.from({ length: 10_000 }, (_, i) => ({
          row: device('main', String(100_000_000 + i), { state: { i } }),
          change: i % 10 === 0 ? change('main', String(100_000_000 + i), 9_000) : null,
        }));
        await store.saveDevices(batch);
        const rows = await store.getDevices();
        expect(rows).toHaveLength(10_000);
        expect(rows[9_999]).toEqual(batch[9_999]!.row);
        expect(await store.historyAll(0)).toHaveLength(1_000);
      });

      it('removes a device row but keeps its history', async () => {
        await store.saveDevices([{ row: device('main', '1'), change: change('main', '1', 5_000) }]);
        expect(await store.removeDevice('main', '1')).toBe(true);
        expect(await store.removeDevice('main', '1')).toBe(false);
        expect(await store.getDevice('main', '1')).toBeNull();
        expect(await store.history('main', '1')).toHaveLength(1);
      });
    });

    describe('JSON state round-trip', () => {
      it.each(JSON_STATES)('device state: %s', async (_label, state) => {
        await store.saveDevices([{ row: device('main', '1', { state }), change: null }]);
        const back = (await store.getDevice('main', '1'))!.state;
        expect(back).toStrictEqual(state);
        expect(JSON.stringify(back)).toBe(JSON.stringify(state));
        expect((await store.getDevices())[0]!.state).toStrictEqual(state);
      });

      it.each(JSON_STATES)('account state: %s', async (_label, state) => {
        await store.saveAccount({ account: 'main', reachable: true, state });
        const back = (await store.getAccounts())[0]!.state;
        expect(back).toStrictEqual(state);
        expect(JSON.stringify(back)).toBe(JSON.stringify(state));
      });
    });

    describe('history', () => {
      it('returns one device’s changes oldest first, ties in the order recorded', async () => {
        await store.appendHistory(change('main', '1', 300, { from: 'disconnected', to: 'connected' }));
        await store.appendHistory(change('main', '1', 100, { from: null, to: 'connected' }));
        await store.appendHistory(change('main', '1', 200, { from: 'connected', to: 'disconnected' }));
        await store.appendHistory(change('main', '1', 300, { from: 'connected', to: 'not_connected' }));
        await store.appendHistory(change('main', '2', 150));
        await store.appendHistory(change('other', '1', 150));
        expect((await store.history('main', '1')).map((h) => [h.at, h.to])).toEqual([
          [100, 'connected'],
          [200, 'disconnected'],
          [300, 'connected'],
          [300, 'not_connected'],
        ]);
      });

      it('filters by since, inclusive', async () => {
        for (const at of [100, 200, 300]) await store.appendHistory(change('main', '1', at));
        expect((await store.history('main', '1', { since: 200 })).map((h) => h.at)).toEqual([200, 300]);
        expect(await store.history('main', '1', { since: 301 })).toEqual([]);
      });

      it('keeps every field, including a deletion and a raw text', async () => {
        const rows: HistoryRow[] = [
          { account: 'main', device: '1', at: 1, from: null, to: 'unknown', raw: 'qr pending' },
          { account: 'main', device: '1', at: 2, from: 'unknown', to: 'deleted', raw: null },
        ];
        for (const row of rows) await store.appendHistory(row);
        expect(await store.history('main', '1')).toStrictEqual(rows);
      });

      it('historyAll gives the period plus each device’s last change before it', async () => {
        await store.appendHistory(change('main', '1', 100, { to: 'connected' }));
        await store.appendHistory(change('main', '1', 200, { to: 'disconnected' }));
        await store.appendHistory(change('main', '1', 600, { to: 'connected' }));
        await store.appendHistory(change('main', '2', 700, { to: 'not_connected' }));
        await store.appendHistory(change('b', '3', 50, { to: 'not_initialized' }));
        await store.appendHistory(change('a', '9', 500, { to: 'unknown' }));
        expect((await store.historyAll(500)).map((h) => [h.account, h.device, h.at, h.to])).toEqual([
          ['a', '9', 500, 'unknown'],
          ['b', '3', 50, 'not_initialized'],
          ['main', '1', 200, 'disconnected'],
          ['main', '1', 600, 'connected'],
          ['main', '2', 700, 'not_connected'],
        ]);
      });

      it('historyAll picks the last-recorded of two changes at the same time before the period', async () => {
        await store.appendHistory(change('main', '1', 100, { to: 'connected' }));
        await store.appendHistory(change('main', '1', 100, { to: 'disconnected' }));
        expect((await store.historyAll(200)).map((h) => h.to)).toEqual(['disconnected']);
      });

      it('deletedDevices: deleted and since then only not_found; added again or never deleted is not', async () => {
        await store.appendHistory(change('main', '1', 100, { to: 'connected' }));
        await store.appendHistory(change('main', '1', 200, { from: 'connected', to: 'deleted' }));
        await store.appendHistory(change('main', '1', 210, { from: 'connected', to: 'not_found' }));
        await store.appendHistory(change('main', '2', 100, { to: 'deleted' }));
        await store.appendHistory(change('main', '2', 300, { from: 'not_found', to: 'connected' }));
        await store.appendHistory(change('main', '3', 100, { to: 'not_found' }));
        await store.appendHistory(change('b', '4', 100, { to: 'deleted' }));
        await store.appendHistory(change('b', '4', 100, { to: 'connected' }));
        await store.appendHistory(change('b', '4', 400, { to: 'deleted' }));
        expect(await store.deletedDevices()).toEqual([
          { account: 'b', device: '4', at: 400 },
          { account: 'main', device: '1', at: 200 },
        ]);
      });

      it('historyAll on an empty history is empty', async () => {
        expect(await store.historyAll(0)).toEqual([]);
      });
    });

    describe('accounts', () => {
      it('saves, replaces and lists account rows by name', async () => {
        expect(await store.getAccounts()).toEqual([]);
        await store.saveAccount({ account: 'zeta', reachable: true, state: { failures: 0 } });
        await store.saveAccount({ account: 'alpha', reachable: true, state: null });
        await store.saveAccount({ account: 'zeta', reachable: false, state: { failures: 3 } });
        expect(await store.getAccounts()).toStrictEqual([
          { account: 'alpha', reachable: true, state: null },
          { account: 'zeta', reachable: false, state: { failures: 3 } },
        ]);
      });
    });

    describe('silences', () => {
      it('adds a silence and gives it back with an id', async () => {
        const s = await store.addSilence(silence({ account: 'main', device: '1', reason: 'maintenance' }));
        expect(s).toStrictEqual({
          id: s.id,
          account: 'main',
          device: '1',
          until: 10_000,
          reason: 'maintenance',
          createdAt: 1_000,
        });
        expect((await store.addSilence(silence())).id).toBeGreaterThan(s.id);
      });

      it('lists the silences still holding at now (until is exclusive), oldest first', async () => {
        const a = await store.addSilence(silence({ until: 5_000 }));
        const b = await store.addSilence(silence({ device: '1', until: 9_000 }));
        await store.addSilence(silence({ device: '2', until: 4_000 }));
        expect(await store.activeSilences(4_000)).toEqual([a, b]);
        expect(await store.activeSilences(5_000)).toEqual([b]);
        expect(await store.activeSilences(9_000)).toEqual([]);
      });

      it('removes silences by device, by account, by both, or all', async () => {
        await store.addSilence(silence({ account: 'main', device: '1' }));
        await store.addSilence(silence({ account: null, device: '1' }));
        await store.addSilence(silence({ account: 'main', device: '2' }));
        await store.addSilence(silence({ account: 'other', device: '2' }));
        await store.addSilence(silence({ account: 'other', device: null }));
        await store.addSilence(silence({ account: null, device: null }));
        expect(await store.removeSilences({ account: 'main', device: '2' })).toBe(1);
        expect(await store.removeSilences({ device: '1' })).toBe(2);
        expect(await store.removeSilences({ account: 'other' })).toBe(2);
        expect((await store.activeSilences(0)).map((s) => [s.account, s.device])).toEqual([[null, null]]);
        expect(await store.removeSilences({ device: '404' })).toBe(0);
        await store.addSilence(silence({ until: 1 }));
        expect(await store.removeSilences('all')).toBe(2);
        expect(await store.activeSilences(0)).toEqual([]);
      });

      it('refuses an empty target rather than removing everything', async () => {
        await store.addSilence(silence());
        await expect(store.removeSilences({})).rejects.toThrow(/'all'/);
        expect(await store.activeSilences(0)).toHaveLength(1);
      });

      it('does not reuse the id of a removed silence', async () => {
        const first = await store.addSilence(silence());
        await store.removeSilences('all');
        expect((await store.addSilence(silence())).id).toBeGreaterThan(first.id);
      });
    });

    describe('prune', () => {
      it('deletes old history but keeps each device’s status at the cutoff', async () => {
        // main/1: changes before and after the cutoff; main/2: only old changes;
        // main/3: only new ones; main/4: a single old change.
        for (const at of [100, 200, 300, 600])
          await store.appendHistory(change('main', '1', at, { to: 'connected' }));
        await store.appendHistory(change('main', '2', 100, { to: 'connected' }));
        await store.appendHistory(change('main', '2', 200, { to: 'disconnected' }));
        await store.appendHistory(change('main', '3', 700));
        await store.appendHistory(change('main', '4', 50, { to: 'deleted' }));
        expect(await store.prune(500)).toEqual({ history: 3, silences: 0, deliveryProblems: 0 });
        expect((await store.history('main', '1')).map((h) => h.at)).toEqual([300, 600]);
        expect((await store.history('main', '2')).map((h) => [h.at, h.to])).toEqual([[200, 'disconnected']]);
        expect((await store.history('main', '3')).map((h) => h.at)).toEqual([700]);
        expect((await store.history('main', '4')).map((h) => h.at)).toEqual([50]);
        expect(await store.prune(500)).toEqual({ history: 0, silences: 0, deliveryProblems: 0 });
      });

      it('never removes the last known status, however old', async () => {
        await store.appendHistory(change('main', '1', 10, { to: 'connected' }));
        await store.appendHistory(change('main', '1', 20, { to: 'not_connected' }));
        await store.prune(Number.MAX_SAFE_INTEGER);
        expect((await store.history('main', '1')).map((h) => h.to)).toEqual(['not_connected']);
      });

      it('keeps the last-recorded of two changes at the same time', async () => {
        await store.appendHistory(change('main', '1', 10, { to: 'connected' }));
        await store.appendHistory(change('main', '1', 10, { to: 'disconnected' }));
        expect((await store.prune(100)).history).toBe(1);
        expect((await store.history('main', '1')).map((h) => h.to)).toEqual(['disconnected']);
      });

      it('keeps devices apart: same number in two accounts', async () => {
        await store.appendHistory(change('a', '1', 10));
        await store.appendHistory(change('b', '1', 20));
        expect((await store.prune(100)).history).toBe(0);
      });

      it('deletes silences that ended before the cutoff', async () => {
        await store.addSilence(silence({ until: 100 }));
        const kept = await store.addSilence(silence({ until: 500 }));
        expect(await store.prune(500)).toEqual({ history: 0, silences: 1, deliveryProblems: 0 });
        expect(await store.activeSilences(0)).toEqual([kept]);
      });
    });

    describe('delivery problems', () => {
      const started = (number: string, problem: DeliveryProblemChange['problem'], at: number) =>
        ({ account: 'main', device: number, problem, kind: 'started', at }) as const;
      const ended = (number: string, problem: DeliveryProblemChange['problem'], at: number) =>
        ({ account: 'main', device: number, problem, kind: 'ended', at }) as const;

      it('opens a period at a start and closes it at the end; lists those overlapping since', async () => {
        await store.recordDeliveryProblems([
          started('1', 'stalled', 1_000),
          ended('1', 'stalled', 2_000),
          started('1', 'stalled', 5_000),
          started('2', 'balance_low', 3_000),
          started('1', 'failing', 4_000),
          ended('1', 'failing', 4_500),
        ]);
        expect(await store.problemPeriods(0)).toEqual([
          { account: 'main', device: '1', problem: 'stalled', startedAt: 1_000, endedAt: 2_000 },
          { account: 'main', device: '1', problem: 'failing', startedAt: 4_000, endedAt: 4_500 },
          { account: 'main', device: '1', problem: 'stalled', startedAt: 5_000, endedAt: null },
          { account: 'main', device: '2', problem: 'balance_low', startedAt: 3_000, endedAt: null },
        ]);
        // Ended before since: left out; ended at since (inclusive) or open: kept.
        expect((await store.problemPeriods(4_500)).map((p) => [p.device, p.problem, p.startedAt])).toEqual([
          ['1', 'failing', 4_000],
          ['1', 'stalled', 5_000],
          ['2', 'balance_low', 3_000],
        ]);
      });

      it('a second start of an open problem and an end of none open change nothing', async () => {
        await store.recordDeliveryProblems([
          ended('1', 'stalled', 500),
          started('1', 'stalled', 1_000),
          started('1', 'stalled', 1_500),
        ]);
        expect(await store.problemPeriods(0)).toEqual([
          { account: 'main', device: '1', problem: 'stalled', startedAt: 1_000, endedAt: null },
        ]);
      });

      it('saveDevices writes the delivery changes of a batch with its rows, or none of them', async () => {
        await store.saveDevices([
          { row: device('main', '1'), change: null, deliveryChanges: [started('1', 'stalled', 1_000)] },
        ]);
        expect(await store.problemPeriods(0)).toHaveLength(1);
        const bad = device('main', '2', { health: 'SIDEWAYS' as DeviceRow['health'] });
        await expect(
          store.saveDevices([
            { row: device('main', '1'), change: null, deliveryChanges: [ended('1', 'stalled', 2_000)] },
            { row: bad, change: null },
          ]),
        ).rejects.toThrow(StoreError);
        expect((await store.problemPeriods(0))[0]!.endedAt).toBeNull();
      });

      it('prune deletes periods that ended before the cutoff, never an open one', async () => {
        await store.recordDeliveryProblems([
          started('1', 'stalled', 100),
          ended('1', 'stalled', 200),
          started('1', 'failing', 100),
          ended('1', 'failing', 600),
          started('2', 'stalled', 50),
        ]);
        expect(await store.prune(500)).toEqual({ history: 0, silences: 0, deliveryProblems: 1 });
        expect((await store.problemPeriods(0)).map((p) => [p.device, p.problem])).toEqual([
          ['1', 'failing'],
          ['2', 'stalled'],
        ]);
      });
    });

    describe('meta', () => {
      it('stores small values by key', async () => {
        expect(await store.getMeta('retention.last_run')).toBeNull();
        await store.setMeta('retention.last_run', '1700000000000');
        await store.setMeta('retention.last_run', '1700000100000');
        await store.setMeta('other', '');
        expect(await store.getMeta('retention.last_run')).toBe('1700000100000');
        expect(await store.getMeta('other')).toBe('');
      });
    });

    describe('transaction', () => {
      const msg = (deliveryId: string) => ({
        deliveryId,
        channel: 'ops',
        payload: { n: 1 },
        createdAt: 1_000,
      });

      it('keeps everything saved through its handle and returns the result', async () => {
        const result = await store.transaction(async (tx) => {
          await tx.saveDevices([{ row: device('main', '1'), change: change('main', '1', 5) }]);
          await tx.saveAccount({ account: 'main', reachable: true, state: {} });
          await tx.setMeta('k', 'v');
          await tx.outbox.enqueue([msg('m1')]);
          return 'done';
        });
        expect(result).toBe('done');
        expect(await store.getDevices()).toHaveLength(1);
        expect(await store.getAccounts()).toHaveLength(1);
        expect(await store.getMeta('k')).toBe('v');
        expect(await store.outbox.find('m1')).toMatchObject({ state: 'pending' });
      });

      it('its handle sees its own writes, store and outbox', async () => {
        await store.transaction(async (tx) => {
          await tx.setMeta('k', 'v');
          await tx.saveDevices([{ row: device('main', '1'), change: null }]);
          await tx.outbox.enqueue([msg('m1')]);
          expect(await tx.getMeta('k')).toBe('v');
          expect(await tx.getDevice('main', '1')).toEqual(device('main', '1'));
          expect(await tx.outbox.find('m1')).toMatchObject({ deliveryId: 'm1' });
          expect((await tx.outbox.heads()).map((m) => m.deliveryId)).toEqual(['m1']);
        });
      });

      it('keeps nothing when the function throws — store nor outbox — and rethrows its error unchanged', async () => {
        const boom = new Error('boom');
        await expect(
          store.transaction(async (tx) => {
            await tx.saveDevices([{ row: device('main', '1'), change: change('main', '1', 5) }]);
            await tx.addSilence(silence());
            await tx.outbox.enqueue([msg('m1')]);
            await tx.outbox.hold([msg('h1')]);
            await tx.outbox.putFiring({ channel: 'am', key: 'k', event: {}, updatedAt: 1 });
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await store.getDevices()).toEqual([]);
        expect(await store.history('main', '1')).toEqual([]);
        expect(await store.activeSilences(0)).toEqual([]);
        expect(await store.outbox.find('m1')).toBeNull();
        expect(await store.outbox.held()).toEqual([]);
        expect(await store.outbox.firing()).toEqual([]);
      });

      it('keeps nothing when a write inside fails, and rejects with its StoreError', async () => {
        const bad = device('main', '2', { health: 'SIDEWAYS' as DeviceRow['health'] });
        await expect(
          store.transaction(async (tx) => {
            await tx.setMeta('k', 'v');
            await tx.outbox.enqueue([msg('m1')]);
            await tx.saveDevices([{ row: bad, change: null }]);
          }),
        ).rejects.toBeInstanceOf(StoreError);
        expect(await store.getMeta('k')).toBeNull();
        expect(await store.outbox.find('m1')).toBeNull();
      });

      it('a batch that fails inside a transaction is undone alone; the transaction goes on', async () => {
        const bad = device('main', '2', { health: 'SIDEWAYS' as DeviceRow['health'] });
        await store.transaction(async (tx) => {
          await tx.setMeta('before', '1');
          await expect(
            tx.saveDevices([
              { row: device('main', '1'), change: change('main', '1', 5) },
              { row: bad, change: null },
            ]),
          ).rejects.toBeInstanceOf(StoreError);
          await tx.setMeta('after', '1');
        });
        expect(await store.getMeta('before')).toBe('1');
        expect(await store.getMeta('after')).toBe('1');
        expect(await store.getDevices()).toEqual([]);
        expect(await store.history('main', '1')).toEqual([]);
      });

      it('nests: an inner failure caught inside undoes only the inner part, store and outbox', async () => {
        await store.transaction(async (tx) => {
          await tx.setMeta('outer', '1');
          await tx.outbox.enqueue([msg('outer')]);
          await expect(
            tx.transaction(async (inner) => {
              await inner.setMeta('inner', '1');
              await inner.outbox.enqueue([msg('inner')]);
              throw new Error('inner');
            }),
          ).rejects.toThrow('inner');
          expect(await tx.getMeta('inner')).toBeNull();
          await tx.setMeta('after', '1');
        });
        expect(await store.getMeta('outer')).toBe('1');
        expect(await store.getMeta('after')).toBe('1');
        expect(await store.getMeta('inner')).toBeNull();
        expect(await store.outbox.find('outer')).not.toBeNull();
        expect(await store.outbox.find('inner')).toBeNull();
      });

      it('nests: what an inner transaction kept goes when the outer one fails', async () => {
        await expect(
          store.transaction(async (tx) => {
            await tx.transaction((inner) => inner.setMeta('inner', '1'));
            await tx.outbox.transaction((inner) => inner.enqueue([msg('inner')]));
            throw new Error('outer');
          }),
        ).rejects.toThrow('outer');
        expect(await store.getMeta('inner')).toBeNull();
        expect(await store.outbox.find('inner')).toBeNull();
      });

      it('the outbox’s own transaction keeps all or nothing', async () => {
        await store.outbox.transaction(async (tx) => {
          await tx.enqueue([msg('a')]);
          await tx.putFiring({ channel: 'am', key: 'k', event: {}, updatedAt: 1 });
        });
        await expect(
          store.outbox.transaction(async (tx) => {
            await tx.enqueue([msg('b')]);
            throw new Error('no');
          }),
        ).rejects.toThrow('no');
        expect(await store.outbox.find('a')).not.toBeNull();
        expect(await store.outbox.firing()).toHaveLength(1);
        expect(await store.outbox.find('b')).toBeNull();
      });

      it('calls on the store itself while a transaction is open are not part of it', async () => {
        // SQLite runs them after the transaction ends, PostgreSQL on another connection; either
        // way the transaction's rollback does not take them along. (Awaiting them inside the
        // transaction would wait for its end on SQLite: a caller must use the handle.)
        let outside: Promise<void> | undefined;
        let outsideOutbox: Promise<void> | undefined;
        await expect(
          store.transaction(async (tx) => {
            await tx.setMeta('inside', '1');
            outside = store.setMeta('outside', '1');
            outsideOutbox = store.outbox.enqueue([msg('outside')]);
            await tx.setMeta('inside-later', '1');
            throw new Error('rolled back');
          }),
        ).rejects.toThrow('rolled back');
        await outside;
        await outsideOutbox;
        expect(await store.getMeta('inside')).toBeNull();
        expect(await store.getMeta('inside-later')).toBeNull();
        expect(await store.getMeta('outside')).toBe('1');
        expect(await store.outbox.find('outside')).not.toBeNull();
      });

      it('a handle kept after its transaction ended refuses work', async () => {
        let kept: Store | undefined;
        await store.transaction((tx) => {
          kept = tx;
          return Promise.resolve();
        });
        await expect(kept!.setMeta('late', '1')).rejects.toMatchObject({ name: 'StoreError' });
        await expect(kept!.outbox.enqueue([msg('late')])).rejects.toMatchObject({ name: 'StoreError' });
        expect(await store.getMeta('late')).toBeNull();
        expect(await store.outbox.find('late')).toBeNull();
      });

      it('takes a lock wait of its own (busyTimeoutMs)', async () => {
        await store.transaction((tx) => tx.setMeta('k', 'v'), { busyTimeoutMs: 1_000 });
        expect(await store.getMeta('k')).toBe('v');
      });

      it('transactions one after the other, and side by side, each keep their own', async () => {
        await Promise.all(
          ['a', 'b', 'c'].map((key) =>
            store.transaction(async (tx) => {
              await tx.setMeta(key, 'x');
              await tx.setMeta(`${key}2`, 'y');
            }),
          ),
        );
        for (const key of ['a', 'b', 'c']) {
          expect(await store.getMeta(key)).toBe('x');
          expect(await store.getMeta(`${key}2`)).toBe('y');
        }
      });
    });

    describe('call log (api_calls)', () => {
      const call = (over: Partial<NewApiCall> = {}): NewApiCall => ({
        account: 'main',
        at: 1_000,
        kind: 'check',
        origin: 'daemon',
        caller: 'daemon-1',
        epoch: null,
        ...over,
      });

      it('starts empty, and gives ids ascending in the order logged', async () => {
        expect(await store.apiCalls('main')).toEqual([]);
        const a = await store.recordApiCall(call({ at: 5_000 }));
        const b = await store.recordApiCall(
          call({ at: 4_000, origin: 'cli', caller: 'cli-9', kind: 'out_of_band' }),
        );
        expect(b).toBeGreaterThan(a);
        expect(await store.apiCalls('main')).toEqual([
          { id: a, ...call({ at: 5_000 }) },
          { id: b, ...call({ at: 4_000, origin: 'cli', caller: 'cli-9', kind: 'out_of_band' }) },
        ]);
      });

      it('keeps the lease epoch when there is one', async () => {
        const id = await store.recordApiCall(call({ epoch: 7 }));
        expect(await store.apiCalls('main')).toEqual([{ id, ...call({ epoch: 7 }) }]);
      });

      it('reads per account, after an id, since a time, and without one caller', async () => {
        const first = await store.recordApiCall(call({ at: 1_000 }));
        await store.recordApiCall(call({ account: 'other', at: 2_000 }));
        const cli = await store.recordApiCall(call({ at: 3_000, origin: 'cli', caller: 'cli-1' }));
        const own = await store.recordApiCall(call({ at: 4_000 }));
        const ids = (rows: readonly { id: number }[]) => rows.map((r) => r.id);
        expect(ids(await store.apiCalls('main'))).toEqual([first, cli, own]);
        expect(ids(await store.apiCalls('main', { afterId: first }))).toEqual([cli, own]);
        expect(ids(await store.apiCalls('main', { since: 3_000 }))).toEqual([cli, own]);
        expect(ids(await store.apiCalls('main', { excludeCaller: 'daemon-1' }))).toEqual([cli]);
        expect(ids(await store.apiCalls('main', { afterId: cli, excludeCaller: 'daemon-1' }))).toEqual([]);
      });

      it('prunes calls older than a time, across accounts', async () => {
        await store.recordApiCall(call({ at: 1_000 }));
        await store.recordApiCall(call({ account: 'other', at: 1_500 }));
        const kept = await store.recordApiCall(call({ at: 2_000 }));
        expect(await store.pruneApiCalls(2_000)).toBe(2);
        expect((await store.apiCalls('main')).map((r) => r.id)).toEqual([kept]);
        expect(await store.apiCalls('other')).toEqual([]);
      });

      it('a call logged in a transaction that fails is not kept', async () => {
        await expect(
          store.transaction(async (tx) => {
            await tx.recordApiCall(call());
            throw new Error('no');
          }),
        ).rejects.toThrow('no');
        expect(await store.apiCalls('main')).toEqual([]);
      });
    });

    describe('close', () => {
      it('is idempotent, and the store refuses work afterwards', async () => {
        await store.close();
        await store.close();
        await expect(store.getDevices()).rejects.toThrow(StoreError);
        await expect(store.getDevices()).rejects.toThrow(/closed/);
        expect(await rejection(store.setMeta('a', 'b'))).toMatchObject({
          name: 'StoreError',
          reason: 'closed',
        });
        expect(await rejection(store.outbox.heads())).toMatchObject({ reason: 'closed' });
        expect(await rejection(store.transaction(() => Promise.resolve()))).toMatchObject({
          reason: 'closed',
        });
      });
    });
  });
  describeRollupContract(name, open);
}
