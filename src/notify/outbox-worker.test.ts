import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../monitor/clock.js';
import type { NewOutboxMessage } from '../store/outbox.js';
import { PAYLOAD_VERSION, type NotificationPayload } from './message.js';
import type { Notifier, SendResult } from './notifier.js';
import { backoffDelay, OutboxWorker, type DeliveryOutcome } from './outbox-worker.js';
import { FakeNotifier } from './test-support/fake-notifier.js';
import { captureLogger, deviceNote, T0 } from './test-support/fixtures.js';
import { tempDb, type TempDb } from './test-support/store.js';

const S = 1000;
const H = 3_600_000;
const FAIL: SendResult = { ok: false, retryable: true, error: 'HTTP 500 from https://hooks.example.com/x' };
const REFUSED: SendResult = {
  ok: false,
  retryable: false,
  error: 'HTTP 400 from https://hooks.example.com/x',
};

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
  db.dispose();
});

function payload(n = 1): NotificationPayload {
  return {
    version: PAYLOAD_VERSION,
    events: Array.from({ length: n }, (_, i) => deviceNote({ number: `${i}` })),
  };
}

let seq = 0;
function enqueue(channel: string, over: Partial<NewOutboxMessage> = {}): string {
  const deliveryId = over.deliveryId ?? `dlv-${++seq}`;
  db.outbox.enqueue([{ deliveryId, channel, payload: payload(), createdAt: clock.now(), ...over }]);
  return deliveryId;
}

function worker(...notifiers: Notifier[]): OutboxWorker {
  const w = new OutboxWorker({
    store: db.outbox,
    clock,
    log: logs.log,
    notifiers: new Map(notifiers.map((n) => [n.channel, n])),
    onOutcome: (channel, outcome) => outcomes.push([channel, outcome]),
  });
  workers.push(w);
  return w;
}

describe('backoffDelay', () => {
  it.each([
    [1, 10],
    [2, 20],
    [3, 40],
    [4, 80],
    [5, 160],
    [6, 320],
    [7, 600],
    [8, 600],
    [100, 600],
  ])('after failure %i: %i s', (failures, seconds) => {
    expect(backoffDelay(failures)).toBe(seconds * S);
  });
});

