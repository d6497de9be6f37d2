import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROBE_ERROR_REASONS, type ProbeErrorObservation } from '../monitor/model.js';
import { createGatewayClient, type GatewayClient, type GatewayClientOptions } from './client.js';
import { OriginPools } from '../net/origin-pools.js';
import { REDACTED } from '../net/redact.js';
import { expectNoSecretLeaks } from '../test-support/no-secret-leaks.js';
import { HUGE_BODY_BYTES, startSimulator, type Simulator } from '../simulator/server.js';
import {
  closedPort,
  json,
  startScriptedServer,
  type ScriptedServer,
} from './test-support/scripted-server.js';

const DEVICE = '100000000';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let sim: Simulator;
let client: GatewayClient;
const extraClients: GatewayClient[] = [];

function clientFor(options: Partial<GatewayClientOptions> & { baseUrl: string }): GatewayClient {
  const c = createGatewayClient({ token: sim.token, timeoutMs: 2_000, ...options });
  extraClients.push(c);
  return c;
}

function asError(value: unknown): ProbeErrorObservation {
  expect(value).toMatchObject({ kind: 'probe_error' });
  return value as ProbeErrorObservation;
}

beforeAll(async () => {
  sim = await startSimulator({ rateLimitPerMinute: 0 });
  client = createGatewayClient({ baseUrl: sim.baseUrl, token: sim.token, timeoutMs: 2_000 });
});
afterAll(async () => {
  await client.close();
  await sim.close();
});
beforeEach(() => {
  sim.setFault('all', { type: 'none' });
  for (const d of sim.devices()) sim.setStatus(d.device, 'connected');
});
afterEach(async () => {
  await Promise.all(extraClients.splice(0).map((c) => c.close()));
});

