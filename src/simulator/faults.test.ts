import { describe, expect, it } from 'vitest';
import { startSimulator } from './server.js';
import { simulatorsClosedAfterEach, status } from './test-support/sim-client.js';

const sim = simulatorsClosedAfterEach();

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