describe('OutboxWorker', () => {
  it('delivers a queued message once, with its delivery id, and records it as sent', async () => {
    const hook = new FakeNotifier('hook');
    const w = worker(hook);
    const id = enqueue('hook');
    await w.deliverDue();
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([id]);
    expect(hook.attempts[0]?.message.events).toHaveLength(1);
    expect(db.outbox.find(id)).toMatchObject({ state: 'sent', attempts: 1, doneAt: T0 });
    expect(outcomes).toEqual([['hook', 'sent']]);
    await w.deliverDue();
    expect(hook.attempts).toHaveLength(1);
  });

  it('retries with backoff 10, 20, 40 … 600 s, the same delivery id each time', async () => {
    const hook = new FakeNotifier('hook', [FAIL]);
    const w = worker(hook);
    const id = enqueue('hook');
    w.start();
    await clock.advanceTo(T0 + 2 * H);
    const offsets = hook.attempts.map((a) => (a.at - T0) / S);
    expect(offsets.slice(0, 10)).toEqual([0, 10, 30, 70, 150, 310, 630, 1230, 1830, 2430]);
    expect(new Set(hook.attempts.map((a) => a.deliveryId))).toEqual(new Set([id]));
    expect(db.outbox.find(id)).toMatchObject({ state: 'pending', lastError: FAIL.ok ? null : FAIL.error });
    expect(outcomes.every(([, o]) => o === 'failed')).toBe(true);
    expect(logs.lines.some((l) => l.includes('"level":"warn"') && l.includes('will retry'))).toBe(true);
  });

  it('500 then 200: delivered once, after 10 s, counted failed then sent', async () => {
    const hook = new FakeNotifier('hook', [FAIL, { ok: true }]);
    const w = worker(hook);
    const id = enqueue('hook');
    await w.deliverDue();
    await clock.advance(10 * S - 1);
    await w.deliverDue();
    expect(hook.attempts).toHaveLength(1);
    await clock.advance(1);
    await w.deliverDue();
    expect(hook.attempts.map((a) => [a.deliveryId, a.at - T0])).toEqual([
      [id, 0],
      [id, 10 * S],
    ]);
    expect(db.outbox.find(id)).toMatchObject({ state: 'sent', attempts: 2 });
    expect(outcomes).toEqual([
      ['hook', 'failed'],
      ['hook', 'sent'],
    ]);
  });

  it('a permanent refusal is not retried: failed, dropped, logged at error', async () => {
    const hook = new FakeNotifier('hook', [REFUSED]);
    const w = worker(hook);
    const id = enqueue('hook');
    w.start();
    await clock.advanceTo(T0 + H);
    expect(hook.attempts).toHaveLength(1);
    expect(db.outbox.find(id)).toMatchObject({
      state: 'dropped',
      attempts: 1,
      lastError: REFUSED.ok ? '' : REFUSED.error,
    });
    expect(outcomes).toEqual([
      ['hook', 'failed'],
      ['hook', 'dropped'],
    ]);
    expect(logs.lines.some((l) => l.includes('"level":"error"') && l.includes('refused for good'))).toBe(
      true,
    );
  });

  it('gives up on a message older than 24 h: dropped, logged at error, counted', async () => {
    const hook = new FakeNotifier('hook', [FAIL]);
    const w = worker(hook);
    const id = enqueue('hook');
    w.start();
    await clock.advanceTo(T0 + 24 * H);
    expect(db.outbox.find(id)?.state).toBe('pending');
    const attempts = hook.attempts.length;
    await clock.advanceTo(T0 + 24 * H + 1);
    expect(db.outbox.find(id)).toMatchObject({ state: 'dropped', attempts });
    expect(db.outbox.find(id)?.lastError).toMatch(/^not delivered within 24 h; last error: HTTP 500/);
    expect(outcomes.at(-1)).toEqual(['hook', 'dropped']);
    expect(logs.lines.some((l) => l.includes('"level":"error"') && l.includes('too old'))).toBe(true);
    await clock.advanceTo(T0 + 48 * H);
    expect(hook.attempts).toHaveLength(attempts);
    expect(clock.pendingSleeps).toBe(1); // the loop waits for new messages, without a deadline
  });

  it('delivers a channel in order: a later message waits behind a failing one; other channels go on', async () => {
    const slow = new FakeNotifier('slow', [FAIL, { ok: true }]);
    const fast = new FakeNotifier('fast');
    const w = worker(slow, fast);
    const first = enqueue('slow');
    const second = enqueue('slow');
    const other = enqueue('fast');
    await w.deliverDue();
    expect(slow.attempts.map((a) => a.deliveryId)).toEqual([first]);
    expect(fast.attempts.map((a) => a.deliveryId)).toEqual([other]);
    await clock.advance(10 * S);
    await w.deliverDue();
    expect(slow.attempts.map((a) => a.deliveryId)).toEqual([first, first, second]);
  });

  it('wake() delivers new messages at once, even while the loop waits for a retry', async () => {
    const hook = new FakeNotifier('hook', [FAIL]);
    const other = new FakeNotifier('other');
    const w = worker(hook, other);
    enqueue('hook');
    w.start();
    await clock.advance(1);
    const id = enqueue('other');
    w.wake();
    await clock.advance(1);
    expect(other.attempts.map((a) => a.deliveryId)).toEqual([id]);
  });

  it('honours Retry-After beyond the backoff, within the 10 min cap', async () => {
    const hook = new FakeNotifier('hook', [
      { ok: false, retryable: true, error: 'HTTP 429', retryAfterMs: 120 * S },
      { ok: false, retryable: true, error: 'HTTP 429', retryAfterMs: 3 * H },
      { ok: true },
    ]);
    const w = worker(hook);
    enqueue('hook');
    w.start();
    await clock.advanceTo(T0 + H);
    expect(hook.attempts.map((a) => (a.at - T0) / S)).toEqual([0, 120, 720]);
  });

  it('pending counts per channel follow queueing and delivery', async () => {
    const a = new FakeNotifier('a', [FAIL]);
    const b = new FakeNotifier('b');
    const w = worker(a, b);
    enqueue('a');
    enqueue('a');
    enqueue('b');
    w.wake();
    expect(w.pending()).toEqual([
      { channel: 'a', pending: 2 },
      { channel: 'b', pending: 1 },
    ]);
    await w.deliverDue();
    expect(w.pending()).toEqual([{ channel: 'a', pending: 2 }]);
  });

  it('a restart loses nothing: rows pending when the store closed are delivered after reopening', async () => {
    const before = new FakeNotifier('hook', [FAIL]);
    const w1 = worker(before);
    const id = enqueue('hook');
    await w1.deliverDue();
    await w1.stop();
    db.reopen();

    const after = new FakeNotifier('hook');
    const w2 = worker(after);
    expect(w2.pending()).toEqual([{ channel: 'hook', pending: 1 }]);
    w2.start();
    await clock.advance(10 * S);
    expect(after.attempts.map((a) => a.deliveryId)).toEqual([id]);
    expect(db.outbox.find(id)).toMatchObject({ state: 'sent', attempts: 2 });
  });

  it('stop() abandons an attempt in flight without recording it; the next run sends it again', async () => {
    const hook = new FakeNotifier('hook');
    hook.gate = new Promise(() => undefined);
    const w1 = worker(hook);
    const id = enqueue('hook');
    w1.start();
    await clock.advance(0);
    expect(hook.attempts).toHaveLength(1);
    await w1.stop();
    expect(db.outbox.find(id)).toMatchObject({ state: 'pending', attempts: 0 });
    expect(outcomes).toEqual([]);

    hook.gate = null;
    const w2 = worker(hook);
    await w2.deliverDue();
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([id, id]);
    expect(db.outbox.find(id)?.state).toBe('sent');
  });

  it('messages of a channel no longer configured wait (warned once) until a reload brings it back', async () => {
    const w = worker();
    const id = enqueue('gone');
    await w.deliverDue();
    await w.deliverDue();
    expect(db.outbox.find(id)?.state).toBe('pending');
    expect(logs.lines.filter((l) => l.includes('no longer configured'))).toHaveLength(1);
    const back = new FakeNotifier('gone');
    w.setNotifiers(new Map([['gone', back]]));
    await w.deliverDue();
    expect(back.attempts).toHaveLength(1);
  });

  it('a stored message this build cannot read is dropped, not retried for a day', async () => {
    const hook = new FakeNotifier('hook');
    const w = worker(hook);
    const id = enqueue('hook', { payload: { version: 99, something: 'else' } });
    await w.deliverDue();
    expect(hook.attempts).toHaveLength(0);
    expect(db.outbox.find(id)).toMatchObject({ state: 'dropped' });
  });

  it('prune removes delivered and dropped rows before the cutoff, never pending ones', async () => {
    const ok = new FakeNotifier('ok');
    const bad = new FakeNotifier('bad', [REFUSED]);
    const stuck = new FakeNotifier('stuck', [FAIL]);
    const w = worker(ok, bad, stuck);
    const sent = enqueue('ok');
    const dropped = enqueue('bad');
    const pending = enqueue('stuck');
    await w.deliverDue();
    expect(db.outbox.prune(T0)).toBe(0);
    expect(db.outbox.prune(T0 + 1)).toBe(2);
    expect(db.outbox.find(sent)).toBeNull();
    expect(db.outbox.find(dropped)).toBeNull();
    expect(db.outbox.find(pending)?.state).toBe('pending');
  });
});
