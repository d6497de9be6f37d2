import { describe, expect, it } from 'vitest';
import { DELIVERY_DELAY_MS } from './messages.js';
import type { Simulator } from './server.js';
import { call, simulatorsClosedAfterEach, status, type Answer } from './test-support/sim-client.js';

const sim = simulatorsClosedAfterEach();

const D0 = '100000000';
const D1 = '100000001';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const balance = (s: Simulator, device: string): Promise<Answer> => call(s, `/api/reports/balance/${device}`);
const counts = async (s: Simulator, device: string): Promise<unknown> => (await balance(s, device)).body;
const sendText = (s: Simulator, body: unknown, token?: string | null): Promise<Answer> =>
  call(s, '/api/send/text', { body, ...(token === undefined ? {} : { token }) });
const text = (sender: string, message = 'hello'): unknown => ({
  sender_device: sender,
  phone: '4915112345678',
  message,
});
const ctl = (s: Simulator, path: string, body?: unknown): Promise<Answer> =>
  call(s, `/_sim${path}`, { token: null, ...(body === undefined ? {} : { body }) });

/** A simulator on a clock the test moves, with no rate limit unless asked for. */
async function clocked(
  options: Parameters<typeof sim>[0] = {},
): Promise<{ s: Simulator; at: (t: number) => void }> {
  let clock = 1_000_000;
  const s = await sim({ rateLimitPerMinute: 0, now: () => clock, ...options });
  return { s, at: (t) => (clock = 1_000_000 + t) };
}

describe('GET /reports/balance/{device}', () => {
  it('answers the gateway shape; a sent message is pending, then successful a second later', async () => {
    const { s, at } = await clocked();
    await expect(balance(s, D0)).resolves.toMatchObject({
      code: 200,
      body: { success: true, remaining: 1000, successful_count: 0, pending: 0, failed: 0 },
    });
    expect(JSON.stringify((await balance(s, D0)).body)).toBe(
      '{"success":true,"remaining":1000,"successful_count":0,"pending":0,"failed":0}',
    );
    at(10_000);
    expect((await sendText(s, text(D0))).code).toBe(200);
    expect((await sendText(s, text(D0))).code).toBe(200);
    await expect(counts(s, D0)).resolves.toEqual({
      success: true,
      remaining: 998,
      successful_count: 0,
      pending: 2,
      failed: 0,
    });
    at(10_000 + DELIVERY_DELAY_MS - 1);
    await expect(counts(s, D0)).resolves.toMatchObject({ pending: 2, successful_count: 0 });
    at(10_000 + DELIVERY_DELAY_MS);
    await expect(counts(s, D0)).resolves.toMatchObject({ pending: 0, successful_count: 2, remaining: 998 });
    await expect(counts(s, D1)).resolves.toMatchObject({ remaining: 1000, successful_count: 0 });
  });

  it('"Device not found" for an unknown or deleted device, unlike /status', async () => {
    const { s } = await clocked({ balance: 250 });
    await expect(balance(s, '42')).resolves.toEqual({
      code: 200,
      headers: expect.any(Headers) as Headers,
      body: { success: false, message: 'Device not found' },
    });
    await expect(status(s, '42')).resolves.toMatchObject({ body: { message: 'device not found!' } });
    await expect(counts(s, D1)).resolves.toMatchObject({ success: true, remaining: 250 });
    s.setDelivery(D1, { mode: 'stall' });
    await sendText(s, text(D1));
    await call(s, '/api/delete', { body: { sender_device: D1 } });
    expect(s.messages().map((m) => m.status)).toEqual(['expired']);
    await expect(counts(s, D1)).resolves.toEqual({ success: false, message: 'Device not found' });
    // created again: a fresh queue
    s.setStatus(D1, 'connected');
    await expect(counts(s, D1)).resolves.toMatchObject({ success: true, remaining: 250, pending: 0 });
    expect(s.delivery(D1)).toMatchObject({ mode: 'normal' });
  });

  it.each([
    ['missing', null, 'an Access-Token is required'],
    ['wrong', 'nope', 'invalid Access-Token'],
  ])('%s token → 403, on balance and send alike', async (_label, token, message) => {
    const { s } = await clocked();
    await expect(call(s, `/api/reports/balance/${D0}`, { token })).resolves.toMatchObject({
      code: 403,
      body: { message },
    });
    await expect(sendText(s, text(D0), token)).resolves.toMatchObject({ code: 403, body: { message } });
    expect(s.messages()).toEqual([]);
    expect(s.delivery(D0)).toMatchObject({ remaining: 1000, pending: 0 });
  });

  it('shares the 60 s rate-limit window with /status, each call counted at arrival', async () => {
    const { s, at } = await clocked({ rateLimitPerMinute: 4 });
    at(0);
    expect((await status(s, D0)).code).toBe(200);
    at(10_000);
    expect((await balance(s, D0)).code).toBe(200);
    at(20_000);
    expect((await sendText(s, text(D0))).code).toBe(200);
    expect((await balance(s, D1)).headers.get('x-ratelimit-remaining')).toBe('0');
    const refused = await balance(s, D0);
    expect(refused).toMatchObject({ code: 429, body: { message: 'Too Many Attempts.' } });
    expect(refused.headers.get('retry-after')).toBe('40');
    expect((await status(s, D0)).code).toBe(429);
    expect((await sendText(s, text(D0))).code).toBe(429);
    at(60_000); // the /status call at 0 has left the window
    expect((await balance(s, D0)).code).toBe(200);
    expect((await status(s, D0)).code).toBe(429);

    const { requests, calls } = s.stats();
    expect(requests).toEqual({ status: 3, connect: 0, delete: 0, balance: 4, send: 2, other: 0 });
    expect(calls.map((c) => [c.at - 1_000_000, c.endpoint, c.device, c.httpStatus])).toEqual([
      [0, 'status', D0, 200],
      [10_000, 'balance', D0, 200],
      [20_000, 'send', D0, 200],
      [20_000, 'balance', D1, 200],
      [20_000, 'balance', D0, 429],
      [20_000, 'status', D0, 429],
      [20_000, 'send', D0, 429],
      [60_000, 'balance', D0, 200],
      [60_000, 'status', D0, 429],
    ]);
    expect(s.messages()).toHaveLength(1); // the refused send queued nothing
  });

  it('meets injected faults like every route (the sender’s fault for /send/text)', async () => {
    const { s } = await clocked();
    s.setFault(D0, { type: 'api_error', message: 'boom' });
    await expect(balance(s, D0)).resolves.toMatchObject({
      code: 200,
      body: { success: false, message: 'boom' },
    });
    await expect(sendText(s, text(D0))).resolves.toMatchObject({ body: { success: false, message: 'boom' } });
    expect(s.messages()).toEqual([]);
    s.setFault('all', { type: '500' });
    expect((await balance(s, D1)).code).toBe(500);
    expect((await balance(s, '42')).code).toBe(500);
  });

  it('wrong method → 405', async () => {
    const { s } = await clocked();
    await expect(call(s, `/api/reports/balance/${D0}`, { body: {} })).resolves.toMatchObject({ code: 405 });
    await expect(call(s, '/api/send/text')).resolves.toMatchObject({ code: 405 });
  });
});