describe('status against the simulator', () => {
  it.each([
    ['connected', 'connected'],
    ['disconnected', 'disconnected'],
    ['not connected', 'not_connected'],
    ['not initialized', 'not_initialized'],
    ['rebooting (maintenance)', 'unknown'],
    ['Connected', 'unknown'],
  ] as const)('gateway text %j → %s, raw kept verbatim', async (raw, status) => {
    sim.setStatus(DEVICE, raw);
    await expect(client.status(DEVICE)).resolves.toEqual({ kind: 'status', status, raw });
  });

  it('reads "device not found!" for an unknown device as the status not_found, raw kept', async () => {
    await expect(client.status('999999999')).resolves.toEqual({
      kind: 'status',
      status: 'not_found',
      raw: 'device not found!',
    });
  });

  it('keeps an injected api_error message verbatim', async () => {
    sim.setFault(DEVICE, { type: 'api_error', message: 'Whatsapp session busy, try later!' });
    const r = asError(await client.status(DEVICE));
    expect(r.reason).toBe('api_error');
    expect(r.message).toBe('Whatsapp session busy, try later!');
  });

  it.each([
    ['hang', 'no complete response within 200 ms', undefined],
    ['hang_body', 'no complete body within 200 ms', 200],
  ] as const)('%s ends as a timeout at timeoutMs', async (fault, text, httpStatus) => {
    sim.setFault(DEVICE, { type: fault });
    const c = clientFor({ baseUrl: sim.baseUrl, timeoutMs: 200 });
    const started = performance.now();
    const r = asError(await c.status(DEVICE));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(r.reason).toBe('timeout');
    expect(r.message).toBe(
      `${httpStatus === undefined ? '' : `HTTP ${httpStatus} from `}GET ${sim.baseUrl}/status/${DEVICE}: ${text}`,
    );
    expect(r.httpStatus).toBe(httpStatus);
  });

  it('a slow answer inside the timeout is a status; a per-call timeout overrides', async () => {
    sim.setFault(DEVICE, { type: 'slow', delayMs: 300 });
    await expect(client.status(DEVICE)).resolves.toMatchObject({ kind: 'status', status: 'connected' });
    const r = asError(await client.status(DEVICE, { timeoutMs: 50 }));
    expect(r.reason).toBe('timeout');
    // A device's own, longer timeout wins over the client's default as well.
    const short = clientFor({ baseUrl: sim.baseUrl, timeoutMs: 100 });
    await expect(short.status(DEVICE, { timeoutMs: 2_000 })).resolves.toMatchObject({ kind: 'status' });
  });

  it('a caller abort ends the call as a timeout without rejecting', async () => {
    sim.setFault(DEVICE, { type: 'hang' });
    const controller = new AbortController();
    const pending = client.status(DEVICE, { signal: controller.signal });
    controller.abort();
    const r = asError(await pending);
    expect(r.reason).toBe('timeout');
    expect(r.message).toContain('cancelled');
    const already = asError(await client.status(DEVICE, { signal: AbortSignal.abort() }));
    expect(already.message).toContain('cancelled before it was sent');
  });

  it('connection refused on a closed port', async () => {
    const port = await closedPort();
    const c = clientFor({ baseUrl: `http://127.0.0.1:${port}/api` });
    const r = asError(await c.status(DEVICE));
    expect(r).toEqual({
      kind: 'probe_error',
      reason: 'connection',
      message: `GET http://127.0.0.1:${port}/api/status/${DEVICE}: connection refused (ECONNREFUSED)`,
    });
  });

  it('HTTP 500 is http_5xx naming method, URL and status', async () => {
    sim.setFault(DEVICE, { type: '500' });
    const r = asError(await client.status(DEVICE));
    expect(r).toEqual({
      kind: 'probe_error',
      reason: 'http_5xx',
      httpStatus: 500,
      message: `HTTP 500 from GET ${sim.baseUrl}/status/${DEVICE}: Server Error`,
    });
  });

  it("a proxy's 502 HTML page is http_5xx, described by its title", async () => {
    sim.setFault(DEVICE, { type: 'html', httpStatus: 502 });
    const r = asError(await client.status(DEVICE));
    expect(r.reason).toBe('http_5xx');
    expect(r.httpStatus).toBe(502);
    expect(r.message).toContain('an HTML page ("502 Bad Gateway")');
  });

  it.each([
    ['html', 'an HTML page ("Sign in to continue"), likely from a proxy'],
    ['garbage', 'not JSON: "{success: true, message: \'connected\'"'],
    ['truncated', 'body truncated (connection closed after 31 bytes of the 1000 promised)'],
  ] as const)('%s with HTTP 200 is invalid_response', async (fault, detail) => {
    sim.setFault(DEVICE, { type: fault });
    const r = asError(await client.status(DEVICE));
    expect(r).toEqual({
      kind: 'probe_error',
      reason: 'invalid_response',
      httpStatus: 200,
      message: `HTTP 200 from GET ${sim.baseUrl}/status/${DEVICE}: ${detail}`,
    });
  });

  it('refuses a 20 MiB streamed body without reading it all', async () => {
    sim.resetStats();
    sim.setFault(DEVICE, { type: 'huge' });
    const r = asError(await client.status(DEVICE));
    expect(r.reason).toBe('invalid_response');
    expect(r.message).toBe(
      `HTTP 200 from GET ${sim.baseUrl}/status/${DEVICE}: body exceeds the 1048576-byte limit`,
    );
    // The simulator writes only as fast as the client reads (backpressure).
    expect(sim.stats().hugeBytesSent).toBeLessThan(HUGE_BODY_BYTES);
  });

  it.each([
    ['missing', '', 'an Access-Token is required'],
    ['wrong', 'not-the-token', 'invalid Access-Token'],
  ])('403 with a %s token is unauthorized with the gateway message', async (_label, token, text) => {
    const c = clientFor({ baseUrl: sim.baseUrl, token });
    const r = asError(await c.status(DEVICE));
    expect(r).toEqual({
      kind: 'probe_error',
      reason: 'unauthorized',
      httpStatus: 403,
      message: `HTTP 403 from GET ${sim.baseUrl}/status/${DEVICE}: ${text}`,
    });
  });

  it('429 past the rate limit carries Retry-After in ms', async () => {
    let clock = 1_000_000;
    const limited = await startSimulator({ rateLimitPerMinute: 2, now: () => clock });
    try {
      const c = clientFor({ baseUrl: limited.baseUrl });
      await expect(c.status(DEVICE)).resolves.toMatchObject({ kind: 'status' });
      clock += 15_000;
      await expect(c.status(DEVICE)).resolves.toMatchObject({ kind: 'status' });
      const r = asError(await c.status(DEVICE));
      expect(r).toEqual({
        kind: 'probe_error',
        reason: 'rate_limited',
        httpStatus: 429,
        retryAfterMs: 45_000,
        message: `HTTP 429 from GET ${limited.baseUrl}/status/${DEVICE}: rate limited, retry after 45 s`,
      });
    } finally {
      await limited.close();
    }
  });
});

