import { describe, expect, it } from 'vitest';
import { call, simulatorsClosedAfterEach, status, type Answer } from './test-support/sim-client.js';

const sim = simulatorsClosedAfterEach();

describe('control API', () => {
  it('lists, sets status and faults, scans, resets', async () => {
    let clock = 0;
    const s = await sim({ devices: 2, rateLimitPerMinute: 1, now: () => clock });
    const ctl = (path: string, body?: unknown): Promise<Answer> =>
      call(s, `/_sim${path}`, { token: null, ...(body === undefined ? {} : { body }) });

    await expect(ctl('/devices')).resolves.toEqual({
      code: 200,
      headers: expect.any(Headers) as Headers,
      body: [
        { device: '100000000', status: 'connected', fault: 'none' },
        { device: '100000001', status: 'connected', fault: 'none' },
      ],
    });
    await expect(ctl('/devices/100000000/status', { status: 'battery low' })).resolves.toMatchObject({
      code: 200,
      body: { device: '100000000', status: 'battery low' },
    });
    await expect(ctl('/devices/555/status', { status: 'not initialized' })).resolves.toMatchObject({
      code: 200,
    });
    expect(s.devices().map((d) => d.device)).toEqual(['100000000', '100000001', '555']);

    await expect(ctl('/devices/100000001/fault', { fault: 'slow', delay_ms: 5 })).resolves.toMatchObject({
      body: { device: '100000001', fault: 'slow', delay_ms: 5 },
    });
    expect(s.devices()[1]?.fault).toEqual({ type: 'slow', delayMs: 5 });
    await expect(ctl('/fault', { fault: 'api_error', message: 'boom' })).resolves.toMatchObject({
      code: 200,
    });
    expect(s.devices().map((d) => d.fault)).toEqual(Array(3).fill({ type: 'api_error', message: 'boom' }));
    await expect(ctl('/fault', { fault: 'none' })).resolves.toMatchObject({ code: 200 });

    await expect(ctl('/devices/555/scan', {})).resolves.toMatchObject({ body: { status: 'connected' } });
    await expect(ctl('/devices/404/scan', {})).resolves.toMatchObject({ code: 404 });
    await expect(ctl('/devices/404/fault', { fault: 'hang' })).resolves.toMatchObject({ code: 404 });

    expect((await status(s, '555')).code).toBe(200);
    expect((await status(s, '555')).code).toBe(429);
    await expect(ctl('/rate-limit/reset', {})).resolves.toMatchObject({ code: 200 });
    expect((await status(s, '555')).code).toBe(200);

    clock = 42;
    await expect(ctl('/stats')).resolves.toMatchObject({
      body: {
        requests: { status: 3 },
        huge_bytes_sent: 0,
        calls: [{ at: 0, endpoint: 'status', device: '555', http_status: 200 }, {}, {}],
      },
    });
    await expect(ctl('/stats/reset', {})).resolves.toMatchObject({ code: 200 });
    await expect(ctl('/stats')).resolves.toMatchObject({ body: { calls: [] } });
  });

  it.each([
    [{ fault: 'meltdown' }, '"fault" must be one of'],
    [{ fault: 'slow' }, '"slow" needs "delay_ms"'],
    [{ fault: 'html', http_status: 42 }, '"http_status" must be'],
    ['text', 'expected a JSON object'],
  ])('refuses a bad fault %j with 400', async (body, error) => {
    const s = await sim();
    const r = await call(s, '/_sim/fault', { token: null, body });
    expect(r.code).toBe(400);
    expect((r.body as { error: string }).error).toContain(error);
  });

  it('lists its routes and 404s unknown ones', async () => {
    const s = await sim();
    await expect(call(s, '/_sim')).resolves.toMatchObject({
      code: 200,
      body: { routes: expect.any(Array) as unknown },
    });
    await expect(call(s, '/_sim/nope')).resolves.toMatchObject({ code: 404 });
    await expect(call(s, '/_sim/devices/1/status', { body: {} })).resolves.toMatchObject({ code: 400 });
  });
});