describe('POST /send/text', () => {
  it('queues the message and answers with its id; the control API lists what was sent', async () => {
    const { s, at } = await clocked();
    at(5_000);
    const ok = await sendText(s, { sender_device: D0, phone: '4915112345678', message: 'Device 1 is DOWN' });
    expect(ok).toMatchObject({ code: 200, body: { success: true, message: 'Message queued' } });
    const id = (ok.body as { id: string }).id;
    expect(id).toMatch(UUID);
    at(5_500);
    await sendText(s, { sender_device: D1, phone: '15550001', message: 'ünïcödé ✓' });

    const listed = await ctl(s, '/messages');
    expect(listed).toMatchObject({ code: 200 });
    expect((listed.body as { messages: unknown[] }).messages).toEqual([
      {
        id,
        sender_device: D0,
        phone: '4915112345678',
        message: 'Device 1 is DOWN',
        at: 1_005_000,
        status: 'pending',
      },
      expect.objectContaining({ sender_device: D1, message: 'ünïcödé ✓', at: 1_005_500 }),
    ]);
    at(6_000);
    await expect(ctl(s, `/messages?device=${D0}`)).resolves.toMatchObject({
      body: { messages: [{ id, status: 'successful' }] },
    });
    expect(s.messages(D1)).toEqual([expect.objectContaining({ sender: D1, status: 'pending' })]);

    await expect(ctl(s, '/stats/reset', {})).resolves.toMatchObject({ code: 200 });
    await expect(ctl(s, '/messages')).resolves.toMatchObject({ body: { messages: [] } });
    expect(s.delivery(D0)).toMatchObject({ successful: 1 }); // the counters stay
  });

  it.each([
    ['no body', undefined, 'The sender device field is required.'],
    ['not an object', 'text', 'The sender device field is required.'],
    ['unknown sender', text('42'), 'The selected sender device is invalid.'],
    [
      'numeric sender',
      { sender_device: 100000000, phone: '1', message: 'x' },
      'The selected sender device is invalid.',
    ],
    ['no phone', { sender_device: D0, message: 'x' }, 'The phone field is required.'],
    [
      'phone with +',
      { sender_device: D0, phone: '+4915112345678', message: 'x' },
      'The phone field must be a number of digits.',
    ],
    [
      'phone as number',
      { sender_device: D0, phone: 4915112345678, message: 'x' },
      'The phone field must be a number of digits.',
    ],
    ['no message', { sender_device: D0, phone: '1' }, 'The message field is required.'],
    ['blank message', { sender_device: D0, phone: '1', message: '  ' }, 'The message field is required.'],
    [
      'message not a string',
      { sender_device: D0, phone: '1', message: ['x'] },
      'The message field must be a string.',
    ],
    [
      'message too long',
      { sender_device: D0, phone: '1', message: 'x'.repeat(4097) },
      'must not be greater than 4096 characters',
    ],
  ])('%s → 422', async (_label, body, message) => {
    const { s } = await clocked();
    const r = await call(s, '/api/send/text', { method: 'POST', ...(body === undefined ? {} : { body }) });
    expect(r.code).toBe(422);
    expect(r.body).toMatchObject({ success: false });
    expect((r.body as { message: string }).message).toContain(message);
    expect(s.messages()).toEqual([]);
    expect(s.stats().requests.send).toBe(1);
  });

  it('takes 4096 characters (not UTF-16 units)', async () => {
    const { s } = await clocked();
    const r = await sendText(s, { sender_device: D0, phone: '1', message: '😀'.repeat(4096) });
    expect(r.body).toMatchObject({ success: true });
  });

  it('refuses a sender that is not connected (200, success:false), and queues nothing', async () => {
    const { s } = await clocked();
    s.setStatus(D0, 'disconnected');
    await expect(sendText(s, text(D0))).resolves.toMatchObject({
      code: 200,
      body: { success: false, message: 'sender device is not connected' },
    });
    expect(s.delivery(D0)).toMatchObject({ pending: 0, remaining: 1000 });
    expect(s.messages()).toEqual([]);
  });
});

