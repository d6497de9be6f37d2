import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { startHttpServer, type HttpHandlers, type HttpServer } from './server.js';

const quiet = createLogger('fatal', new Writable({ write: (_c, _e, cb) => cb() }));

describe('HTTP server', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(overrides: Partial<HttpHandlers> = {}): Promise<string> {
    const handlers: HttpHandlers = {
      ready: () => true,
      metrics: (send) => send('text/plain; version=0.0.4', new TextEncoder().encode('x 1\n')),
      devices: () => [{ device: '1' }],
      history: (device, since) => (device === '1' ? [{ since }] : null),
      ...overrides,
    };
    server = await startHttpServer({ host: '127.0.0.1', port: 0, handlers, log: quiet });
    return server.url;
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

  it('answers /readyz 503 until ready', async () => {
    let ready = false;
    const url = await start({ ready: () => ready });
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('rejects a bad since with 400 naming the value', async () => {
    const url = await start();
    const res = await fetch(`${url}/api/v1/devices/1/history?since=yesterday`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('"yesterday"');
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

  it('refuses methods other than GET', async () => {
    const url = await start();
    expect((await fetch(`${url}/healthz`, { method: 'POST' })).status).toBe(405);
  });
});
