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

/** The error `fn` throws; fails the test when it throws nothing. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, none was thrown');
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

export function describeStoreContract(name: string, open: () => Store): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(() => {
      store = open();
    });
    afterEach(() => {
      store.close();
    });

    describe('devices', () => {
      it('starts empty', () => {
        expect(store.getDevices()).toEqual([]);
        expect(store.getDevice('main', '1')).toBeNull();
      });

      it('saves a batch and reads it back ordered by account, then device', () => {
        const rows = [
          device('b', '2'),
          device('a', '3'),
          device('a', '1', { status: null, statusRaw: null }),
        ];
        store.saveDevices(rows.map((row) => ({ row, change: null })));
        expect(store.getDevices().map((r) => `${r.account}/${r.device}`)).toEqual(['a/1', 'a/3', 'b/2']);
        expect(store.getDevice('a', '1')).toEqual(rows[2]);
      });

      it('keeps every field, nulls included', () => {
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
        store.saveDevices([{ row, change: null }]);
        expect(store.getDevice('main', '123')).toStrictEqual(row);
      });

      it('replaces the row of a device saved again', () => {
        store.saveDevices([{ row: device('main', '1'), change: null }]);
        const next = device('main', '1', {
          status: 'disconnected',
          health: 'DOWN',
          transitions: 1,
          state: 'b',
        });
        store.saveDevices([{ row: next, change: null }]);
        expect(store.getDevices()).toEqual([next]);
      });

      it('keys devices by account and number: the same number in two accounts is two devices', () => {
        store.saveDevices([
          { row: device('a', '1', { health: 'UP' }), change: null },
          { row: device('b', '1', { health: 'DOWN' }), change: null },
        ]);
        expect(store.getDevice('a', '1')?.health).toBe('UP');
        expect(store.getDevice('b', '1')?.health).toBe('DOWN');
      });

      it('appends the changes of a batch to the history', () => {
        store.saveDevices([
          { row: device('main', '1'), change: change('main', '1', 5_000) },
          { row: device('main', '2'), change: null },
        ]);
        expect(store.history('main', '1')).toEqual([change('main', '1', 5_000)]);
        expect(store.history('main', '2')).toEqual([]);
      });

      it('saves nothing of a batch when one of its rows fails', () => {
        store.saveDevices([{ row: device('main', '0'), change: null }]);
        const bad = device('main', '2', { health: 'SIDEWAYS' as DeviceRow['health'] });
        expect(() =>
          store.saveDevices([
            { row: device('main', '1'), change: change('main', '1', 5_000) },
            { row: bad, change: null },
          ]),
        ).toThrow(StoreError);
        expect(store.getDevices().map((r) => r.device)).toEqual(['0']);
        expect(store.history('main', '1')).toEqual([]);
      });

      it('accepts an empty batch', () => {
        store.saveDevices([]);
        expect(store.getDevices()).toEqual([]);
      });

      it('rejects a state that JSON cannot represent, saving nothing', () => {
        expect(() =>
          store.saveDevices([{ row: device('main', '1', { state: undefined }), change: null }]),
        ).toThrow(/not JSON-serialisable/);
        expect(store.getDevices()).toEqual([]);
      });

      it('saves 10,000 devices in one batch', () => {
        const batch = Array.from({ length: 10_000 }, (_, i) => ({
          row: device('main', String(100_000_000 + i), { state: { i } }),
          change: i % 10 === 0 ? change('main', String(100_000_000 + i), 9_000) : null,
        }));
        store.saveDevices(batch);
        const rows = store.getDevices();
        expect(rows).toHaveLength(10_000);
        expect(rows[9_999]).toEqual(batch[9_999]!.row);
        expect(store.historyAll(0)).toHaveLength(1_000);
      });

      it('removes a device row but keeps its history', () => {
        store.saveDevices([{ row: device('main', '1'), change: change('main', '1', 5_000) }]);
        expect(store.removeDevice('main', '1')).toBe(true);
        expect(store.removeDevice('main', '1')).toBe(false);
        expect(store.getDevice('main', '1')).toBeNull();
        expect(store.history('main', '1')).toHaveLength(1);
      });
    });

    describe('JSON state round-trip', () => {
      it.each(JSON_STATES)('device state: %s', (_label, state) => {
        store.saveDevices([{ row: device('main', '1', { state }), change: null }]);
        const back = store.getDevice('main', '1')!.state;
        expect(back).toStrictEqual(state);
        expect(JSON.stringify(back)).toBe(JSON.stringify(state));
        expect(store.getDevices()[0]!.state).toStrictEqual(state);
      });

      it.each(JSON_STATES)('account state: %s', (_label, state) => {
        store.saveAccount({ account: 'main', reachable: true, state });
        const back = store.getAccounts()[0]!.state;
        expect(back).toStrictEqual(state);
        expect(JSON.stringify(back)).toBe(JSON.stringify(state));
      });
    });

    describe('history', () => {
      it('returns one device’s changes oldest first, ties in the order recorded', () => {
        store.appendHistory(change('main', '1', 300, { from: 'disconnected', to: 'connected' }));
        store.appendHistory(change('main', '1', 100, { from: null, to: 'connected' }));
        store.appendHistory(change('main', '1', 200, { from: 'connected', to: 'disconnected' }));
        store.appendHistory(change('main', '1', 300, { from: 'connected', to: 'not_connected' }));
        store.appendHistory(change('main', '2', 150));
        store.appendHistory(change('other', '1', 150));
        expect(store.history('main', '1').map((h) => [h.at, h.to])).toEqual([
          [100, 'connected'],
          [200, 'disconnected'],
          [300, 'connected'],
          [300, 'not_connected'],
        ]);
      });

      it('filters by since, inclusive', () => {
        for (const at of [100, 200, 300]) store.appendHistory(change('main', '1', at));
        expect(store.history('main', '1', { since: 200 }).map((h) => h.at)).toEqual([200, 300]);
        expect(store.history('main', '1', { since: 301 })).toEqual([]);
      });

      it('keeps every field, including a deletion and a raw text', () => {
        const rows: HistoryRow[] = [
          { account: 'main', device: '1', at: 1, from: null, to: 'unknown', raw: 'qr pending' },
          { account: 'main', device: '1', at: 2, from: 'unknown', to: 'deleted', raw: null },
        ];
        for (const row of rows) store.appendHistory(row);
        expect(store.history('main', '1')).toStrictEqual(rows);
      });

      it('historyAll gives the period plus each device’s last change before it', () => {
        store.appendHistory(change('main', '1', 100, { to: 'connected' }));
        store.appendHistory(change('main', '1', 200, { to: 'disconnected' }));
        store.appendHistory(change('main', '1', 600, { to: 'connected' }));
        store.appendHistory(change('main', '2', 700, { to: 'not_connected' }));
        store.appendHistory(change('b', '3', 50, { to: 'not_initialized' }));
        store.appendHistory(change('a', '9', 500, { to: 'unknown' }));
        expect(store.historyAll(500).map((h) => [h.account, h.device, h.at, h.to])).toEqual([
          ['a', '9', 500, 'unknown'],
          ['b', '3', 50, 'not_initialized'],
          ['main', '1', 200, 'disconnected'],
          ['main', '1', 600, 'connected'],
          ['main', '2', 700, 'not_connected'],
        ]);
      });

      it('historyAll picks the last-recorded of two changes at the same time before the period', () => {
        store.appendHistory(change('main', '1', 100, { to: 'connected' }));
        store.appendHistory(change('main', '1', 100, { to: 'disconnected' }));
        expect(store.historyAll(200).map((h) => h.to)).toEqual(['disconnected']);
      });

      it('deletedDevices: deleted and since then only not_found; added again or never deleted is not', () => {
        store.appendHistory(change('main', '1', 100, { to: 'connected' }));
        store.appendHistory(change('main', '1', 200, { from: 'connected', to: 'deleted' }));
        store.appendHistory(change('main', '1', 210, { from: 'connected', to: 'not_found' }));
        store.appendHistory(change('main', '2', 100, { to: 'deleted' }));
        store.appendHistory(change('main', '2', 300, { from: 'not_found', to: 'connected' }));
        store.appendHistory(change('main', '3', 100, { to: 'not_found' }));
        store.appendHistory(change('b', '4', 100, { to: 'deleted' }));
        store.appendHistory(change('b', '4', 100, { to: 'connected' }));
        store.appendHistory(change('b', '4', 400, { to: 'deleted' }));
        expect(store.deletedDevices()).toEqual([
          { account: 'b', device: '4', at: 400 },
          { account: 'main', device: '1', at: 200 },
        ]);
      });

      it('historyAll on an empty history is empty', () => {
        expect(store.historyAll(0)).toEqual([]);
      });
    });

    describe('accounts', () => {
      it('saves, replaces and lists account rows by name', () => {
        expect(store.getAccounts()).toEqual([]);
        store.saveAccount({ account: 'zeta', reachable: true, state: { failures: 0 } });
        store.saveAccount({ account: 'alpha', reachable: true, state: null });
        store.saveAccount({ account: 'zeta', reachable: false, state: { failures: 3 } });
        expect(store.getAccounts()).toStrictEqual([
          { account: 'alpha', reachable: true, state: null },
          { account: 'zeta', reachable: false, state: { failures: 3 } },
        ]);
      });
    });

    describe('silences', () => {
      it('adds a silence and gives it back with an id', () => {
        const s = store.addSilence(silence({ account: 'main', device: '1', reason: 'maintenance' }));
        expect(s).toStrictEqual({
          id: s.id,
          account: 'main',
          device: '1',
          until: 10_000,
          reason: 'maintenance',
          createdAt: 1_000,
        });
        expect(store.addSilence(silence()).id).toBeGreaterThan(s.id);
      });

      it('lists the silences still holding at now (until is exclusive), oldest first', () => {
        const a = store.addSilence(silence({ until: 5_000 }));
        const b = store.addSilence(silence({ device: '1', until: 9_000 }));
        store.addSilence(silence({ device: '2', until: 4_000 }));
        expect(store.activeSilences(4_000)).toEqual([a, b]);
        expect(store.activeSilences(5_000)).toEqual([b]);
        expect(store.activeSilences(9_000)).toEqual([]);
      });

      it('removes silences by device, by account, by both, or all', () => {
        store.addSilence(silence({ account: 'main', device: '1' }));
        store.addSilence(silence({ account: null, device: '1' }));
        store.addSilence(silence({ account: 'main', device: '2' }));
        store.addSilence(silence({ account: 'other', device: '2' }));
        store.addSilence(silence({ account: 'other', device: null }));
        store.addSilence(silence({ account: null, device: null }));
        expect(store.removeSilences({ account: 'main', device: '2' })).toBe(1);
        expect(store.removeSilences({ device: '1' })).toBe(2);
        expect(store.removeSilences({ account: 'other' })).toBe(2);
        expect(store.activeSilences(0).map((s) => [s.account, s.device])).toEqual([[null, null]]);
        expect(store.removeSilences({ device: '404' })).toBe(0);
        store.addSilence(silence({ until: 1 }));
        expect(store.removeSilences('all')).toBe(2);
        expect(store.activeSilences(0)).toEqual([]);
      });

      it('refuses an empty target rather than removing everything', () => {
        store.addSilence(silence());
        expect(() => store.removeSilences({})).toThrow(/'all'/);
        expect(store.activeSilences(0)).toHaveLength(1);
      });

      it('does not reuse the id of a removed silence', () => {
        const first = store.addSilence(silence());
        store.removeSilences('all');
        expect(store.addSilence(silence()).id).toBeGreaterThan(first.id);
      });
    });

    describe('prune', () => {
      it('deletes old history but keeps each device’s status at the cutoff', () => {
        // main/1: changes before and after the cutoff; main/2: only old changes;
        // main/3: only new ones; main/4: a single old change.
        for (const at of [100, 200, 300, 600])
          store.appendHistory(change('main', '1', at, { to: 'connected' }));
        store.appendHistory(change('main', '2', 100, { to: 'connected' }));
        store.appendHistory(change('main', '2', 200, { to: 'disconnected' }));
        store.appendHistory(change('main', '3', 700));
        store.appendHistory(change('main', '4', 50, { to: 'deleted' }));
        expect(store.prune(500)).toEqual({ history: 3, silences: 0, deliveryProblems: 0 });
        expect(store.history('main', '1').map((h) => h.at)).toEqual([300, 600]);
        expect(store.history('main', '2').map((h) => [h.at, h.to])).toEqual([[200, 'disconnected']]);
        expect(store.history('main', '3').map((h) => h.at)).toEqual([700]);
        expect(store.history('main', '4').map((h) => h.at)).toEqual([50]);
        expect(store.prune(500)).toEqual({ history: 0, silences: 0, deliveryProblems: 0 });
      });

      it('never removes the last known status, however old', () => {
        store.appendHistory(change('main', '1', 10, { to: 'connected' }));
        store.appendHistory(change('main', '1', 20, { to: 'not_connected' }));
        store.prune(Number.MAX_SAFE_INTEGER);
        expect(store.history('main', '1').map((h) => h.to)).toEqual(['not_connected']);
      });

      it('keeps the last-recorded of two changes at the same time', () => {
        store.appendHistory(change('main', '1', 10, { to: 'connected' }));
        store.appendHistory(change('main', '1', 10, { to: 'disconnected' }));
        expect(store.prune(100).history).toBe(1);
        expect(store.history('main', '1').map((h) => h.to)).toEqual(['disconnected']);
      });

      it('keeps devices apart: same number in two accounts', () => {
        store.appendHistory(change('a', '1', 10));
        store.appendHistory(change('b', '1', 20));
        expect(store.prune(100).history).toBe(0);
      });

      it('deletes silences that ended before the cutoff', () => {
        store.addSilence(silence({ until: 100 }));
        const kept = store.addSilence(silence({ until: 500 }));
        expect(store.prune(500)).toEqual({ history: 0, silences: 1, deliveryProblems: 0 });
        expect(store.activeSilences(0)).toEqual([kept]);
      });
    });

    describe('delivery problems', () => {
      const started = (number: string, problem: DeliveryProblemChange['problem'], at: number) =>
        ({ account: 'main', device: number, problem, kind: 'started', at }) as const;
      const ended = (number: string, problem: DeliveryProblemChange['problem'], at: number) =>
        ({ account: 'main', device: number, problem, kind: 'ended', at }) as const;

      it('opens a period at a start and closes it at the end; lists those overlapping since', () => {
        store.recordDeliveryProblems([
          started('1', 'stalled', 1_000),
          ended('1', 'stalled', 2_000),
          started('1', 'stalled', 5_000),
          started('2', 'balance_low', 3_000),
          started('1', 'failing', 4_000),
          ended('1', 'failing', 4_500),
        ]);
        expect(store.problemPeriods(0)).toEqual([
          { account: 'main', device: '1', problem: 'stalled', startedAt: 1_000, endedAt: 2_000 },
          { account: 'main', device: '1', problem: 'failing', startedAt: 4_000, endedAt: 4_500 },
          { account: 'main', device: '1', problem: 'stalled', startedAt: 5_000, endedAt: null },
          { account: 'main', device: '2', problem: 'balance_low', startedAt: 3_000, endedAt: null },
        ]);
        // Ended before since: left out; ended at since (inclusive) or open: kept.
        expect(store.problemPeriods(4_500).map((p) => [p.device, p.problem, p.startedAt])).toEqual([
          ['1', 'failing', 4_000],
          ['1', 'stalled', 5_000],
          ['2', 'balance_low', 3_000],
        ]);
      });

      it('a second start of an open problem and an end of none open change nothing', () => {
        store.recordDeliveryProblems([
          ended('1', 'stalled', 500),
          started('1', 'stalled', 1_000),
          started('1', 'stalled', 1_500),
        ]);
        expect(store.problemPeriods(0)).toEqual([
          { account: 'main', device: '1', problem: 'stalled', startedAt: 1_000, endedAt: null },
        ]);
      });

      it('saveDevices writes the delivery changes of a batch with its rows, or none of them', () => {
        store.saveDevices([
          { row: device('main', '1'), change: null, deliveryChanges: [started('1', 'stalled', 1_000)] },
        ]);
        expect(store.problemPeriods(0)).toHaveLength(1);
        const bad = device('main', '2', { health: 'SIDEWAYS' as DeviceRow['health'] });
        expect(() =>
          store.saveDevices([
            { row: device('main', '1'), change: null, deliveryChanges: [ended('1', 'stalled', 2_000)] },
            { row: bad, change: null },
          ]),
        ).toThrow(StoreError);
        expect(store.problemPeriods(0)[0]!.endedAt).toBeNull();
      });

      it('prune deletes periods that ended before the cutoff, never an open one', () => {
        store.recordDeliveryProblems([
          started('1', 'stalled', 100),
          ended('1', 'stalled', 200),
          started('1', 'failing', 100),
          ended('1', 'failing', 600),
          started('2', 'stalled', 50),
        ]);
        expect(store.prune(500)).toEqual({ history: 0, silences: 0, deliveryProblems: 1 });
        expect(store.problemPeriods(0).map((p) => [p.device, p.problem])).toEqual([
          ['1', 'failing'],
          ['2', 'stalled'],
        ]);
      });
    });

    describe('meta', () => {
      it('stores small values by key', () => {
        expect(store.getMeta('retention.last_run')).toBeNull();
        store.setMeta('retention.last_run', '1700000000000');
        store.setMeta('retention.last_run', '1700000100000');
        store.setMeta('other', '');
        expect(store.getMeta('retention.last_run')).toBe('1700000100000');
        expect(store.getMeta('other')).toBe('');
      });
    });

    describe('transaction', () => {
      it('keeps everything saved inside and returns the result', () => {
        const result = store.transaction(() => {
          store.saveDevices([{ row: device('main', '1'), change: change('main', '1', 5) }]);
          store.saveAccount({ account: 'main', reachable: true, state: {} });
          store.setMeta('k', 'v');
          return 'done';
        });
        expect(result).toBe('done');
        expect(store.getDevices()).toHaveLength(1);
        expect(store.getAccounts()).toHaveLength(1);
        expect(store.getMeta('k')).toBe('v');
      });

      it('keeps nothing when the function throws, and rethrows its error unchanged', () => {
        const boom = new Error('boom');
        expect(() =>
          store.transaction(() => {
            store.saveDevices([{ row: device('main', '1'), change: change('main', '1', 5) }]);
            store.addSilence(silence());
            throw boom;
          }),
        ).toThrow(boom);
        expect(store.getDevices()).toEqual([]);
        expect(store.history('main', '1')).toEqual([]);
        expect(store.activeSilences(0)).toEqual([]);
      });

      it('nests: an inner failure caught inside undoes only the inner part', () => {
        store.transaction(() => {
          store.setMeta('outer', '1');
          try {
            store.transaction(() => {
              store.setMeta('inner', '1');
              throw new Error('inner');
            });
          } catch {
            // expected
          }
        });
        expect(store.getMeta('outer')).toBe('1');
        expect(store.getMeta('inner')).toBeNull();
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

      it('starts empty, and gives ids ascending in the order logged', () => {
        expect(store.apiCalls('main')).toEqual([]);
        const a = store.recordApiCall(call({ at: 5_000 }));
        const b = store.recordApiCall(
          call({ at: 4_000, origin: 'cli', caller: 'cli-9', kind: 'out_of_band' }),
        );
        expect(b).toBeGreaterThan(a);
        expect(store.apiCalls('main')).toEqual([
          { id: a, ...call({ at: 5_000 }) },
          { id: b, ...call({ at: 4_000, origin: 'cli', caller: 'cli-9', kind: 'out_of_band' }) },
        ]);
      });

      it('keeps the lease epoch when there is one', () => {
        const id = store.recordApiCall(call({ epoch: 7 }));
        expect(store.apiCalls('main')).toEqual([{ id, ...call({ epoch: 7 }) }]);
      });

      it('reads per account, after an id, since a time, and without one caller', () => {
        const first = store.recordApiCall(call({ at: 1_000 }));
        store.recordApiCall(call({ account: 'other', at: 2_000 }));
        const cli = store.recordApiCall(call({ at: 3_000, origin: 'cli', caller: 'cli-1' }));
        const own = store.recordApiCall(call({ at: 4_000 }));
        const ids = (rows: readonly { id: number }[]) => rows.map((r) => r.id);
        expect(ids(store.apiCalls('main'))).toEqual([first, cli, own]);
        expect(ids(store.apiCalls('main', { afterId: first }))).toEqual([cli, own]);
        expect(ids(store.apiCalls('main', { since: 3_000 }))).toEqual([cli, own]);
        expect(ids(store.apiCalls('main', { excludeCaller: 'daemon-1' }))).toEqual([cli]);
        expect(ids(store.apiCalls('main', { afterId: cli, excludeCaller: 'daemon-1' }))).toEqual([]);
      });

      it('prunes calls older than a time, across accounts', () => {
        store.recordApiCall(call({ at: 1_000 }));
        store.recordApiCall(call({ account: 'other', at: 1_500 }));
        const kept = store.recordApiCall(call({ at: 2_000 }));
        expect(store.pruneApiCalls(2_000)).toBe(2);
        expect(store.apiCalls('main').map((r) => r.id)).toEqual([kept]);
        expect(store.apiCalls('other')).toEqual([]);
      });

      it('a call logged in a transaction that fails is not kept', () => {
        expect(() =>
          store.transaction(() => {
            store.recordApiCall(call());
            throw new Error('no');
          }),
        ).toThrow('no');
        expect(store.apiCalls('main')).toEqual([]);
      });
    });

    describe('close', () => {
      it('is idempotent, and the store refuses work afterwards', () => {
        store.close();
        store.close();
        expect(() => store.getDevices()).toThrow(StoreError);
        expect(() => store.getDevices()).toThrow(/closed/);
        expect(thrown(() => store.setMeta('a', 'b'))).toMatchObject({ name: 'StoreError', reason: 'closed' });
      });
    });
  });
}
