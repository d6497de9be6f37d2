// The retry loop's rules, one describe each: delivery and backoff, restarts and reloads, the
// backlog merge. Over 400 lines as a table of those rules; claims and HA: outbox-worker-ha.test.ts.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../test-support/fake-clock.js';
import type { NewOutboxMessage } from '../store/outbox-store.js';
import {
  PAYLOAD_VERSION,
  testNotification,
  type NotificationEvent,
  type NotificationPayload,
} from './message.js';
import type { Notifier, SendResult } from './notifier.js';
import { attemptsCovering, MAX_MERGED_EVENTS, OutboxWorker, type DeliveryOutcome } from './outbox-worker.js';
import { FakeNotifier } from './test-support/fake-notifier.js';
import { accountNote, captureLogger, deviceNote, T0 } from './test-support/fixtures.js';
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
  await db.dispose();
});

function payload(n = 1): NotificationPayload {
  return {
    version: PAYLOAD_VERSION,
    events: Array.from({ length: n }, (_, i) => deviceNote({ number: `${i}` })),
  };
}

let seq = 0;
async function enqueue(channel: string, over: Partial<NewOutboxMessage> = {}): Promise<string> {
  const deliveryId = over.deliveryId ?? `dlv-${++seq}`;
  await db.outbox.enqueue([{ deliveryId, channel, payload: payload(), createdAt: clock.now(), ...over }]);
  return deliveryId;
}

/** One message of the given events (ids `e<n>` for device events `n`). */
function enqueueEvents(channel: string, events: readonly NotificationEvent[]): Promise<string> {
  return enqueue(channel, { payload: { version: PAYLOAD_VERSION, events } });
}

function devices(...ids: number[]): NotificationEvent[] {
  return ids.map((i) => deviceNote({ id: `e${i}`, number: `49${i}` }));
}

