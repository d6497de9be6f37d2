// The outbox worker beside other replicas (SPEC §11): claims answered false, `canSend`, writes
// refused as `deposed`, and a worker started again after a stop. Against the real SQLite outbox,
// with FaultyOutbox playing the other replica.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../test-support/fake-clock.js';
import { PAYLOAD_VERSION } from './message.js';
import type { Notifier, SendResult } from './notifier.js';
import {
  CLAIM_CONFLICT_PAUSE_MS,
  OutboxWorker,
  STANDBY_RECHECK_MS,
  type DeliveryOutcome,
  type OutboxWorkerOptions,
} from './outbox-worker.js';
import { FakeNotifier } from './test-support/fake-notifier.js';
import { captureLogger, deviceNote, T0 } from './test-support/fixtures.js';
import { deposedError, FaultyOutbox } from './test-support/faulty-outbox.js';
import { tempDb, type TempDb } from './test-support/store.js';

const S = 1000;
const H = 3_600_000;
const FAIL: SendResult = { ok: false, retryable: true, error: 'HTTP 500 from https://hooks.example.com/x' };

let db: TempDb;
let clock: FakeClock;
let outcomes: [string, DeliveryOutcome][];
let logs: ReturnType<typeof captureLogger>;
const workers: OutboxWorker[] = [];

beforeEach(() => {
  db = tempDb();
  clock = new FakeClock(T0);
  outcomes = [];
  logs = captureLogger();
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await db.dispose();
});

let seq = 0;
async function enqueue(channel: string): Promise<string> {
  const deliveryId = `dlv-${++seq}`;
  const payload = { version: PAYLOAD_VERSION, events: [deviceNote({ id: `e${seq}` })] };
  await db.outbox.enqueue([{ deliveryId, channel, payload, createdAt: clock.now() }]);
  return deliveryId;
}

function worker(...notifiers: Notifier[]): OutboxWorker {
  return workerWith({}, ...notifiers);
}

function workerWith(options: Partial<OutboxWorkerOptions>, ...notifiers: Notifier[]): OutboxWorker {
  const w = new OutboxWorker({
    store: db.outbox,
    clock,
    log: logs.log,
    notifiers: new Map(notifiers.map((n) => [n.channel, n])),
    onOutcome: (channel, outcome) => outcomes.push([channel, outcome]),
    ...options,
  });
  workers.push(w);
  return w;
}

function warnings(text: string): string[] {
  return logs.lines.filter((l) => l.includes('"level":"warn"') && l.includes(text));
}

describe('OutboxWorker claims (markAttempting before every attempt)', () => {
  it('a head another replica holds a claim on is not sent; the channel waits, the others go on', async () => {
    const outbox = new FaultyOutbox(db.outbox);
    const hook = new FakeNotifier('hook');
    const other = new FakeNotifier('other');
    const w = workerWith({ store: outbox }, hook, other);
    const held = await enqueue('hook');
    const free = await enqueue('other');
    outbox.faults.claimedElsewhere.add((await db.outbox.find(held))!.id);
    w.start();
    await clock.advance(0);
    expect(hook.attempts).toEqual([]);
    expect(other.attempts.map((a) => a.deliveryId)).toEqual([free]);
    // Asked twice (is it still the head?), then left alone for a moment: no spinning.
    expect(outbox.faults.count('markAttempting')).toBe(3);
    await clock.advance(CLAIM_CONFLICT_PAUSE_MS - 1);
    expect(outbox.faults.count('markAttempting')).toBe(3);
    outbox.faults.claimedElsewhere.clear();
    await clock.advance(1);
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([held]);
    expect(await db.outbox.find(held)).toMatchObject({ state: 'sent', attempts: 1 });
  });

  it('a head no longer pending when claimed (sent elsewhere meanwhile) is not sent; the next one is', async () => {
    const outbox = new FaultyOutbox(db.outbox);
    const hook = new FakeNotifier('hook', [FAIL, { ok: true }]);
    const w = workerWith({ store: outbox }, hook);
    const first = await enqueue('hook');
    await w.deliverDue(); // attempted once: nothing is merged into it any more
    const second = await enqueue('hook');
    outbox.faults.before.set('markAttempting', async (tx, [id]) => {
      outbox.faults.before.clear();
      await tx.markSent(id as number, clock.now(), 2); // another replica got there first
    });
    await clock.advance(10 * S);
    await w.deliverDue();
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([first, second]);
    expect(await db.outbox.find(second)).toMatchObject({ state: 'sent', attempts: 1 });
  });
});

