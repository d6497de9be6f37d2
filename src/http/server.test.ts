import { request } from 'node:http';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { DEFAULT_HISTORY_LIMIT, type HistoryCursor } from '../report/history-page.js';
import type { StatusPageData } from '../web/status-view.js';
import {
  startHttpServer,
  type HistoryQuery,
  type HttpHandlers,
  type HttpServer,
  type HttpServerOptions,
} from './server.js';

const quiet = createLogger('fatal', new Writable({ write: (_c, _e, cb) => cb() }));

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A GET with headers fetch() will not set (Host), on a fresh connection. */
function raw(base: string, path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP server', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(
    overrides: Partial<HttpHandlers> = {},
    options: Partial<Omit<HttpServerOptions, 'handlers' | 'log'>> = {},
  ): Promise<string> {
    const handlers: HttpHandlers = {
      ready: () => true,
      metrics: (send) => send('text/plain; version=0.0.4', new TextEncoder().encode('x 1\n')),
      devices: () => [{ device: '1' }],
      history: (device, { since }) => (device === '1' ? { rows: [{ since }], next: null } : null),
      ...overrides,
    };
    server = await startHttpServer({ host: '127.0.0.1', port: 0, handlers, log: quiet, ...options });
    // Bound to every interface, the server is still reached through the loopback address.
    return server.url.replace('0.0.0.0', '127.0.0.1');
  }

  it.each([
    ['/healthz', 200, 'ok\n'],
    ['/metrics', 200, 'x 1\n'],
    ['/api/v1/devices', 200, '[{"device":"1"}]\n'],
    ['/api/v1/devices/1/history', 200, '[{"since":null}]\n'],
    ['/api/v1/devices/%2B1/history', 200, '[{"since":null}]\n'],
    ['/api/v1/devices/2/history', 404, '{"error":"device 2 is not configured"}\n'],
    ['/nope', 404, '{"error":"no route for /nope"}\n'],
  ])('GET %s → %i', async (path, status, body) => {
    const url = await start();
    const res = await fetch(url + path);
    expect(res.status).toBe(status);
    expect(await res.text()).toBe(body);
  });

  it('awaits handlers that answer from the store (a promise)', async () => {
    const url = await start({
      devices: () => Promise.resolve([{ device: '1' }]),
      history: (device) => Promise.resolve(device === '1' ? { rows: [{ at: 'x' }], next: null } : null),
    });
    expect(await (await fetch(`${url}/api/v1/devices`)).text()).toBe('[{"device":"1"}]\n');
    expect(await (await fetch(`${url}/api/v1/devices/1/history`)).text()).toBe('[{"at":"x"}]\n');
    expect((await fetch(`${url}/api/v1/devices/2/history`)).status).toBe(404);
  });

  it('answers /readyz 503 until ready', async () => {
    let ready = false;
    const url = await start({ ready: () => ready });
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('says in one line why it is not ready', async () => {
    let ready: boolean | string =
      'the database refuses writes:\ncannot write to /x/monitor.db: the disk is full';
    const url = await start({ ready: () => ready });
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(
      'not ready: the database refuses writes: cannot write to /x/monitor.db: the disk is full\n',
    );
    ready = false;
    expect(await (await fetch(`${url}/readyz`)).text()).toBe('not ready\n');
  });

  it('rejects a bad since with 400 naming the value', async () => {
    const url = await start();
    const res = await fetch(`${url}/api/v1/devices/1/history?since=yesterday`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('"yesterday"');
  });

  it('pages the history: limit and cursor reach the handler, the next page comes as a Link', async () => {
    const asked: HistoryQuery[] = [];
    const next: HistoryCursor = { account: 'main', at: 1_700_000_000_000, id: 42 };
    const url = await start({
      history: (_device, query) => {
        asked.push(query);
        return { rows: [{ n: asked.length }], next: query.cursor === null ? next : null };
      },
    });
    const first = await fetch(`${url}/api/v1/devices/1/history?since=7d&limit=1`);
    expect(await first.text()).toBe('[{"n":1}]\n');
    const link = first.headers.get('link') ?? '';
    // Relative (behind a path prefix it still resolves), without since: the cursor lies past it.
    expect(link).toMatch(/^<history\?limit=1&cursor=[\w-]+>; rel="next"$/);
    const second = await fetch(new URL(/^<([^>]+)>/.exec(link)![1]!, `${url}/api/v1/devices/1/history`));
    expect(await second.text()).toBe('[{"n":2}]\n');
    expect(second.headers.get('link')).toBeNull();
    expect(asked.map((q) => [q.limit, q.cursor, q.since === null])).toEqual([
      [1, null, false],
      [1, next, true],
    ]);
    // Without parameters: the default page size.
    await fetch(`${url}/api/v1/devices/1/history`);
    expect(asked[2]).toEqual({ since: null, limit: DEFAULT_HISTORY_LIMIT, cursor: null });
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=10001', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    [`cursor=${Buffer.from('["main",1]').toString('base64url')}`, 'cursor'],
  ])('rejects history?%s with 400 naming %s', async (params, what) => {
    const url = await start();
    const res = await fetch(`${url}/api/v1/devices/1/history?${params}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(new RegExp(`^${what}: `));
  });

  it('turns a failing handler into a 500 and keeps serving', async () => {
    const url = await start({
      devices: () => {
        throw new Error('boom');
      },
    });
    expect((await fetch(`${url}/api/v1/devices`)).status).toBe(500);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it.each([
    ['POST', '/'],
    ['POST', '/healthz'],
    ['PUT', '/api/v1/devices'],
    ['DELETE', '/metrics'],
    ['POST', '/reconnect/1/qr'],
    ['POST', '/favicon.ico'],
    ['OPTIONS', '/readyz'],
    ['PATCH', '/no/such/path'],
  ])('%s %s: 405 naming the methods it takes in Allow', async (method, path) => {
    const url = await start({ statusPage: () => ({}) as StatusPageData });
    const res = await fetch(`${url}${path}`, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(((await res.json()) as { error: string }).error).toBe(
      `method ${method} not allowed (GET or HEAD)`,
    );
  });

  it('serves /favicon.ico: a 16×16 ICO, cacheable, also to HEAD', async () => {
    const url = await start();
    const res = await fetch(`${url}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/x-icon');
    expect(res.headers.get('cache-control')).toBe('public, max-age=86400');
    const icon = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(icon.length);
    // ICONDIR: reserved 0, type 1 (icon), one image of 16×16 at 32 bits, whose bytes fill the file.
    expect([icon.readUInt16LE(0), icon.readUInt16LE(2), icon.readUInt16LE(4)]).toEqual([0, 1, 1]);
    expect([icon[6], icon[7], icon.readUInt16LE(12)]).toEqual([16, 16, 32]);
    expect(icon.readUInt32LE(18) + icon.readUInt32LE(14)).toBe(icon.length);
    // BITMAPINFOHEADER: 40 bytes, 16 wide, 32 high (image and mask).
    expect([icon.readUInt32LE(22), icon.readInt32LE(26), icon.readInt32LE(30)]).toEqual([40, 16, 32]);
    // The centre pixel is opaque green, the corner transparent (BGRA, rows bottom-up).
    const pixel = (x: number, y: number): number[] => [
      ...icon.subarray(62 + (y * 16 + x) * 4, 66 + (y * 16 + x) * 4),
    ];
    expect(pixel(8, 8)).toEqual([0x66, 0xd3, 0x25, 255]);
    expect(pixel(0, 0)[3]).toBe(0);

    const head = await fetch(`${url}/favicon.ico`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(icon.length));
  });

  describe('pages', () => {
    const NOW = Date.UTC(2026, 4, 10, 9, 0, 0);
    const page: StatusPageData = {
      now: NOW,
      timeZone: 'UTC',
      accounts: [{ name: 'main', reachable: true, problem: null, problemSince: null }],
      devices: [
        {
          account: 'main',
          number: '100',
          name: 'Sales phone',
          status: 'disconnected',
          statusRaw: 'disconnected',
          health: 'DOWN',
          statusSince: NOW - 60_000,
          lastCheckAt: NOW - 1_000,
          probeError: null,
          silencedUntil: null,
        },
      ],
    };
    const relinkHandlers: Partial<HttpHandlers> = {
      statusPage: () => page,
      relinkDevice: (device) =>
        device === '100'
          ? { account: 'main', number: '100', name: 'Sales phone', status: 'disconnected', lastCheckAt: NOW }
          : null,
      reconnectQr: () => Promise.resolve({ status: 'qr', dataUrl: 'data:image/png;base64,AAAA' }),
    };

    it('serves the status page with a strict CSP', async () => {
      const url = await start(relinkHandlers);
      const res = await fetch(`${url}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const csp = res.headers.get('content-security-policy') ?? '';
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce).toBeDefined();
      expect(csp).toContain("default-src 'none'");
      const html = await res.text();
      expect(html).toContain(`<style nonce="${nonce}">`);
      expect(html).toContain('Sales phone');
      expect(html).toContain('href="reconnect/100"');
    });

    it('answers 404 for / when the daemon provides no status page', async () => {
      const url = await start();
      expect((await fetch(`${url}/`)).status).toBe(404);
    });

    it('serves the re-link page and its JSON on a loopback address', async () => {
      let checkSoon = 0;
      const url = await start({
        ...relinkHandlers,
        relinkDevice: (device, { checkSoon: soon }) => {
          if (soon) checkSoon++;
          return device === '100'
            ? { account: 'main', number: '100', name: 'Sales phone', status: 'connected', lastCheckAt: NOW }
            : null;
        },
      });
      const html = await (await fetch(`${url}/reconnect/100`)).text();
      expect(html).toContain('Re-link Sales phone');
      const qr = (await (await fetch(`${url}/reconnect/%2B100/qr`)).json()) as Record<string, unknown>;
      expect(qr).toMatchObject({
        status: 'qr',
        dataUrl: 'data:image/png;base64,AAAA',
        refresh_in_ms: 45_000,
      });
      const status = await (await fetch(`${url}/reconnect/100/status?watch=1`)).json();
      expect(status).toMatchObject({ status: 'connected', connected: true, last_check: NOW });
      await fetch(`${url}/reconnect/100/status?watch=1`);
      await fetch(`${url}/reconnect/100/status`);
      expect(checkSoon).toBe(1);
      expect((await fetch(`${url}/reconnect/999`)).status).toBe(404);
      expect((await fetch(`${url}/reconnect/999/qr`)).status).toBe(404);
    });

    it('answers a standby QR fetch 503 with Retry-After and the reason in the JSON', async () => {
      const url = await start({
        ...relinkHandlers,
        reconnectQr: () => Promise.resolve({ status: 'standby', message: 'this replica is a standby' }),
      });
      const res = await fetch(`${url}/reconnect/100/qr`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('15');
      expect(await res.json()).toEqual({
        status: 'standby',
        message: 'this replica is a standby',
        retry_in_ms: 15_000,
      });
    });

    it('does not serve the re-link page on a public address without basic auth', async () => {
      const url = await start(relinkHandlers, { host: '0.0.0.0' });
      expect(server?.relinkAvailable).toBe(false);
      const res = await fetch(`${url}/reconnect/100`);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('served only when\n<code>web.basic_auth</code> is set');
      expect((await fetch(`${url}/reconnect/100/qr`)).status).toBe(404);
      // and the status page does not link it
      expect(await (await fetch(`${url}/`)).text()).not.toContain('href="reconnect/100"');
    });

    describe('basic auth', () => {
      // PHP's password_hash('password') — the `$2y$` flavour htpasswd writes.
      const basicAuth = {
        user: 'ops',
        passwordHash: '$2y$10$92IXUNpkjO0rOQ5byMi.Ye4oKoEa3Ro9llC/.og/at2.uheWG/igi',
      };
      const auth = (user: string, password: string) => ({
        authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
      });

      it.each([
        '/',
        '/metrics',
        '/readyz',
        '/api/v1/devices',
        '/reconnect/100',
        '/reconnect/100/qr',
        '/nope',
      ])('GET %s without credentials → 401 with the challenge', async (path) => {
        const url = await start(relinkHandlers, { basicAuth, host: '0.0.0.0' });
        const res = await fetch(url + path);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Basic realm="whatsgate-monitor"');
      });

      it('leaves /healthz open, admits the right user, refuses a wrong password', async () => {
        const url = await start(relinkHandlers, { basicAuth, host: '0.0.0.0' });
        expect((await fetch(`${url}/healthz`)).status).toBe(200);
        expect((await fetch(`${url}/`, { headers: auth('ops', 'wrong') })).status).toBe(401);
        expect((await fetch(`${url}/`, { headers: auth('root', 'password') })).status).toBe(401);
        expect((await fetch(`${url}/`, { headers: auth('ops', 'password') })).status).toBe(200);
        // With basic auth on, the re-link page is served on any address.
        expect(server?.relinkAvailable).toBe(true);
        expect((await fetch(`${url}/reconnect/100`, { headers: auth('ops', 'password') })).status).toBe(200);
      });

      it('follows a reload of web.basic_auth', async () => {
        const url = await start(relinkHandlers);
        expect((await fetch(`${url}/api/v1/devices`)).status).toBe(200);
        server?.setBasicAuth(basicAuth);
        expect((await fetch(`${url}/api/v1/devices`)).status).toBe(401);
        server?.setBasicAuth(null);
        expect((await fetch(`${url}/api/v1/devices`)).status).toBe(200);
      });
    });

    describe('DNS rebinding: without basic auth, only names that cannot be rebound', () => {
      it.each([
        ['/', 'evil.example', 421],
        ['/reconnect/100', 'evil.example:8749', 421],
        ['/reconnect/100/qr', 'evil.example', 421],
        ['/reconnect/100/status', 'evil.example', 421],
        ['/api/v1/devices', 'evil.example', 421],
        ['/', 'localhost:8749', 200],
        ['/reconnect/100', 'localhost', 200],
        ['/reconnect/100/qr', '127.0.0.1:8749', 200],
        ['/reconnect/100/qr', '[::1]:8749', 200],
        ['/reconnect/100', 'monitor.example.com', 200], // public_url's host
        ['/reconnect/100', 'monitor.example.com.evil.example', 421],
        // Probes and scrapers use whatever name they were given.
        ['/healthz', 'evil.example', 200],
        ['/readyz', 'evil.example', 200],
        ['/metrics', 'evil.example', 200],
      ])('GET %s with Host %s → %i', async (path, host, status) => {
        const url = await start(relinkHandlers, { publicUrl: 'https://monitor.example.com' });
        const res = await raw(url, path, { host });
        expect(res.status).toBe(status);
        if (status === 421) {
          expect(res.body).toContain('misdirected request');
          expect(res.body).not.toContain('data:image');
        }
      });

      it('follows a reload of public_url', async () => {
        const url = await start(relinkHandlers);
        expect((await raw(url, '/reconnect/100', { host: 'mon.example.org' })).status).toBe(421);
        server?.setPublicUrl('https://mon.example.org');
        expect((await raw(url, '/reconnect/100', { host: 'mon.example.org' })).status).toBe(200);
      });

      it('accepts any Host once basic auth protects the pages', async () => {
        const url = await start(relinkHandlers, {
          basicAuth: {
            user: 'ops',
            passwordHash: '$2y$10$92IXUNpkjO0rOQ5byMi.Ye4oKoEa3Ro9llC/.og/at2.uheWG/igi',
          },
          auth: { compare: (password) => Promise.resolve(password === 'password') },
        });
        const authorization = `Basic ${Buffer.from('ops:password').toString('base64')}`;
        expect((await raw(url, '/reconnect/100', { host: 'evil.example' })).status).toBe(401);
        expect((await raw(url, '/reconnect/100', { host: 'evil.example', authorization })).status).toBe(200);
      });

      it.each([
        ['http://evil.example', 'localhost:8749', 403],
        ['null', 'localhost:8749', 403],
        ['http://localhost:8749', 'localhost:8749', 200],
        ['https://monitor.example.com', 'localhost:8749', 200],
      ])('the QR and status JSON check Origin %s (Host %s) → %i', async (origin, host, status) => {
        let fetched = 0;
        const url = await start(
          {
            ...relinkHandlers,
            reconnectQr: () => {
              fetched++;
              return Promise.resolve({ status: 'qr', dataUrl: 'data:image/png;base64,AAAA' });
            },
          },
          { publicUrl: 'https://monitor.example.com' },
        );
        const qr = await raw(url, '/reconnect/100/qr', { host, origin });
        expect(qr.status).toBe(status);
        expect(fetched).toBe(status === 200 ? 1 : 0);
        expect((await raw(url, '/reconnect/100/status', { host, origin })).status).toBe(status);
      });
    });

    describe('bcrypt under a flood of bad logins', () => {
      const basicAuth = { user: 'ops', passwordHash: 'h' };
      const header = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;

      /** A compare that counts calls and holds each until released. */
      function held() {
        const waiting: (() => void)[] = [];
        let first: () => void = () => undefined;
        const started = new Promise<void>((r) => (first = r));
        const state = {
          calls: 0,
          started,
          compare: (password: string) => {
            state.calls++;
            first();
            return new Promise<boolean>((done) => waiting.push(() => done(password === 'right')));
          },
          release: () => {
            for (const r of waiting.splice(0)) r();
          },
        };
        return state;
      }

      it('keeps /healthz and an authenticated /metrics answering, bcrypt runs bounded', async () => {
        const bcrypt = held();
        const url = await start(relinkHandlers, {
          basicAuth,
          // Every test request comes from 127.0.0.1: lift the per-address limit to see the queue.
          auth: { compare: bcrypt.compare, failures: { max: 1000, windowMs: 60_000 } },
        });
        const login = raw(url, '/metrics', { authorization: header('right') });
        await bcrypt.started;
        bcrypt.release();
        expect((await login).status).toBe(200);
        expect(bcrypt.calls).toBe(1);

        // 40 guesses at once while the first of them holds bcrypt: 1 runs, 8 wait, 31 get 503.
        let answered = 0;
        let allTurnedAway: () => void = () => undefined;
        const turnedAway = new Promise<void>((r) => (allTurnedAway = r));
        const guesses = Array.from({ length: 40 }, (_, i) =>
          raw(url, '/', { authorization: header(`guess-${i}`) }).then((res) => {
            if (res.status === 503 && ++answered === 31) allTurnedAway();
            return res;
          }),
        );
        await turnedAway;
        expect(bcrypt.calls).toBe(2);

        // While bcrypt is busy and its queue full, the probe and the cached scraper get through.
        expect((await raw(url, '/healthz')).status).toBe(200);
        expect((await raw(url, '/metrics', { authorization: header('right') })).status).toBe(200);
        expect(bcrypt.calls).toBe(2);

        for (let i = 0; i < 9; i++) {
          bcrypt.release();
          await new Promise((r) => setImmediate(r));
        }
        const answers = await Promise.all(guesses);
        expect(answers.filter((r) => r.status === 401)).toHaveLength(9);
        const busy = answers.filter((r) => r.status === 503);
        expect(busy).toHaveLength(31);
        expect(busy.every((r) => r.headers['retry-after'] === '1')).toBe(true);
        expect(bcrypt.calls).toBe(1 + 9);
      });

      it('answers 429 with Retry-After to an address past 5 failures a minute, without bcrypt', async () => {
        let now = 1_000_000;
        let calls = 0;
        const url = await start(relinkHandlers, {
          basicAuth,
          now: () => now,
          auth: {
            compare: (password) => {
              calls++;
              return Promise.resolve(password === 'right');
            },
          },
        });
        for (let i = 0; i < 5; i++) {
          expect((await raw(url, '/', { authorization: header(`guess-${i}`) })).status).toBe(401);
        }
        const refused = await raw(url, '/', { authorization: header('guess-5') });
        expect(refused.status).toBe(429);
        expect(refused.headers['retry-after']).toBe('60');
        expect(calls).toBe(5);
        // Even the right password waits: bcrypt is what the limit saves.
        expect((await raw(url, '/', { authorization: header('right') })).status).toBe(429);
        expect((await raw(url, '/healthz')).status).toBe(200);
        now += 60_001;
        expect((await raw(url, '/', { authorization: header('right') })).status).toBe(200);
        expect(calls).toBe(6);
      });
    });
  });
});