function sentIds(n: FakeNotifier): string[][] {
  return n.attempts.map((a) => a.message.events.map((e) => e.id));
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

describe('OutboxWorker', () => {
  it('delivers a queued message once, with its delivery id, and records it as sent', async () => {
    const hook = new FakeNotifier('hook');
    const w = worker(hook);
    const id = await enqueue('hook');
    await w.deliverDue();
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([id]);
    expect(hook.attempts[0]?.message.events).toHaveLength(1);
    expect(await db.outbox.find(id)).toMatchObject({ state: 'sent', attempts: 1, doneAt: T0 });
    expect(outcomes).toEqual([['hook', 'sent']]);
    await w.deliverDue();
    expect(hook.attempts).toHaveLength(1);
  });

  it('retries with backoff 10, 20, 40 … 600 s, the same delivery id each time', async () => {
    const hook = new FakeNotifier('hook', [FAIL]);
    const w = worker(hook);
    const id = await enqueue('hook');
    w.start();
    await clock.advanceTo(T0 + 2 * H);
    const offsets = hook.attempts.map((a) => (a.at - T0) / S);
    expect(offsets.slice(0, 10)).toEqual([0, 10, 30, 70, 150, 310, 630, 1230, 1830, 2430]);
    expect(new Set(hook.attempts.map((a) => a.deliveryId))).toEqual(new Set([id]));
    expect(await db.outbox.find(id)).toMatchObject({
      state: 'pending',
      lastError: FAIL.ok ? null : FAIL.error,
    });
    expect(outcomes.every(([, o]) => o === 'failed')).toBe(true);
    expect(logs.lines.some((l) => l.includes('"level":"warn"') && l.includes('will retry'))).toBe(true);
  });

  it('500 then 200: delivered once, after 10 s, counted failed then sent', async () => {
    const hook = new FakeNotifier('hook', [FAIL, { ok: true }]);
    const w = worker(hook);
    const id = await enqueue('hook');
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
    expect(await db.outbox.find(id)).toMatchObject({ state: 'sent', attempts: 2 });
    expect(outcomes).toEqual([
      ['hook', 'failed'],
      ['hook', 'sent'],
    ]);
  });

  it('a permanent refusal is not retried: failed, dropped, logged at error', async () => {
    const hook = new FakeNotifier('hook', [REFUSED]);
    const w = worker(hook);
    const id = await enqueue('hook');
    w.start();
    await clock.advanceTo(T0 + H);
    expect(hook.attempts).toHaveLength(1);
    expect(await db.outbox.find(id)).toMatchObject({
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
    const id = await enqueue('hook');
    w.start();
    // 10 s doubling, capped at 10 min: the 150th attempt is the first 24 h after the first.
    expect(attemptsCovering(24 * H)).toBe(150);
    await clock.advanceTo(T0 + 24 * H);
    expect(await db.outbox.find(id)).toMatchObject({ state: 'pending', attempts: 149 });
    await clock.advanceTo(T0 + 24 * H + 30 * S);
    expect(await db.outbox.find(id)).toMatchObject({ state: 'dropped', attempts: 150 });
    const attempts = hook.attempts.length;
    expect(attempts).toBe(150);
    expect((await db.outbox.find(id))?.lastError).toMatch(
      /^not delivered within 24 h \(150 attempts\); last error: HTTP 500/,
    );
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
    const first = await enqueue('slow');
    const other = await enqueue('fast');
    await w.deliverDue();
    const second = await enqueue('slow');
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
    await enqueue('hook');
    w.start();
    await clock.advance(1);
    const id = await enqueue('other');
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
    await enqueue('hook');
    w.start();
    await clock.advanceTo(T0 + H);
    expect(hook.attempts.map((a) => (a.at - T0) / S)).toEqual([0, 120, 720]);
  });

  it('pending counts per channel follow queueing and delivery', async () => {
    const a = new FakeNotifier('a', [FAIL]);
    const b = new FakeNotifier('b');
    const w = worker(a, b);
    await enqueue('a');
    await enqueue('a');
    await enqueue('b');
    w.wake();
    await w.refreshPending();
    expect(w.pending()).toEqual([
      { channel: 'a', pending: 2 },
      { channel: 'b', pending: 1 },
    ]);
    await w.deliverDue();
    // The second message of `a` was merged into the first before its first attempt.
    expect(w.pending()).toEqual([{ channel: 'a', pending: 1 }]);
  });

  it('a restart loses nothing: rows pending when the store closed are delivered after reopening', async () => {
    const before = new FakeNotifier('hook', [FAIL]);
    const w1 = worker(before);
    const id = await enqueue('hook');
    await w1.deliverDue();
    await w1.stop();
    await db.reopen();

    const after = new FakeNotifier('hook');
    const w2 = worker(after);
    expect(w2.pending()).toEqual([]); // not read yet: no I/O at construction
    await w2.refreshPending();
    expect(w2.pending()).toEqual([{ channel: 'hook', pending: 1 }]);
    w2.start();
    await clock.advance(10 * S);
    expect(after.attempts.map((a) => a.deliveryId)).toEqual([id]);
    expect(await db.outbox.find(id)).toMatchObject({ state: 'sent', attempts: 2 });
  });

  it('stop() abandons an attempt in flight without recording its outcome; the next run sends it again', async () => {
    const hook = new FakeNotifier('hook');
    hook.gate = new Promise(() => undefined);
    const w1 = worker(hook);
    const id = await enqueue('hook');
    w1.start();
    await clock.advance(0);
    expect(hook.attempts).toHaveLength(1);
    await w1.stop();
    // Counted as made: the receiver may have seen it, so nothing is merged into it any more.
    expect(await db.outbox.find(id)).toMatchObject({ state: 'pending', attempts: 1 });
    expect(outcomes).toEqual([]);

    hook.gate = null;
    const w2 = worker(hook);
    await w2.deliverDue();
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([id, id]);
    expect((await db.outbox.find(id))?.state).toBe('sent');
  });

  it('messages of a channel no longer configured wait (warned once) until a reload brings it back', async () => {
    const w = worker();
    const id = await enqueue('gone');
    await w.deliverDue();
    await w.deliverDue();
    expect((await db.outbox.find(id))?.state).toBe('pending');
    expect(logs.lines.filter((l) => l.includes('no longer configured'))).toHaveLength(1);
    const back = new FakeNotifier('gone');
    w.setNotifiers(new Map([['gone', back]]));
    await w.deliverDue();
    expect(back.attempts).toHaveLength(1);
  });

  it('a stored message this build cannot read is dropped, not retried for a day', async () => {
    const hook = new FakeNotifier('hook');
    const w = worker(hook);
    const id = await enqueue('hook', { payload: { version: 99, something: 'else' } });
    await w.deliverDue();
    expect(hook.attempts).toHaveLength(0);
    expect(await db.outbox.find(id)).toMatchObject({ state: 'dropped' });
  });

  it('prune removes delivered and dropped rows before the cutoff, never pending ones', async () => {
    const ok = new FakeNotifier('ok');
    const bad = new FakeNotifier('bad', [REFUSED]);
    const stuck = new FakeNotifier('stuck', [FAIL]);
    const w = worker(ok, bad, stuck);
    const sent = await enqueue('ok');
    const dropped = await enqueue('bad');
    const pending = await enqueue('stuck');
    await w.deliverDue();
    expect(await db.outbox.prune(T0)).toBe(0);
    expect(await db.outbox.prune(T0 + 1)).toBe(2);
    expect(await db.outbox.find(sent)).toBeNull();
    expect(await db.outbox.find(dropped)).toBeNull();
    expect((await db.outbox.find(pending))?.state).toBe('pending');
  });
});

describe('OutboxWorker after a restart or reload', () => {
  /** A message that failed until its backoff reached the 10 min cap. */
  async function backedOff(hook: FakeNotifier, w: OutboxWorker): Promise<string> {
    const id = await enqueue('hook');
    for (let i = 0; i < 8; i++) {
      await w.deliverDue();
      const next = (await db.outbox.find(id))!.nextAttemptAt;
      await clock.advanceTo(next - 1); // never quite due: the loop is not running
      await clock.advance(1);
    }
    await w.deliverDue();
    expect((await db.outbox.find(id))!.nextAttemptAt - clock.now()).toBe(600 * S);
    expect(hook.attempts.length).toBeGreaterThan(7);
    return id;
  }

  it('start() retries at once what an earlier run had put off for a backoff', async () => {
    const before = new FakeNotifier('hook', [FAIL]);
    const w1 = worker(before);
    const id = await backedOff(before, w1);
    const attempts = (await db.outbox.find(id))!.attempts;
    await w1.stop();
    await db.reopen();
    await clock.advance(S);

    const after = new FakeNotifier('hook');
    const w2 = worker(after);
    w2.start();
    await clock.advance(0);
    expect(after.attempts.map((a) => [a.deliveryId, a.at])).toEqual([[id, clock.now()]]);
    expect(await db.outbox.find(id)).toMatchObject({ state: 'sent', attempts: attempts + 1 });
    expect(logs.lines.some((l) => l.includes('retrying pending notifications now'))).toBe(true);
  });

  it('a reload retries at once; a failure after it backs off from where it was', async () => {
    const hook = new FakeNotifier('hook', [FAIL]);
    const w = worker(hook);
    const id = await backedOff(hook, w);
    w.start();
    await clock.advance(S);
    const made = hook.attempts.length;
    w.setNotifiers(new Map([['hook', hook]]));
    await clock.advance(0);
    expect(hook.attempts).toHaveLength(made + 1);
    expect(hook.attempts.at(-1)?.deliveryId).toBe(id);
    expect((await db.outbox.find(id))!.nextAttemptAt - clock.now()).toBe(600 * S);
  });

  it('a wall clock stepped forward a day drops nothing: it takes a day of attempts (issue 11 item 2)', async () => {
    const hook = new FakeNotifier('hook', [FAIL, FAIL, { ok: true }]);
    const w = worker(hook);
    const id = await enqueue('hook');
    await w.deliverDue();
    // No loop runs: the clock jumps, nothing is attempted in between.
    await clock.advance(25 * H);
    await w.deliverDue();
    expect(await db.outbox.find(id)).toMatchObject({ state: 'pending', attempts: 2 });
    expect(outcomes).not.toContainEqual(['hook', 'dropped']);
    await clock.advance(20 * S);
    await w.deliverDue();
    expect(await db.outbox.find(id)).toMatchObject({ state: 'sent', attempts: 3 });
  });

  it('a restart after a day stopped retries rather than drops (a long stop and a clock step look alike)', async () => {
    const hook = new FakeNotifier('hook', [FAIL, { ok: true }]);
    const w1 = worker(hook);
    const id = await enqueue('hook');
    await w1.deliverDue();
    await w1.stop();
    await clock.advanceTo(T0 + 24 * H + 1);
    const w2 = worker(hook);
    w2.start();
    await clock.advance(0);
    expect(hook.attempts).toHaveLength(2);
    expect((await db.outbox.find(id))?.state).toBe('sent');
  });

  it('a channel no longer configured cannot be attempted: its messages expire by the wall clock', async () => {
    const w = worker(new FakeNotifier('other'));
    const id = await enqueue('gone');
    await w.deliverDue();
    await clock.advance(24 * H + 1);
    await w.deliverDue();
    expect(await db.outbox.find(id)).toMatchObject({ state: 'dropped', attempts: 0 });
  });
});

describe('OutboxWorker merging a backlog', () => {
  it('messages queued before a channel’s first attempt go out as one, events in order', async () => {
    const hook = new FakeNotifier('hook');
    const w = worker(hook);
    const head = await enqueueEvents('hook', devices(1, 2));
    const second = await enqueueEvents('hook', [...devices(3), accountNote({ id: 'a1' })]);
    const third = await enqueueEvents('hook', devices(2, 4)); // e2 again: sent once
    await clock.advance(5 * S);
    await w.deliverDue();
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([head]);
    expect(sentIds(hook)).toEqual([['e1', 'e2', 'e3', 'a1', 'e4']]);
    expect(await db.outbox.find(head)).toMatchObject({ state: 'sent', attempts: 1 });
    for (const folded of [second, third]) {
      expect(await db.outbox.find(folded)).toMatchObject({
        state: 'sent',
        attempts: 0,
        doneAt: clock.now(),
        lastError: `merged into ${head}`,
      });
    }
    expect(outcomes).toEqual([['hook', 'sent']]);
    expect(w.pending()).toEqual([]);
    await w.deliverDue();
    expect(hook.attempts).toHaveLength(1);
  });

  it('the merged payload is stored before the attempt: a retry sends the same events', async () => {
    const hook = new FakeNotifier('hook', [FAIL, { ok: true }]);
    const w = worker(hook);
    const head = await enqueueEvents('hook', devices(1));
    await enqueueEvents('hook', devices(2));
    await w.deliverDue();
    await clock.advance(10 * S);
    await w.deliverDue();
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([head, head]);
    expect(sentIds(hook)).toEqual([
      ['e1', 'e2'],
      ['e1', 'e2'],
    ]);
  });

  it('never adds to a message already attempted; the backlog behind it goes out as one after it', async () => {
    const hook = new FakeNotifier('hook', [FAIL]);
    const w = worker(hook);
    const head = await enqueueEvents('hook', devices(1));
    await w.deliverDue();
    const tail = [await enqueueEvents('hook', devices(2)), await enqueueEvents('hook', devices(3))];
    await clock.advance(5 * S);
    tail.push(await enqueueEvents('hook', devices(4)));
    await clock.advance(5 * S);
    await w.deliverDue(); // the retry: the head alone, as first sent
    expect(sentIds(hook)).toEqual([['e1'], ['e1']]);
    hook.script({ ok: true });
    await clock.advance(20 * S);
    await w.deliverDue();
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([head, head, head, tail[0]]);
    expect(sentIds(hook).slice(2)).toEqual([['e1'], ['e2', 'e3', 'e4']]);
    const rows = await Promise.all(tail.map((id) => db.outbox.find(id)));
    expect(rows.map((m) => m?.lastError)).toEqual([null, `merged into ${tail[0]}`, `merged into ${tail[0]}`]);
  });

  it('an attempt cut short by stop() counts: after a restart nothing is merged into it', async () => {
    const hook = new FakeNotifier('hook');
    hook.gate = new Promise(() => undefined);
    const w1 = worker(hook);
    const head = await enqueueEvents('hook', devices(1));
    w1.start();
    await clock.advance(0);
    await w1.stop();
    const next = await enqueueEvents('hook', devices(2));
    hook.gate = null;
    const w2 = worker(hook);
    w2.start();
    await clock.advance(0);
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([head, head, next]);
    expect(sentIds(hook)).toEqual([['e1'], ['e1'], ['e2']]);
  });

  it('test and audit messages are never merged, and nothing is merged across them', async () => {
    const hook = new FakeNotifier('hook');
    const w = worker(hook);
    const audit: NotificationEvent = {
      id: 'audit',
      kind: 'audit',
      at: T0,
      subject: '[whatsgate] Audit',
      text: 'text',
      html: '<p>html</p>',
      report: {},
    };
    const ids = [
      await enqueueEvents('hook', [testNotification('t1', 'hook', T0)]),
      await enqueueEvents('hook', devices(1)),
      await enqueueEvents('hook', devices(2)),
      await enqueueEvents('hook', [audit]),
      await enqueueEvents('hook', devices(3)),
      await enqueueEvents('hook', [testNotification('t2', 'hook', T0)]),
      await enqueueEvents('hook', devices(4)),
    ];
    await w.deliverDue();
    expect(sentIds(hook)).toEqual([['t1'], ['e1', 'e2'], ['audit'], ['e3'], ['t2'], ['e4']]);
    expect(hook.attempts.map((a) => a.deliveryId)).toEqual([ids[0], ids[1], ids[3], ids[4], ids[5], ids[6]]);
  });

  it(`holds at most ${MAX_MERGED_EVENTS} events; the rest go in the next message, whole`, async () => {
    const hook = new FakeNotifier('hook');
    const w = worker(hook);
    const per = 30;
    const count = Math.ceil((MAX_MERGED_EVENTS * 1.5) / per);
    for (let m = 0; m < count; m++) {
      await enqueueEvents('hook', devices(...Array.from({ length: per }, (_, i) => m * per + i)));
    }
    await w.deliverDue();
    const sizes = sentIds(hook).map((ids) => ids.length);
    const fit = Math.floor(MAX_MERGED_EVENTS / per) * per;
    expect(sizes).toEqual([fit, count * per - fit]);
    expect(sentIds(hook).flat()).toEqual(Array.from({ length: count * per }, (_, i) => `e${i}`));
  });

  it('a message already over the cap goes out alone, as it is', async () => {
    const hook = new FakeNotifier('hook');
    const w = worker(hook);
    await enqueueEvents('hook', devices(...Array.from({ length: MAX_MERGED_EVENTS + 1 }, (_, i) => i)));
    await enqueueEvents('hook', devices(9999));
    await w.deliverDue();
    expect(sentIds(hook).map((ids) => ids.length)).toEqual([MAX_MERGED_EVENTS + 1, 1]);
  });

  it('merges per channel: another channel’s messages stay its own', async () => {
    const a = new FakeNotifier('a');
    const b = new FakeNotifier('b');
    const w = worker(a, b);
    await enqueueEvents('a', devices(1));
    await enqueueEvents('b', devices(2));
    await enqueueEvents('a', devices(3));
    await enqueueEvents('b', devices(4));
    await w.deliverDue();
    expect(sentIds(a)).toEqual([['e1', 'e3']]);
    expect(sentIds(b)).toEqual([['e2', 'e4']]);
  });
});