describe('status against hand-written answers', () => {
  let server: ScriptedServer;
  let reply: (path: string, res: Parameters<Parameters<typeof startScriptedServer>[0]>[1]) => void;
  beforeAll(async () => {
    server = await startScriptedServer((req, res) => reply(req.url, res));
  });
  afterAll(() => server.close());

  it('sends the token header, a User-Agent, keeps the path prefix and encodes the device', async () => {
    reply = (_p, res) => json(res, 200, { success: true, message: 'connected' });
    const c = clientFor({ baseUrl: `${server.url}/tenant/a/api/`, token: 'tok', userAgent: 'ua-test/1' });
    await expect(c.status('12 3/4')).resolves.toMatchObject({ status: 'connected' });
    const seen = server.seen.at(-1)!;
    expect(seen.url).toBe('/tenant/a/api/status/12%203%2F4');
    expect(seen.headers['access-token']).toBe('tok');
    expect(seen.headers['user-agent']).toBe('ua-test/1');
  });

  it('401 (older gateway revisions) is unauthorized too', async () => {
    reply = (_p, res) => json(res, 401, { message: 'Unauthenticated.' });
    const r = asError(await clientFor({ baseUrl: server.url }).status('1'));
    expect(r).toMatchObject({ reason: 'unauthorized', httpStatus: 401 });
    expect(r.message).toBe(`HTTP 401 from GET ${server.url}/status/1: Unauthenticated.`);
  });

  it('parses Retry-After as an HTTP-date against the injected clock', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    reply = (_p, res) => json(res, 429, {}, { 'retry-after': 'Thu, 01 Jan 2026 00:01:30 GMT' });
    const r = asError(await clientFor({ baseUrl: server.url, now: () => now }).status('1'));
    expect(r).toMatchObject({ reason: 'rate_limited', retryAfterMs: 90_000 });
  });

  it('429 without Retry-After has no retryAfterMs', async () => {
    reply = (_p, res) => json(res, 429, { message: 'Too Many Attempts.' });
    const r = asError(await clientFor({ baseUrl: server.url }).status('1'));
    expect(r.reason).toBe('rate_limited');
    expect(r.retryAfterMs).toBeUndefined();
    expect(r.message).toContain('no usable Retry-After');
  });

  it.each([
    [404, 'device not found!'],
    [200, 'Device not found'],
    [200, '  DEVICE  not-found. '],
  ])('success:false on a %i reading %j is the status not_found', async (code, message) => {
    reply = (_p, res) => json(res, code, { success: false, message });
    await expect(clientFor({ baseUrl: server.url }).status('1')).resolves.toEqual({
      kind: 'status',
      status: 'not_found',
      raw: message,
    });
  });

  it.each(['device not found in session pool', 'no device found', 'Device is not found'])(
    'success:false %j is not "device not found": api_error, verbatim',
    async (message) => {
      reply = (_p, res) => json(res, 404, { success: false, message });
      expect(asError(await clientFor({ baseUrl: server.url }).status('1'))).toEqual({
        kind: 'probe_error',
        reason: 'api_error',
        message,
        httpStatus: 404,
      });
    },
  );

  it.each([
    [
      'success:true without a string message',
      200,
      { success: true, message: 3 },
      'success:true without a string "message"',
    ],
    ['no success field', 200, { status: 'connected' }, 'unexpected JSON without a boolean "success"'],
    ['a JSON array', 200, [1, 2], 'expected a JSON object'],
    [
      'success:true on a 404',
      404,
      { success: true, message: 'connected' },
      'success:true on a non-2xx answer',
    ],
    [
      'an nginx 404 page',
      404,
      '<html><head><title>404 Not Found</title></head></html>',
      'an HTML page ("404 Not Found")',
    ],
    ['an empty body', 200, '', 'an empty body'],
  ] as const)('%s is invalid_response', async (_label, code, body, detail) => {
    reply = (_p, res) => json(res, code, body);
    const r = asError(await clientFor({ baseUrl: server.url }).status('1'));
    expect(r.reason).toBe('invalid_response');
    expect(r.httpStatus).toBe(code);
    expect(r.message).toContain(`HTTP ${code} from GET ${server.url}/status/1: ${detail}`);
  });

  it.each([
    // Reported until now as "success:true on a non-2xx answer" when the body was the usual JSON.
    [
      'https://login.example.net/sso?next=%2Fstatus&sid=abc',
      { success: true },
      'to https://login.example.net/sso?…',
    ],
    ['/api/v2/status/1', '', 'to http://HOST/api/v2/status/1'],
    [undefined, '', 'no Location'],
  ] as const)('a 302 to %s is not followed: "redirect not followed"', async (location, body, said) => {
    reply = (_p, res) => json(res, 302, body, location === undefined ? {} : { location });
    const r = asError(await clientFor({ baseUrl: server.url }).status('1'));
    expect(r.reason).toBe('invalid_response');
    expect(r.httpStatus).toBe(302);
    const host = new URL(server.url).host;
    expect(r.message).toBe(
      `HTTP 302 from GET ${server.url}/status/1: redirect not followed (${said.replace('HOST', host)})`,
    );
  });

  it('refuses a body whose Content-Length is over the limit before reading it', async () => {
    reply = (_p, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50_000_000) });
      res.write('{"success":true,');
    };
    const r = asError(await clientFor({ baseUrl: server.url }).status('1'));
    expect(r.message).toContain('body of 50000000 bytes exceeds the 1048576-byte limit');
  });

  it('honours a smaller maxBodyBytes', async () => {
    reply = (_p, res) => json(res, 200, { success: true, message: 'connected', pad: 'x'.repeat(500) });
    const r = asError(await clientFor({ baseUrl: server.url, maxBodyBytes: 100 }).status('1'));
    expect(r).toMatchObject({ reason: 'invalid_response' });
    expect(r.message).toContain('exceeds the 100-byte limit');
  });

  it('a socket closed without any answer is a connection error', async () => {
    reply = (_p, res) => res.socket?.destroy();
    const r = asError(await clientFor({ baseUrl: server.url }).status('1'));
    expect(r.reason).toBe('connection');
    expect(r.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/status\/1: (connection closed before a response|connection reset)/,
    );
  });
});