describe('delivery behaviours', () => {
  it('a device that is not connected keeps its messages pending until it is back', async () => {
    const { s, at } = await clocked();
    await sendText(s, text(D0));
    s.setStatus(D0, 'disconnected'); // before the message was due
    at(60_000);
    await expect(counts(s, D0)).resolves.toMatchObject({ pending: 1, successful_count: 0 });
    s.setStatus(D0, 'connected');
    await expect(counts(s, D0)).resolves.toMatchObject({ pending: 0, successful_count: 1 });
  });

  it('stall: connected, pending grows, nothing is sent; normal again delivers them', async () => {
    const { s, at } = await clocked();
    await expect(ctl(s, `/devices/${D0}/delivery`, { mode: 'stall' })).resolves.toEqual({
      code: 200,
      headers: expect.any(Headers) as Headers,
      body: {
        device: D0,
        mode: 'stall',
        fail_share: 0,
        remaining: 1000,
        successful_count: 0,
        pending: 0,
        failed: 0,
      },
    });
    for (let i = 1; i <= 3; i += 1) {
      at(i * 60_000);
      expect((await sendText(s, text(D0))).body).toMatchObject({ success: true });
      await expect(counts(s, D0)).resolves.toMatchObject({ pending: i, successful_count: 0 });
    }
    await expect(status(s, D0)).resolves.toMatchObject({ body: { message: 'connected' } });
    await expect(counts(s, D1)).resolves.toMatchObject({ pending: 0 }); // others unaffected
    at(4 * 60_000);
    await expect(ctl(s, `/devices/${D0}/delivery`, { mode: 'normal' })).resolves.toMatchObject({
      body: { mode: 'normal', pending: 0, successful_count: 3 }, // all overdue: sent at once
    });
  });

  it('fail: that share of the finished messages fails, exactly', async () => {
    const { s, at } = await clocked();
    await expect(ctl(s, `/devices/${D0}/delivery`, { mode: 'fail', fail_share: 0.2 })).resolves.toMatchObject(
      {
        body: { mode: 'fail', fail_share: 0.2 },
      },
    );
    for (let i = 0; i < 10; i += 1) await sendText(s, text(D0, `m${i}`));
    at(DELIVERY_DELAY_MS);
    await expect(counts(s, D0)).resolves.toMatchObject({ successful_count: 8, failed: 2, pending: 0 });
    expect(s.messages().map((m) => m.status)).toEqual([
      ...['successful', 'successful', 'successful', 'successful', 'failed'],
      ...['successful', 'successful', 'successful', 'successful', 'failed'],
    ]);
    s.setDelivery(D0, { mode: 'normal' });
    await sendText(s, text(D0));
    at(2 * DELIVERY_DELAY_MS);
    await expect(counts(s, D0)).resolves.toMatchObject({ successful_count: 9, failed: 2 });
  });

  it('low balance: remaining as set, each accepted message takes one, none past 0', async () => {
    const { s } = await clocked();
    await expect(ctl(s, `/devices/${D0}/delivery`, { remaining: 2 })).resolves.toMatchObject({
      body: { mode: 'normal', remaining: 2 },
    });
    await expect(counts(s, D0)).resolves.toMatchObject({ remaining: 2 });
    expect((await sendText(s, text(D0))).body).toMatchObject({ success: true });
    expect((await sendText(s, text(D0))).body).toMatchObject({ success: true });
    await expect(sendText(s, text(D0))).resolves.toMatchObject({
      code: 200,
      body: { success: false, message: 'insufficient balance' },
    });
    await expect(counts(s, D0)).resolves.toMatchObject({ remaining: 0, pending: 2 });
    expect(s.messages()).toHaveLength(2);
  });

  it('roll-day: the three counts drop to 0 on every device, the balance stays', async () => {
    const { s, at } = await clocked();
    s.setDelivery(D0, { mode: 'fail', failShare: 0.5 });
    for (let i = 0; i < 4; i += 1) await sendText(s, text(D0));
    at(DELIVERY_DELAY_MS);
    await sendText(s, text(D0));
    await sendText(s, text(D1));
    await expect(counts(s, D0)).resolves.toMatchObject({
      remaining: 995,
      successful_count: 2,
      failed: 2,
      pending: 1,
    });
    await expect(ctl(s, '/roll-day', {})).resolves.toEqual({
      code: 200,
      headers: expect.any(Headers) as Headers,
      body: { ok: true },
    });
    for (const [device, remaining] of [
      [D0, 995],
      [D1, 999],
    ] as const) {
      await expect(counts(s, device)).resolves.toEqual({
        success: true,
        remaining,
        successful_count: 0,
        pending: 0,
        failed: 0,
      });
    }
    expect(s.messages().map((m) => m.status)).toEqual([
      'successful',
      'failed',
      'successful',
      'failed',
      'expired',
      'expired',
    ]);
    at(10 * DELIVERY_DELAY_MS);
    await expect(counts(s, D0)).resolves.toMatchObject({ successful_count: 0, failed: 0 });
    expect(s.delivery(D0)).toMatchObject({ mode: 'fail', failShare: 0.5 }); // the behaviour stays
  });
});