describe('OutboxWorker and HA (SPEC §11)', () => {
  it('while canSend says no, nothing is released, claimed or sent; it resumes by itself', async () => {
    let leading = false;
    const outbox = new FaultyOutbox(db.outbox);
    let released = 0;
    const hook = new FakeNotifier('hook');
    const w = workerWith(
      {
        store: outbox,
        canSend: () => leading,
        release: () => {
          released++;
          return Promise.resolve(null);
        },
      },
      hook,
    );
    const id = await enqueue('hook');
    w.start();
    w.wake();
    await clock.advance(10 * S);
    expect(hook.attempts).toEqual([]);
    expect(released).toBe(0);
    expect(outbox.faults.count('markAttempting')).toBe(0);
    expect(outbox.faults.count('retryNow')).toBe(0);
    expect(await db.outbox.find(id)).toMatchObject({ state: 'pending', attempts: 0 });
    leading = true;
    await clock.advance(STANDBY_RECHECK_MS);
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([id]);
    expect(released).toBe(1);
  });

  it('a lease that lapses during the claim: claimed (counted as attempted), not sent', async () => {
    let asked = 0;
    const hook = new FakeNotifier('hook');
    // Yes for the claim, no right before the attempt.
    const w = workerWith({ canSend: () => ++asked < 3 }, hook);
    const id = await enqueue('hook');
    await w.deliverDue();
    expect(hook.attempts).toEqual([]);
    expect(await db.outbox.find(id)).toMatchObject({ state: 'pending', attempts: 1 });
    expect(outcomes).toEqual([]);
  });

  it('a claim refused as deposed: not sent, one line logged, left to the other replica, no spinning', async () => {
    const outbox = new FaultyOutbox(db.outbox);
    const a = new FakeNotifier('a');
    const b = new FakeNotifier('b');
    const w = workerWith({ store: outbox }, a, b);
    const ids = [await enqueue('a'), await enqueue('b')];
    outbox.faults.deposed = true;
    w.start();
    await clock.advance(0);
    expect([...a.attempts, ...b.attempts]).toEqual([]);
    expect(outbox.faults.count('markAttempting')).toBe(2);
    expect(warnings('another replica took over')).toHaveLength(1);
    // Nothing of it is tried again by this run, however often it is woken.
    w.wake();
    await clock.advance(STANDBY_RECHECK_MS);
    await clock.advance(24 * H);
    expect(outbox.faults.count('markAttempting')).toBe(2);
    expect(clock.nextWakeAt()).toBeUndefined();
    for (const id of ids) expect(await db.outbox.find(id)).toMatchObject({ state: 'pending', attempts: 0 });
    expect(warnings('another replica took over')).toHaveLength(1);
  });

  it('sent, then the verdict refused as deposed: not sent again by this run; a new term sends it (at least once)', async () => {
    const outbox = new FaultyOutbox(db.outbox);
    const hook = new FakeNotifier('hook');
    const w = workerWith({ store: outbox }, hook);
    const id = await enqueue('hook');
    outbox.faults.failing.set('markSent', deposedError());
    w.start();
    await clock.advance(0);
    await clock.advance(H);
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([id]);
    expect(warnings('another replica took over')).toHaveLength(1);
    expect(await db.outbox.find(id)).toMatchObject({ state: 'pending', attempts: 1 });

    // This replica leads again later: the store says pending, so it goes out again, same id.
    await w.stop();
    outbox.faults.failing.clear();
    w.start();
    await clock.advance(0);
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([id, id]);
    expect(await db.outbox.find(id)).toMatchObject({ state: 'sent', attempts: 2 });
  });

  it('start() after stop() delivers again (a replica leading again)', async () => {
    const hook = new FakeNotifier('hook');
    const w = worker(hook);
    w.start();
    const first = await enqueue('hook');
    w.wake();
    await clock.advance(0);
    await w.stop();
    const second = await enqueue('hook');
    w.wake();
    await clock.advance(H);
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([first]);
    w.start();
    w.start(); // idempotent while running
    await clock.advance(0);
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([first, second]);
    // stop and start without waiting in between: the new run begins once the old one ended.
    const stopping = w.stop();
    w.start();
    await stopping;
    const third = await enqueue('hook');
    w.wake();
    await clock.advance(0);
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([first, second, third]);
  });
});