describe('connect', () => {
  it('returns a real PNG that changes on every call', async () => {
    sim.setStatus(DEVICE, 'not connected');
    const a = await client.connect(DEVICE);
    const b = await client.connect(DEVICE);
    if (a.kind !== 'qr' || b.kind !== 'qr') throw new Error(`expected QR codes, got ${a.kind} and ${b.kind}`);
    expect(a.png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(a.dataUrl.startsWith('data:image/png;base64,')).toBe(true);
    expect(a.png.equals(b.png)).toBe(false);
  });

  it.each([
    ['already connected', DEVICE, { kind: 'already_connected', message: 'device is already connected' }],
    ['unknown', '999999999', { kind: 'not_found', message: 'device not found!' }],
  ] as const)('%s device', async (_label, device, expected) => {
    await expect(client.connect(device)).resolves.toEqual(expected);
  });

  it('passes probe errors through', async () => {
    sim.setFault(DEVICE, { type: '500' });
    await expect(client.connect(DEVICE)).resolves.toMatchObject({ kind: 'probe_error', reason: 'http_5xx' });
    sim.setFault(DEVICE, { type: 'api_error', message: 'session locked' });
    await expect(client.connect(DEVICE)).resolves.toMatchObject({
      reason: 'api_error',
      message: 'session locked',
    });
  });

  describe('bad QR payloads', () => {
    let server: ScriptedServer;
    let qrCode: unknown;
    beforeAll(async () => {
      server = await startScriptedServer((_req, res) => json(res, 200, { success: true, qrCode }));
    });
    afterAll(() => server.close());

    it.each([
      ['missing', undefined, 'success:true without a string "qrCode"'],
      ['a JPEG data URL', 'data:image/jpeg;base64,AAAA', 'qrCode is not a data:image/png;base64,… data URL'],
      ['not base64', 'data:image/png;base64,***', 'qrCode is not valid base64'],
      [
        'not a PNG',
        `data:image/png;base64,${Buffer.from('GIF89a-not-a-png').toString('base64')}`,
        'does not decode to a PNG',
      ],
    ])('%s is invalid_response', async (_label, value, detail) => {
      qrCode = value;
      const r = asError(await clientFor({ baseUrl: server.url, token: 'qr-test-token' }).connect('1'));
      expect(r.reason).toBe('invalid_response');
      expect(r.message).toContain(detail);
    });
  });
});

describe('balance', () => {
  it('reads the counts of a known device from the simulator', async () => {
    sim.setDelivery(DEVICE, { mode: 'normal', remaining: 321 });
    const counts = sim.delivery(DEVICE)!;
    await expect(client.balance(DEVICE)).resolves.toEqual({
      kind: 'reading',
      remaining: 321,
      successful: counts.successful,
      pending: counts.pending,
      failed: counts.failed,
    });
  });

  it("an unknown device is not_found, the gateway's words kept", async () => {
    await expect(client.balance('999999999')).resolves.toEqual({
      kind: 'not_found',
      message: 'Device not found',
    });
  });

  it('classifies a fault like a status check (HTTP 500 is http_5xx)', async () => {
    sim.setFault(DEVICE, { type: '500' });
    const r = asError(await client.balance(DEVICE));
    expect(r.reason).toBe('http_5xx');
    expect(r.message).toContain(`GET ${sim.url}/api/reports/balance/${DEVICE}`);
  });

  describe('against hand-written answers', () => {
    let server: ScriptedServer;
    let body: unknown;
    let code = 200;
    beforeAll(async () => {
      server = await startScriptedServer((_req, res) => json(res, code, body));
    });
    afterAll(() => server.close());
    beforeEach(() => {
      code = 200;
    });

    const good = { success: true, remaining: 1000, successful_count: 500, pending: 50, failed: 10 };

    it('maps successful_count to successful and sends the token header', async () => {
      body = good;
      const c = clientFor({ baseUrl: `${server.url}/api`, token: 'tok' });
      await expect(c.balance('12 3')).resolves.toEqual({
        kind: 'reading',
        remaining: 1000,
        successful: 500,
        pending: 50,
        failed: 10,
      });
      expect(server.seen.at(-1)!.url).toBe('/api/reports/balance/12%203');
      expect(server.seen.at(-1)!.headers['access-token']).toBe('tok');
    });

    it.each([
      ['Device not found', 200],
      ['device not found!', 404],
      ['DEVICE NOT FOUND.', 200],
    ])('success:false %j (HTTP %i) is not_found', async (message, status) => {
      code = status;
      body = { success: false, message };
      await expect(clientFor({ baseUrl: server.url }).balance('1')).resolves.toEqual({
        kind: 'not_found',
        message,
      });
    });

    it('another success:false is api_error, verbatim', async () => {
      body = { success: false, message: 'insufficient balance' };
      const r = asError(await clientFor({ baseUrl: server.url }).balance('1'));
      expect(r).toMatchObject({ reason: 'api_error', message: 'insufficient balance' });
    });

    it.each([
      ['a missing count', { ...good, pending: undefined }, '"pending" not a non-negative integer (missing)'],
      ['a negative count', { ...good, failed: -1 }, '"failed" not a non-negative integer (-1)'],
      ['a fraction', { ...good, remaining: 1.5 }, '"remaining" not a non-negative integer'],
      ['a count as text', { ...good, successful_count: '500' }, '"successful_count" not a non-negative'],
      ['null', { ...good, pending: null }, '"pending" not a non-negative integer (null)'],
      ['no success field', { remaining: 1 }, 'unexpected JSON without a boolean "success"'],
    ])('%s is invalid_response', async (_label, answer, detail) => {
      body = answer;
      const r = asError(await clientFor({ baseUrl: server.url }).balance('1'));
      expect(r.reason).toBe('invalid_response');
      expect(r.message).toContain(`HTTP 200 from GET ${server.url}/reports/balance/1: `);
      expect(r.message).toContain(detail);
    });

    it('429 is rate_limited with Retry-After', async () => {
      code = 429;
      body = {};
      const s = await startScriptedServer((_req, res) => json(res, 429, {}, { 'retry-after': '7' }));
      try {
        const r = asError(await clientFor({ baseUrl: s.url }).balance('1'));
        expect(r).toMatchObject({ reason: 'rate_limited', retryAfterMs: 7_000 });
      } finally {
        await s.close();
      }
    });
  });
});

describe('delete', () => {
  it('deletes a device, which is then unknown', async () => {
    const local = await startSimulator({ rateLimitPerMinute: 0, devices: 2 });
    try {
      const c = clientFor({ baseUrl: local.baseUrl });
      await expect(c.delete('100000001')).resolves.toEqual({
        kind: 'deleted',
        message: 'Device deleted successfully',
      });
      expect(local.devices().map((d) => d.device)).toEqual(['100000000']);
      await expect(c.delete('100000001')).resolves.toEqual({
        kind: 'refused',
        message: 'The selected sender device is invalid.',
      });
      await expect(c.status('100000001')).resolves.toEqual({
        kind: 'status',
        status: 'not_found',
        raw: 'device not found!',
      });
    } finally {
      await local.close();
    }
  });

  it("takes Laravel's 422 validation answer (no success field) as refused", async () => {
    const server = await startScriptedServer((_req, res) =>
      json(res, 422, {
        message: 'The sender device field is required.',
        errors: { sender_device: ['The sender device field is required.'] },
      }),
    );
    try {
      const c = clientFor({ baseUrl: `${server.url}/api`, token: 'delete-test-token' });
      await expect(c.delete('1')).resolves.toEqual({
        kind: 'refused',
        message: 'The sender device field is required.',
      });
      const seen = server.seen[0]!;
      expect(seen.method).toBe('POST');
      expect(seen.url).toBe('/api/delete');
      expect(seen.headers['content-type']).toBe('application/json');
      expect(JSON.parse(seen.body)).toEqual({ sender_device: '1' });
    } finally {
      await server.close();
    }
  });

  it('passes probe errors through', async () => {
    sim.setFault('all', { type: 'garbage' });
    await expect(client.delete(DEVICE)).resolves.toMatchObject({
      kind: 'probe_error',
      reason: 'invalid_response',
    });
  });
});

describe('the token never leaks', () => {
  const TOKEN = 'Tk-9f8e7d6c5b4a';
  let server: ScriptedServer;
  beforeAll(async () => {
    // Every answer quotes the token back, as a careless gateway or proxy might.
    server = await startScriptedServer((req, res) => {
      const device = decodeURIComponent(req.url.split('/').at(-1) ?? '');
      const echo = `token ${TOKEN} rejected`;
      switch (device) {
        case 'hang':
          return;
        case 'hang_body':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write(`{"message":"${TOKEN}`);
          return;
        case 'reset':
          res.socket?.destroy();
          return;
        case '500':
          return json(res, 500, { message: echo });
        case '503html':
          return json(res, 503, `<html><title>${echo}</title></html>`);
        case '403':
          return json(res, 403, { message: echo });
        case '429':
          return json(res, 429, { message: echo }, { 'retry-after': '7' });
        case 'garbage':
          return json(res, 200, `oops ${TOKEN} oops`);
        case 'html':
          return json(res, 200, `<html><title>${echo}</title></html>`);
        case 'shape':
          return json(res, 200, { token: TOKEN });
        case 'truncated':
          res.writeHead(200, { 'content-length': '500' });
          res.write(`{"message":"${TOKEN}`, () => res.destroy());
          return;
        case 'huge':
          return json(res, 200, { success: true, message: `${TOKEN}${'x'.repeat(2_000_000)}` });
        case 'unknown':
          return json(res, 200, { success: true, message: echo });
        case 'connect-qr':
          return json(res, 200, { success: true, qrCode: `data:image/gif;${TOKEN}` });
        case 'connect-other':
          return json(res, 200, { success: false, message: `device is already connected (${TOKEN})` });
        case 'delete':
          return json(res, 200, { success: false, message: echo });
        default:
          return json(res, 200, { success: false, message: echo });
      }
    });
  });
  afterAll(() => server.close());

  it('appears in no result, message or field of any class', async () => {
    const port = await closedPort();
    // Only the hanging answers wait for a timeout: the others get one no loaded machine reaches,
    // so each comes back with its own reason.
    const c = createGatewayClient({ baseUrl: `${server.url}/api`, token: TOKEN, timeoutMs: 30_000 });
    const hanging = createGatewayClient({ baseUrl: `${server.url}/api`, token: TOKEN, timeoutMs: 300 });
    // A base URL that itself contains the token (a path-routed proxy) must not leak it either.
    const inPath = createGatewayClient({
      baseUrl: `${server.url}/${TOKEN}/api`,
      token: TOKEN,
      timeoutMs: 30_000,
    });
    const refused = createGatewayClient({
      baseUrl: `http://127.0.0.1:${port}/${TOKEN}`,
      token: TOKEN,
      timeoutMs: 300,
    });
    try {
      const devices = ['reset', '500', '503html', '403', '429', 'garbage', 'html', 'shape'];
      const results: unknown[] = await Promise.all([
        ...['hang', 'hang_body'].map((d) => hanging.status(d)),
        ...[...devices, 'truncated', 'huge', 'unknown', 'api'].map((d) => c.status(d)),
        c.connect('connect-qr'),
        c.connect('connect-other'),
        c.delete('delete'),
        inPath.status('500'),
        refused.status('1'),
        c.status(TOKEN),
      ]);
      const reasons = new Set(
        results.flatMap((r) =>
          (r as { kind: string }).kind === 'probe_error' ? [(r as ProbeErrorObservation).reason] : [],
        ),
      );
      expect([...reasons].sort()).toEqual([...PROBE_ERROR_REASONS].sort());
      expectNoSecretLeaks(
        { token: TOKEN },
        results.map((r, i) => ({ name: `result ${i + 1}`, content: JSON.stringify(r) })),
      );
      expect(JSON.stringify(results)).toContain(REDACTED);
    } finally {
      await Promise.all([c.close(), hanging.close(), inPath.close(), refused.close()]);
    }
  });

  it('is redacted from the constructor error for a bad base URL', () => {
    expect(() => createGatewayClient({ baseUrl: `ftp://${TOKEN}@x/`, token: TOKEN, timeoutMs: 1 })).toThrow(
      /must be http or https/,
    );
    try {
      createGatewayClient({ baseUrl: `not a url ${TOKEN}`, token: TOKEN, timeoutMs: 1 });
    } catch (err) {
      expect(String(err)).not.toContain(TOKEN);
      return;
    }
    throw new Error('expected a TypeError');
  });
});

describe('close', () => {
  it('is idempotent and later calls resolve as connection errors', async () => {
    const c = createGatewayClient({ baseUrl: sim.baseUrl, token: sim.token, timeoutMs: 1_000 });
    await expect(c.status(DEVICE)).resolves.toMatchObject({ kind: 'status' });
    await c.close();
    await c.close();
    await expect(c.status(DEVICE)).resolves.toMatchObject({ kind: 'probe_error', reason: 'connection' });
  });
});

describe('sockets shared by the accounts of one origin', () => {
  it('calls from several accounts reuse the same sockets, each with its own token', async () => {
    const server = await startScriptedServer((_req, res) =>
      json(res, 200, { success: true, message: 'connected' }),
    );
    const pools = new OriginPools();
    const tokens = Array.from({ length: 30 }, (_, i) => `token-${i}`);
    const clients = tokens.map((token) =>
      createGatewayClient({ baseUrl: server.url, token, timeoutMs: 2_000, pools }),
    );
    try {
      for (const round of [1, 2]) {
        for (const client of clients) {
          await expect(client.status(String(round))).resolves.toMatchObject({ status: 'connected' });
        }
      }
      // A pool per account opened 30. undici marks a socket free a moment after its answer, so
      // the next call may open a second one.
      expect(server.connections().accepted).toBeLessThanOrEqual(2);
      expect(server.seen.map((r) => r.headers['access-token'])).toEqual([...tokens, ...tokens]);

      // Many at once: a socket each. The pool is not capped, so no account waits for another's.
      await Promise.all(clients.map((client) => client.status('3')));
      const opened = server.connections().accepted;
      expect(opened).toBeGreaterThanOrEqual(30);

      // Closing one account leaves the others' sockets open; the last one closes them.
      await clients[0]!.close();
      await expect(clients[0]!.status('4')).resolves.toMatchObject({ reason: 'connection' });
      await expect(clients[1]!.status('4')).resolves.toMatchObject({ status: 'connected' });
      expect(server.connections().open).toBeGreaterThan(0);
      await Promise.all(clients.map((client) => client.close()));
      expect(pools.size).toBe(0);
      await server.allClosed();
      expect(server.connections().open).toBe(0);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await server.close();
    }
  });

  it('close waits for the account’s calls in flight, then gives the pool back', async () => {
    let answer: (() => void) | undefined;
    const server = await startScriptedServer((_req, res) => {
      answer = () => json(res, 200, { success: true, message: 'connected' });
    });
    const pools = new OriginPools();
    const c = createGatewayClient({ baseUrl: server.url, token: 'token', timeoutMs: 5_000, pools });
    try {
      const call = c.status('1');
      while (server.seen.length === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      let closed = false;
      const closing = c.close().then(() => (closed = true));
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(closed).toBe(false);
      expect(pools.size).toBe(1);
      answer!();
      await expect(call).resolves.toMatchObject({ status: 'connected' });
      await closing;
      expect(pools.size).toBe(0);
      await server.allClosed();
    } finally {
      await c.close();
      await server.close();
    }
  });
});