describe('background traffic', () => {
  it('queues N a minute on each connected device, evenly, from the option', async () => {
    const { s, at } = await clocked({ trafficPerMinute: 60 });
    at(10_000); // arrivals at 1 s … 10 s; each sent 1 s later
    await expect(counts(s, D0)).resolves.toEqual({
      success: true,
      remaining: 990,
      successful_count: 9,
      pending: 1,
      failed: 0,
    });
    await expect(counts(s, D1)).resolves.toMatchObject({ remaining: 990, successful_count: 9 });
    expect(s.messages()).toEqual([]); // traffic is not the monitor's sending
    expect(s.stats().requests).toMatchObject({ balance: 2, send: 0 });
  });

  it('is the same whether read often or once, with drops and stalls in between', async () => {
    const run = async (reads: number[]): Promise<unknown> => {
      const { s, at } = await clocked({ trafficPerMinute: 30, flap: true });
      s.setDelivery(D0, { mode: 'fail', failShare: 0.25 });
      for (const t of reads) {
        at(t);
        s.delivery(D0);
        s.delivery(D1);
      }
      at(61_500); // #1 is disconnected 20 s → 60 s by the flap script
      return [s.delivery(D0), s.delivery(D1)];
    };
    const once = await run([]);
    expect(once).toEqual(await run([500, 1_999, 2_000, 19_700, 20_000, 20_001, 33_333, 59_999]));
    expect(once).toEqual([
      { device: D0, mode: 'fail', failShare: 0.25, remaining: 970, successful: 23, failed: 7, pending: 0 },
      // #1: arrivals at 2 s … 20 s, none while disconnected (20 s, 60 s]; the one of 20 s was
      // stuck pending through the drop and is sent once the device is back
      { device: D1, mode: 'normal', failShare: 0, remaining: 990, successful: 10, failed: 0, pending: 0 },
    ]);
  });

  it('is set through the control API, stops at a zero balance, and stays off by default', async () => {
    const { s, at } = await clocked();
    at(60_000);
    await expect(counts(s, D0)).resolves.toMatchObject({ remaining: 1000, successful_count: 0 });
    await expect(ctl(s, '/traffic', { per_minute: 120 })).resolves.toMatchObject({
      code: 200,
      body: { per_minute: 120 },
    });
    await expect(ctl(s, '/traffic')).resolves.toMatchObject({ body: { per_minute: 120 } });
    s.setDelivery(D1, { remaining: 3 });
    s.setDelivery(D0, { mode: 'stall' });
    at(90_000); // 60 arrivals in 30 s
    await expect(counts(s, D0)).resolves.toMatchObject({ remaining: 940, pending: 60, successful_count: 0 });
    await expect(counts(s, D1)).resolves.toMatchObject({ remaining: 0, successful_count: 3 });
    await ctl(s, '/traffic', { per_minute: 0 });
    at(200_000);
    await expect(counts(s, D0)).resolves.toMatchObject({ remaining: 940, pending: 60 });
  });
});

