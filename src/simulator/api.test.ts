import { describe, expect, it } from 'vitest';
import { call, simulatorsClosedAfterEach, status, type Answer } from './test-support/sim-client.js';

const sim = simulatorsClosedAfterEach();

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('the documented API', () => {
  it('numbers devices from `first`, all connected', async () => {
    const s = await sim({ devices: 3, first: '4915100000000' });
    expect(s.baseUrl).toBe(`${s.url}/api`);
    expect(s.devices()).toEqual([
      { device: '4915100000000', status: 'connected', fault: { type: 'none' } },
      { device: '4915100000001', status: 'connected', fault: { type: 'none' } },
      { device: '4915100000002', status: 'connected', fault: { type: 'none' } },
    ]);
    await expect(status(s, '4915100000002')).resolves.toMatchObject({
      code: 200,
      body: { success: true, message: 'connected' },
    });
    await expect(status(s, '4915100000003')).resolves.toMatchObject({
      body: { success: false, message: 'device not found!' },
    });
  });

  it.each([
    ['missing', null, 'an Access-Token is required'],
    ['empty', '', 'an Access-Token is required'],
    ['wrong', 'nope', 'invalid Access-Token'],
  ])('%s token → 403', async (_label, token, message) => {
    const s = await sim();
    const r = await call(s, '/api/status/100000000', { token });
    expect(r).toMatchObject({ code: 403, body: { message } });
    await expect(
      call(s, '/api/delete', { token, body: { sender_device: '100000000' } }),
    ).resolves.toMatchObject({
      code: 403,
    });
    expect(s.devices()).toHaveLength(5);
  });

  it('connect: a fresh PNG QR code each call, until the QR is scanned', async () => {
    const s = await sim();
    s.setStatus('100000001', 'not connected');
    const a = await call(s, '/api/connect/100000001');
    const b = await call(s, '/api/connect/100000001');
    const png = (r: Answer): Buffer => {
      const qr = (r.body as { qrCode: string }).qrCode;
      expect(qr.startsWith('data:image/png;base64,')).toBe(true);
      return Buffer.from(qr.slice('data:image/png;base64,'.length), 'base64');
    };
    expect(png(a).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(png(a).equals(png(b))).toBe(false);
    expect(s.scan('100000001')).toBe(true);
    await expect(call(s, '/api/connect/100000001')).resolves.toMatchObject({
      body: { success: false, message: 'device is already connected' },
    });
    await expect(call(s, '/api/connect/42')).resolves.toMatchObject({
      body: { success: false, message: 'device not found!' },
    });
  });

  it('delete removes a device; an unknown one is refused with 422', async () => {
    const s = await sim({ devices: 2 });
    await expect(call(s, '/api/delete', { body: { sender_device: '100000000' } })).resolves.toMatchObject({
      code: 200,
      body: { success: true, message: 'Device deleted successfully' },
    });
    expect(s.devices().map((d) => d.device)).toEqual(['100000001']);
    for (const body of [{ sender_device: '100000000' }, { other: 1 }, 'not json']) {
      await expect(call(s, '/api/delete', { body })).resolves.toMatchObject({
        code: 422,
        body: { success: false, message: 'The selected sender device is invalid.' },
      });
    }
  });

  it('unknown routes are 404, wrong methods 405', async () => {
    const s = await sim();
    await expect(call(s, '/api/nope')).resolves.toMatchObject({ code: 404 });
    await expect(call(s, '/api/status/1', { method: 'POST', body: {} })).resolves.toMatchObject({
      code: 405,
    });
    await expect(call(s, '/api/delete')).resolves.toMatchObject({ code: 405 });
  });
});

describe('rate limit', () => {
  it('answers 429 at call 61 within a minute and recovers once the window has passed', async () => {
    let clock = 5_000_000;
    const s = await sim({ now: () => clock });
    for (let i = 0; i < 60; i += 1) {
      const r = await call(s, i % 2 === 0 ? '/api/status/100000000' : '/api/connect/100000000');
      expect(r.code).toBe(200);
      clock += 500; // 60 calls spread over 30 s
    }
    const refused = await status(s, '100000000');
    expect(refused.code).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('30'); // the first call leaves the window at +60 s
    clock += 29_000;
    expect((await status(s, '100000000')).headers.get('retry-after')).toBe('1');
    clock += 1_000;
    expect((await status(s, '100000000')).code).toBe(200); // call #1 has left the window
    expect((await status(s, '100000000')).headers.get('retry-after')).toBe('1'); // #2 leaves in 0.5 s
    clock += 500;
    expect((await status(s, '100000000')).code).toBe(200);
    clock += 60_000;
    expect((await status(s, '100000000')).code).toBe(200);
  });

  it('counts auth failures against nobody, and can be reset or switched off', async () => {
    const clock = 0;
    const s = await sim({ rateLimitPerMinute: 3, now: () => clock });
    for (let i = 0; i < 5; i += 1) await call(s, '/api/status/100000000', { token: 'bad' });
    for (let i = 0; i < 3; i += 1) expect((await status(s, '100000000')).code).toBe(200);
    expect((await status(s, '100000000')).code).toBe(429);
    s.resetRateLimit();
    expect((await status(s, '100000000')).code).toBe(200);

    const unlimited = await sim({ rateLimitPerMinute: 0, now: () => clock });
    for (let i = 0; i < 100; i += 1) expect((await status(unlimited, '100000000')).code).toBe(200);
  });
});

describe('stats', () => {
  it('counts requests per endpoint and records every API call with its time and answer', async () => {
    let clock = 1_000;
    const s = await sim({ now: () => clock });
    await status(s, '100000000');
    clock = 2_000;
    await call(s, '/api/connect/100000000');
    clock = 3_000;
    await call(s, '/api/delete', { body: { sender_device: '100000004' } });
    await call(s, '/api/status/100000000', { token: 'bad' });
    await call(s, '/_sim/devices');
    expect(s.stats()).toEqual({
      requests: { status: 2, connect: 1, delete: 1, balance: 0, send: 0, other: 0 },
      calls: [
        { at: 1_000, endpoint: 'status', device: '100000000', httpStatus: 200 },
        { at: 2_000, endpoint: 'connect', device: '100000000', httpStatus: 200 },
        { at: 3_000, endpoint: 'delete', device: '100000004', httpStatus: 200 },
        { at: 3_000, endpoint: 'status', device: '100000000', httpStatus: 403 },
      ],
      hugeBytesSent: 0,
    });
    s.resetStats();
    expect(s.stats().calls).toEqual([]);
  });
});
