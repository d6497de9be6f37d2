import { afterEach, describe, expect, it } from 'vitest';
import { FLAP_PERIOD_MS } from './flap-script.js';
import { startSimulator, type Simulator, type SimulatorOptions } from './server.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const running: Simulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function sim(options: SimulatorOptions = {}): Promise<Simulator> {
  const s = await startSimulator(options);
  running.push(s);
  return s;
}

interface Answer {
  readonly code: number;
  readonly headers: Headers;
  readonly body: unknown;
}

async function call(
  s: Simulator,
  path: string,
  init: { method?: string; token?: string | null; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = init.token === undefined ? s.token : init.token;
  if (token !== null) headers['access-token'] = token;
  const res = await fetch(`${s.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // kept as text
  }
  return { code: res.status, headers: res.headers, body };
}

const status = (s: Simulator, device: string): Promise<Answer> => call(s, `/api/status/${device}`);

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
      requests: { status: 2, connect: 1, delete: 1, other: 0 },
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

describe('faults', () => {
  it.each([
    ['500', 500, 'application/json', '{"message":"Server Error"}'],
    ['garbage', 200, 'application/json', "{success: true, message: 'connected'"],
    ['api_error', 200, 'application/json', '{"success":false,"message":"simulated gateway error"}'],
  ] as const)('%s answers HTTP %i', async (type, code, contentType, body) => {
    const s = await sim();
    s.setFault('100000000', { type });
    const res = await fetch(`${s.baseUrl}/status/100000000`, { headers: { 'access-token': s.token } });
    expect(res.status).toBe(code);
    expect(res.headers.get('content-type')).toBe(contentType);
    expect(await res.text()).toBe(body);
    expect((await status(s, '100000001')).code).toBe(200); // other devices unaffected
  });

  it('html serves a proxy page, with a chosen status', async () => {
    const s = await sim();
    s.setFault('all', { type: 'html', httpStatus: 504 });
    const r = await status(s, '100000003');
    expect(r.code).toBe(504);
    expect(r.body).toContain('<title>504 Bad Gateway</title>');
    // `all` also covers devices the simulator does not know
    expect((await status(s, '7')).code).toBe(504);
  });

  it('truncated promises more bytes than it sends', async () => {
    const s = await sim();
    s.setFault('100000000', { type: 'truncated' });
    const res = await fetch(`${s.baseUrl}/status/100000000`, { headers: { 'access-token': s.token } });
    expect(res.headers.get('content-length')).toBe('1000');
    await expect(res.text()).rejects.toThrow();
  });

  it('close() ends hung requests (hang and hang_body)', async () => {
    let arrived: () => void = () => undefined;
    const hungArrived = new Promise<void>((resolve) => (arrived = resolve));
    const s = await startSimulator({ onCall: (c) => c.device === '100000000' && arrived() });
    s.setFault('100000000', { type: 'hang' });
    s.setFault('100000001', { type: 'hang_body' });
    const hung = fetch(`${s.baseUrl}/status/100000000`, { headers: { 'access-token': s.token } });
    const headersOnly = await fetch(`${s.baseUrl}/status/100000001`, {
      headers: { 'access-token': s.token },
    });
    expect(headersOnly.status).toBe(200);
    const body = headersOnly.text();
    await hungArrived;
    await s.close();
    await expect(hung).rejects.toThrow();
    await expect(body).rejects.toThrow();
  });

  it('slow delays the real answer', async () => {
    const s = await sim();
    s.setFault('100000000', { type: 'slow', delayMs: 50 });
    await expect(status(s, '100000000')).resolves.toMatchObject({
      code: 200,
      body: { message: 'connected' },
    });
  });
});

describe('flap script', () => {
  // Devices #0…#4 at the moments the script is documented to change them.
  const timeline: Array<[number, string[]]> = [
    [0, ['connected', 'connected', 'connected', 'connected', 'connected']],
    [19_999, ['connected', 'connected', 'connected', 'connected', 'connected']],
    [20_000, ['connected', 'disconnected', 'connected', 'connected', 'connected']],
    [45_000, ['connected', 'disconnected', 'connected', 'not connected', 'connected']],
    [60_000, ['connected', 'connected', 'connected', 'not connected', 'connected']],
    [100_000, ['connected', 'connected', 'disconnected', 'not connected', 'connected']],
    [140_000, ['connected', 'connected', 'connected', 'not connected', 'connected']],
    [150_000, ['connected', 'connected', 'connected', 'not connected', 'not initialized']],
    [170_000, ['connected', 'connected', 'connected', 'not connected', 'connected']],
    [FLAP_PERIOD_MS + 20_000, ['connected', 'disconnected', 'connected', 'not connected', 'connected']],
  ];

  it('changes devices at scripted times, read through the API', async () => {
    let clock = 1_000_000;
    const s = await sim({ flap: true, rateLimitPerMinute: 0, now: () => clock });
    for (const [t, expected] of timeline) {
      clock = 1_000_000 + t;
      const seen: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        seen.push(((await status(s, String(100_000_000 + i))).body as { message: string }).message);
      }
      expect([t, seen]).toEqual([t, expected]);
    }
  });

  it('is the same whether observed often or rarely, and a scan fixes #3 for good', async () => {
    let clock = 0;
    const lines: string[] = [];
    const s = await sim({ flap: true, now: () => clock, log: (l) => lines.push(l) });
    clock = 4 * FLAP_PERIOD_MS + 30_000; // one jump over many cycles
    expect(s.devices().map((d) => d.status)).toEqual([
      'connected',
      'disconnected',
      'connected',
      'not connected',
      'connected',
    ]);
    expect(s.scan('100000003')).toBe(true);
    clock += 10 * FLAP_PERIOD_MS;
    expect(s.devices()[3]?.status).toBe('connected');
    expect(lines).toContain('flap: 100000003 connected → not connected (script t+45s)');
  });

  it('a manual change holds until the next scripted change of that device', async () => {
    let clock = 0;
    const s = await sim({ flap: true, now: () => clock });
    clock = 25_000;
    s.setStatus('100000001', 'connected');
    clock = 59_000;
    expect(s.devices()[1]?.status).toBe('connected');
    s.setStatus('100000001', 'not initialized');
    clock = 60_000;
    expect(s.devices()[1]?.status).toBe('connected');
  });

  it('skips devices that do not exist', async () => {
    let clock = 0;
    const s = await sim({ flap: true, devices: 2, now: () => clock });
    clock = FLAP_PERIOD_MS;
    expect(s.devices().map((d) => d.status)).toEqual(['connected', 'connected']);
    clock += 20_000;
    expect(s.devices().map((d) => d.status)).toEqual(['connected', 'disconnected']);
  });
});

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

describe('options', () => {
  it.each([
    [{ first: '+49' }, 'digits only'],
    [{ devices: -1 }, 'devices must be'],
    [{ rateLimitPerMinute: 1.5 }, 'rate limit must be'],
  ])('rejects %j', async (options, message) => {
    await expect(startSimulator(options)).rejects.toThrow(message);
  });

  it('rejects a port in use', async () => {
    const s = await sim();
    await expect(startSimulator({ port: s.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