describe('control routes for delivery', () => {
  it.each([
    [{}, 'expected {"mode"'],
    [{ mode: 'explode' }, '"mode" must be one of'],
    [{ mode: 'fail' }, '"fail" needs "fail_share"'],
    [{ mode: 'fail', fail_share: 1.5 }, '"fail" needs "fail_share"'],
    [{ mode: 'stall', fail_share: 0.5 }, '"fail_share" goes with'],
    [{ remaining: -1 }, '"remaining" must be'],
    [{ remaining: 2.5 }, '"remaining" must be'],
    ['text', 'expected {"mode"'],
  ])('refuses delivery %j with 400', async (body, error) => {
    const { s } = await clocked();
    const r = await ctl(s, `/devices/${D0}/delivery`, body);
    expect(r.code).toBe(400);
    expect((r.body as { error: string }).error).toContain(error);
  });

  it.each([[{ per_minute: -1 }], [{ per_minute: 1.5 }], [{ per_minute: 60_001 }], [{}]])(
    'refuses traffic %j with 400',
    async (body) => {
      const { s } = await clocked();
      await expect(ctl(s, '/traffic', body)).resolves.toMatchObject({ code: 400 });
    },
  );

  it('404s an unknown device, reads a known one, and lists the new routes', async () => {
    const { s } = await clocked();
    await expect(ctl(s, '/devices/42/delivery', { mode: 'stall' })).resolves.toMatchObject({ code: 404 });
    await expect(ctl(s, '/devices/42/delivery')).resolves.toMatchObject({ code: 404 });
    await expect(ctl(s, `/devices/${D1}/delivery`)).resolves.toMatchObject({
      code: 200,
      body: { device: D1, mode: 'normal', remaining: 1000 },
    });
    const routes = ((await ctl(s, '')).body as { routes: string[] }).routes.join('\n');
    for (const r of ['/delivery', '/roll-day', '/traffic', '/messages']) expect(routes).toContain(r);
  });

  it('rejects bad options and programmatic changes', async () => {
    await expect(sim({ balance: -1 })).rejects.toThrow('balance must be');
    await expect(sim({ trafficPerMinute: 0.5 })).rejects.toThrow('traffic must be');
    const { s } = await clocked();
    expect(() => s.setDelivery(D0, { mode: 'fail' })).toThrow('failShare');
    expect(() => s.setDelivery(D0, { remaining: 1.5 })).toThrow('remaining must be');
    expect(s.setDelivery('42', { mode: 'stall' })).toBeUndefined();
    expect(s.delivery(D0)).toMatchObject({ mode: 'normal', remaining: 1000 });
  });
});
