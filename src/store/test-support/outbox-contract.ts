// The behaviour every OutboxStore must show (the notification outbox and the firing
// Alertmanager alerts, outbox-store.ts). Each store's test file calls describeOutboxContract with
// a function that opens a fresh, empty store; the outbox under test is that store's.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../errors.js';
import type { NewOutboxMessage, OutboxStore } from '../outbox-store.js';
import type { Store } from '../store.js';
import { JSON_STATES, rejection } from './store-contract.js';

export function msg(
  deliveryId: string,
  channel: string,
  createdAt = 1_000,
  payload: unknown = { n: deliveryId },
): NewOutboxMessage {
  return { deliveryId, channel, payload, createdAt };
}

/** `open` gives a fresh, empty store; each test closes it. */
export function describeOutboxContract(name: string, open: () => Promise<Store>): void {
  describe(`Outbox contract: ${name}`, () => {
    let store: Store;
    let outbox: OutboxStore;
    beforeEach(async () => {
      store = await open();
      outbox = store.outbox;
    });
    afterEach(async () => {
      await store.close();
    });

    describe('messages', () => {
      it('keeps each message with its delivery id, payload and times; the oldest per channel is its head', async () => {
        await outbox.enqueue([msg('a1', 'a', 1_000), msg('b1', 'b', 1_100), msg('a2', 'a', 1_200)]);
        expect((await outbox.heads()).map((m) => m.deliveryId)).toEqual(['a1', 'b1']);
        expect(await outbox.head('a')).toMatchObject({
          deliveryId: 'a1',
          channel: 'a',
          payload: { n: 'a1' },
          createdAt: 1_000,
          attempts: 0,
          nextAttemptAt: 1_000,
          lastError: null,
          state: 'pending',
          doneAt: null,
        });
        expect(await outbox.head('none')).toBeNull();
        expect(await outbox.pendingCounts()).toEqual(
          new Map([
            ['a', 2],
            ['b', 1],
          ]),
        );
      });

      it('records retries, deliveries and drops; only pending messages are heads', async () => {
        await outbox.enqueue([msg('a1', 'a'), msg('a2', 'a'), msg('b1', 'b')]);
        const a1 = (await outbox.head('a'))!;
        await outbox.markRetry(a1.id, 1, 11_000, 'HTTP 500');
        expect(await outbox.find('a1')).toMatchObject({
          attempts: 1,
          nextAttemptAt: 11_000,
          lastError: 'HTTP 500',
          state: 'pending',
        });
        await outbox.markSent(a1.id, 12_000, 2);
        expect(await outbox.find('a1')).toMatchObject({
          attempts: 2,
          state: 'sent',
          doneAt: 12_000,
          lastError: null,
        });
        await outbox.markDropped((await outbox.head('b'))!.id, 13_000, 1, 'HTTP 400');
        expect(await outbox.find('b1')).toMatchObject({
          state: 'dropped',
          doneAt: 13_000,
          lastError: 'HTTP 400',
        });
        expect((await outbox.heads()).map((m) => m.deliveryId)).toEqual(['a2']);
        expect(await outbox.pendingCounts()).toEqual(new Map([['a', 1]]));
      });

      it('retryNow() makes pending messages waiting for a retry due now, and nothing else', async () => {
        await outbox.enqueue([msg('a1', 'a'), msg('a2', 'a', 1_000), msg('b1', 'b', 1_000)]);
        await outbox.markRetry((await outbox.head('a'))!.id, 3, 600_000, 'HTTP 500');
        await outbox.markRetry((await outbox.head('b'))!.id, 1, 20_000, 'HTTP 500');
        await outbox.markSent((await outbox.head('b'))!.id, 15_000, 2);
        expect(await outbox.retryNow(15_000)).toBe(1);
        expect(await outbox.find('a1')).toMatchObject({
          nextAttemptAt: 15_000,
          attempts: 3,
          lastError: 'HTTP 500',
        });
        expect((await outbox.find('a2'))?.nextAttemptAt).toBe(1_000);
        expect((await outbox.find('b1'))?.nextAttemptAt).toBe(20_000);
      });

      it('merging: the never-attempted tail of a channel, a new payload, folded rows done with a note', async () => {
        await outbox.enqueue([
          msg('a1', 'a'),
          msg('b1', 'b'),
          msg('a2', 'a'),
          msg('a3', 'a'),
          msg('a4', 'a'),
        ]);
        const head = (await outbox.head('a'))!;
        expect((await outbox.unattemptedAfter('a', head.id, 2)).map((m) => m.deliveryId)).toEqual([
          'a2',
          'a3',
        ]);
        await outbox.markAttempting(head.id, 1);
        expect(await outbox.find('a1')).toMatchObject({ attempts: 1, state: 'pending' });
        await outbox.transaction(async (tx) => {
          await tx.setPayload(head.id, { merged: true });
          await tx.markMerged((await tx.find('a2'))!.id, 5_000, 'a1');
        });
        expect((await outbox.find('a1'))?.payload).toEqual({ merged: true });
        expect(await outbox.find('a2')).toMatchObject({
          state: 'sent',
          doneAt: 5_000,
          attempts: 0,
          lastError: 'merged into a1',
          payload: { n: 'a2' },
        });
        expect((await outbox.unattemptedAfter('a', head.id, 10)).map((m) => m.deliveryId)).toEqual([
          'a3',
          'a4',
        ]);
        expect((await outbox.pendingCounts()).get('a')).toBe(3);
      });

      it('expired(): pending messages created strictly before the cutoff', async () => {
        await outbox.enqueue([msg('old', 'a', 1_000), msg('edge', 'a', 2_000), msg('new', 'b', 3_000)]);
        await outbox.markSent((await outbox.head('b'))!.id, 3_000, 1);
        expect((await outbox.expired(2_000)).map((m) => m.deliveryId)).toEqual(['old']);
        expect((await outbox.expired(10_000)).map((m) => m.deliveryId)).toEqual(['old', 'edge']);
      });

      it('a batch is queued whole or not at all', async () => {
        const err = await rejection(outbox.enqueue([msg('x', 'a'), msg('x', 'b')]));
        expect(err).toBeInstanceOf(StoreError);
        expect((err as StoreError).reason).toBe('invalid');
        expect((await outbox.pendingCounts()).size).toBe(0);
      });

      it('joins the store’s transactions: a rollback takes the queued messages with it', async () => {
        await expect(
          store.transaction(async (tx) => {
            await tx.outbox.enqueue([msg('x', 'a')]);
            await tx.outbox.putFiring({ channel: 'am', key: 'k', event: {}, updatedAt: 1 });
            throw new Error('cycle failed');
          }),
        ).rejects.toThrow('cycle failed');
        expect(await outbox.find('x')).toBeNull();
        expect(await outbox.firing()).toEqual([]);
      });

      it('prune deletes finished messages before the cutoff only', async () => {
        await outbox.enqueue([msg('s', 'a'), msg('d', 'b'), msg('p', 'c')]);
        await outbox.markSent((await outbox.head('a'))!.id, 5_000, 1);
        await outbox.markDropped((await outbox.head('b'))!.id, 6_000, 1, 'no');
        expect(await outbox.prune(5_000)).toBe(0);
        expect(await outbox.prune(5_001)).toBe(1);
        expect(await outbox.prune(100_000)).toBe(1);
        expect((await outbox.find('p'))?.state).toBe('pending');
      });

      it('firing alerts: upserted by (channel, key), listed in order, deleted', async () => {
        await outbox.putFiring({ channel: 'am', key: 'device/main/2', event: { v: 1 }, updatedAt: 1 });
        await outbox.putFiring({ channel: 'am', key: 'device/main/1', event: { v: 1 }, updatedAt: 1 });
        await outbox.putFiring({ channel: 'am', key: 'device/main/2', event: { v: 2 }, updatedAt: 2 });
        expect(await outbox.firing()).toEqual([
          { channel: 'am', key: 'device/main/1', event: { v: 1 }, updatedAt: 1 },
          { channel: 'am', key: 'device/main/2', event: { v: 2 }, updatedAt: 2 },
        ]);
        expect(await outbox.deleteFiring('am', 'device/main/1')).toBe(true);
        expect(await outbox.deleteFiring('am', 'device/main/1')).toBe(false);
        expect(await outbox.firing()).toHaveLength(1);
      });

      it('markAttempting claims a pending message: true, its attempt recorded; false for any other', async () => {
        await outbox.enqueue([msg('p', 'a'), msg('s', 'b'), msg('d', 'c')]);
        await outbox.hold([msg('h', 'a'), msg('c', 'a')]);
        const id = async (deliveryId: string) => (await outbox.find(deliveryId))!.id;
        await outbox.markSent(await id('s'), 2_000, 1);
        await outbox.markDropped(await id('d'), 2_000, 1, 'HTTP 400');
        await outbox.markCancelled([await id('c')], 2_000, 'cancelled out');
        expect(await outbox.markAttempting(await id('p'), 1)).toBe(true);
        expect(await outbox.markAttempting(await id('p'), 2)).toBe(true);
        expect(await outbox.find('p')).toMatchObject({ attempts: 2, state: 'pending' });
        for (const other of ['s', 'd', 'h', 'c']) {
          const before = await outbox.find(other);
          expect(await outbox.markAttempting(before!.id, 9)).toBe(false);
          expect(await outbox.find(other)).toEqual(before);
        }
        expect(await outbox.markAttempting(999_999, 1)).toBe(false);
      });

      it('a delivery id already queued is refused, and the batch with it', async () => {
        await outbox.enqueue([msg('x', 'a')]);
        const err = await rejection(outbox.enqueue([msg('y', 'a'), msg('x', 'b')]));
        expect(err).toMatchObject({ name: 'StoreError', reason: 'invalid' });
        expect(await outbox.find('y')).toBeNull();
        expect((await outbox.find('x'))?.channel).toBe('a');
      });

      it('lists heads and counts by channel in code-point order; unattemptedAfter honours its limit', async () => {
        await outbox.enqueue(['b', 'B', '_', 'a'].map((channel) => msg(`m-${channel}`, channel)));
        await outbox.enqueue([msg('a2', 'a'), msg('a3', 'a'), msg('a4', 'a')]);
        expect((await outbox.heads()).map((m) => m.channel)).toEqual(['B', '_', 'a', 'b']);
        expect([...(await outbox.pendingCounts()).keys()]).toEqual(['B', '_', 'a', 'b']);
        const head = (await outbox.head('a'))!;
        expect((await outbox.unattemptedAfter('a', head.id, 1)).map((m) => m.deliveryId)).toEqual(['a2']);
      });

      it.each(JSON_STATES)('payloads and firing events round-trip: %s', async (_label, value) => {
        await outbox.enqueue([msg('m', 'a', 1_000, value)]);
        await outbox.hold([msg('h', 'a', 1_000, value)]);
        await outbox.putFiring({ channel: 'am', key: 'k', event: value, updatedAt: 1 });
        expect((await outbox.find('m'))!.payload).toStrictEqual(value);
        expect((await outbox.held())[0]!.payload).toStrictEqual(value);
        expect((await outbox.firing())[0]!.event).toStrictEqual(value);
        await outbox.setPayload((await outbox.find('m'))!.id, [value]);
        expect((await outbox.head('a'))!.payload).toStrictEqual([value]);
      });

      it('a closed store gives StoreErrors with reason closed', async () => {
        await store.close();
        expect(await rejection(outbox.heads())).toMatchObject({ name: 'StoreError', reason: 'closed' });
        expect(await rejection(outbox.enqueue([msg('x', 'a')]))).toMatchObject({ reason: 'closed' });
        expect(await rejection(outbox.markAttempting(1, 1))).toMatchObject({ reason: 'closed' });
      });

      it('a payload that is not JSON is refused before anything is written', async () => {
        await expect(outbox.enqueue([msg('f', 'a', 1, () => 1)])).rejects.toThrow(TypeError);
        expect(await outbox.find('f')).toBeNull();
      });
    });

    describe('held rows (notification grouping)', () => {
      it('held rows are never delivered, counted or expired; only held() lists them, oldest first', async () => {
        await outbox.hold([msg('h1', 'a', 1_000), msg('h2', 'b', 1_100)]);
        await outbox.enqueue([msg('p1', 'a', 1_200)]);
        expect((await outbox.held()).map((m) => [m.deliveryId, m.state, m.createdAt])).toEqual([
          ['h1', 'held', 1_000],
          ['h2', 'held', 1_100],
        ]);
        expect((await outbox.heads()).map((m) => m.deliveryId)).toEqual(['p1']);
        expect(await outbox.pendingCounts()).toEqual(new Map([['a', 1]]));
        expect((await outbox.expired(10_000)).map((m) => m.deliveryId)).toEqual(['p1']);
        expect(await outbox.retryNow(5_000)).toBe(0);
        // Held rows have no done_at: retention never prunes them.
        expect(await outbox.prune(Number.MAX_SAFE_INTEGER)).toBe(0);
        expect(await outbox.held()).toHaveLength(2);
      });

      it('removeHeld deletes held rows only; markCancelled marks them done with a note', async () => {
        await outbox.hold([msg('h1', 'a'), msg('h2', 'a'), msg('h3', 'a')]);
        await outbox.enqueue([msg('p1', 'a')]);
        const [h1, h2, h3] = await outbox.held();
        const p1 = (await outbox.find('p1'))!;
        expect(await outbox.removeHeld([h1!.id, p1.id])).toBe(1);
        expect(await outbox.find('h1')).toBeNull();
        expect((await outbox.find('p1'))?.state).toBe('pending');
        await outbox.markCancelled([h2!.id, p1.id], 2_000, 'cancelled out');
        expect(await outbox.find('h2')).toMatchObject({
          state: 'cancelled',
          doneAt: 2_000,
          lastError: 'cancelled out',
        });
        expect((await outbox.find('p1'))?.state).toBe('pending');
        expect((await outbox.held()).map((m) => m.id)).toEqual([h3!.id]);
        expect(await outbox.prune(2_001)).toBe(1);
      });

      it('lastGroupedAt: per channel, the newest grouped message; other messages do not count', async () => {
        await outbox.enqueue([msg('g1', 'a', 1_000), msg('g2', 'a', 3_000), msg('g3', 'b', 2_000)], {
          grouped: true,
        });
        await outbox.enqueue([msg('x', 'a', 9_000), msg('y', 'c', 9_000)]);
        await outbox.hold([msg('h', 'c', 9_500)]);
        expect(await outbox.lastGroupedAt()).toEqual(
          new Map([
            ['a', 3_000],
            ['b', 2_000],
          ]),
        );
        expect((await outbox.find('g1'))?.grouped).toBe(true);
        expect((await outbox.find('x'))?.grouped).toBe(false);
        // Still known after the message was sent (group_interval counts from its queueing).
        await outbox.markSent((await outbox.find('g2'))!.id, 4_000, 1);
        expect((await outbox.lastGroupedAt()).get('a')).toBe(3_000);
      });
    });
  });
}
