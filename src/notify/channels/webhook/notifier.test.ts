import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../../test-support/fake-clock.js';
import { Notifications } from '../../notifications.js';
import type { OutgoingMessage } from '../../notifier.js';
import type { DeliveryOutcome } from '../../outbox-worker.js';
import {
  captureLogger,
  deviceAlert,
  deviceNote,
  testConfig,
  UTC,
  webhookChannel,
} from '../../test-support/fixtures.js';
import { startReceiver, type Receiver, type Reply } from '../../test-support/http-receiver.js';
import { tempDb } from '../../test-support/store.js';
import { WebhookNotifier } from './notifier.js';
import type { WebhookChannelConfig } from '../../../config/types.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const never = new AbortController().signal;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(respond?: (index: number) => Reply | 'hang'): Promise<Receiver> {
  const r = await startReceiver(respond === undefined ? undefined : (_req, i) => respond(i));
  cleanups.push(() => r.close());
  return r;
}

function hook(url: string, over: Partial<WebhookChannelConfig> = {}): WebhookNotifier {
  return new WebhookNotifier(webhookChannel('hook', url, over) as WebhookChannelConfig, UTC);
}

function message(now: number, deliveryId = 'dlv-1'): OutgoingMessage {
  return { deliveryId, events: [deviceNote()], now };
}

describe('WebhookNotifier against a real HTTP listener', () => {
  it('POSTs the JSON with Standard Webhooks headers that verify, by the library and by hand', async () => {
    const r = await receiver();
    // The library checks the timestamp against the real clock: sign "now".
    const now = Date.now();
    const result = await hook(`${r.url}/hooks/wg`, {
      secret: SECRET,
      headers: { Authorization: 'Bearer abc-123-token', 'X-Team': 'sales' },
    }).send(message(now), never);
    expect(result).toEqual({ ok: true });
    const req = await r.request(1);
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hooks/wg');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-whatsgate-event']).toBe('device.down');
    expect(req.headers['authorization']).toBe('Bearer abc-123-token');
    expect(req.headers['x-team']).toBe('sales');
    expect(req.headers['user-agent']).toMatch(/^whatsgate-monitor\//);
    expect(req.headers['webhook-id']).toBe('dlv-1');
    expect(req.headers['webhook-timestamp']).toBe(String(Math.floor(now / 1000)));

    const verified = new Webhook(SECRET).verify(req.body, req.headers as Record<string, string>);
    expect(verified).toMatchObject({
      version: '1',
      events: [{ type: 'device.down', status: 'disconnected' }],
    });

    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const mac = createHmac('sha256', key)
      .update(`${String(req.headers['webhook-id'])}.${String(req.headers['webhook-timestamp'])}.${req.body}`)
      .digest('base64');
    expect(req.headers['webhook-signature']).toBe(`v1,${mac}`);
  });

  it.each<[string, Reply, boolean]>([
    ['500', { status: 500, body: 'oops' }, true],
    ['502', { status: 502 }, true],
    ['503 with Retry-After', { status: 503, headers: { 'retry-after': '120' } }, true],
    ['429', { status: 429 }, true],
    ['408', { status: 408 }, true],
    ['400', { status: 400, body: 'bad payload' }, false],
    ['401', { status: 401 }, false],
    ['404', { status: 404 }, false],
    ['410', { status: 410 }, false],
    ['301', { status: 301, headers: { location: 'https://u:p@elsewhere.example.com/x-cap?k=v' } }, false],
  ])('HTTP %s → retryable: %s', async (_name, reply, retry) => {
    const r = await receiver(() => reply);
    const result = await hook(`${r.url}/x`).send(message(Date.now()), never);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.retryable).toBe(retry);
    // The path of a webhook URL is its capability: the host shows, the path does not.
    expect(result.error).toMatch(new RegExp(`^HTTP ${reply.status} from http://127\\.0\\.0\\.1:\\d+/…`));
    expect(result.error).not.toMatch(/\/x\b/);
    if (reply.headers?.['retry-after'] !== undefined) expect(result.retryAfterMs).toBe(120_000);
    expect(result.error).not.toContain('u:p@');
  });

  it.each([
    ['https://u:p@elsewhere.example.com/new-cap-path?k=v', 'https://elsewhere.example.com/…?…'],
    ['/moved/new-cap-path', 'http://127.0.0.1:PORT/…'],
    [undefined, undefined],
  ])('a 302 to %s is not followed, said in the gateway client’s words', async (location, shown) => {
    const r = await receiver(() => ({ status: 302, headers: location === undefined ? {} : { location } }));
    const result = await hook(`${r.url}/cap-path`).send(message(Date.now()), never);
    const port = new URL(r.url).port;
    const to = shown === undefined ? 'no Location' : `to ${shown.replace('PORT', port)}`;
    expect(result).toEqual({
      ok: false,
      retryable: false,
      error: `HTTP 302 from ${r.url}/…: redirect not followed (${to}) — configure the final URL`,
    });
    expect(r.requests).toHaveLength(1);
  });

  it('credentials in the URL become Basic auth, not part of the request line', async () => {
    const r = await receiver();
    const url = r.url.replace('http://', 'http://alice:p%40ss@') + '/x';
    expect(await hook(url).send(message(Date.now()), never)).toEqual({ ok: true });
    const req = await r.request(1);
    expect(req.headers['authorization']).toBe(`Basic ${Buffer.from('alice:p@ss').toString('base64')}`);
    expect(req.path).toBe('/x');
  });

  it('no listener → retryable, saying so', async () => {
    const r = await receiver();
    const url = `${r.url}/x`;
    await r.close();
    const result = await hook(url).send(message(Date.now()), never);
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(!result.ok && result.error).toMatch(
      /^POST http:\/\/127\.0\.0\.1:\d+\/…: connection refused \(ECONNREFUSED\)$/,
    );
  });

  it('no answer within the timeout → retryable', async () => {
    const r = await receiver(() => 'hang');
    const result = await hook(`${r.url}/x`, { timeoutMs: 200 }).send(message(Date.now()), never);
    expect(result).toEqual({
      ok: false,
      retryable: true,
      error: `POST ${r.url}/…: no answer within 0.2 s`,
    });
  });

  it('errors never carry secrets: credentials in the URL, the signing secret, auth headers echoed back', async () => {
    const r = await receiver();
    cleanups.push(() => r.close());
    const echo = await startReceiver((req) => ({ status: 400, body: JSON.stringify(req.headers) }));
    cleanups.push(() => echo.close());
    const url = echo.url.replace('http://', 'http://alice:pa55word@') + '/x?token=qs-secret-1';
    const result = await hook(url, {
      secret: 'my-signing-secret',
      secretFormat: 'raw',
      headers: { Authorization: 'Bearer header-secret-9' },
    }).send(message(Date.now()), never);
    expect(result.ok).toBe(false);
    const error = result.ok ? '' : result.error;
    expect(error).toContain(`HTTP 400 from ${echo.url}/…?…`);
    const basic = Buffer.from('alice:pa55word').toString('base64');
    for (const secret of ['pa55word', 'qs-secret-1', 'my-signing-secret', 'header-secret-9', basic]) {
      expect(error).not.toContain(secret);
    }
  });
});

describe('webhook delivery through the outbox loop (FakeClock)', () => {
  async function pipeline(replies: Reply[]) {
    const db = tempDb();
    cleanups.push(() => db.dispose());
    const r = await receiver((i) => replies[Math.min(i, replies.length - 1)]!);
    const clock = new FakeClock(Date.now());
    const outcomes: [string, DeliveryOutcome][] = [];
    const waiters: { n: number; resolve: (o: [string, DeliveryOutcome]) => void }[] = [];
    const outcome = (n: number): Promise<[string, DeliveryOutcome]> => {
      const have = outcomes[n - 1];
      return have !== undefined
        ? Promise.resolve(have)
        : new Promise((resolve) => waiters.push({ n, resolve }));
    };
    const { log, lines } = captureLogger();
    const config = testConfig({
      notify: {
        default: ['sales'],
        routes: [],
        channels: { sales: webhookChannel('sales', `${r.url}/hook`, { secret: SECRET }) },
      },
    });
    const notifications = new Notifications({
      outbox: db.outbox,
      config,
      clock,
      log,
      onOutcome: (channel, o) => {
        outcomes.push([channel, o]);
        for (const w of waiters.filter((w) => w.n === outcomes.length)) w.resolve([channel, o]);
      },
    });
    cleanups.push(() => notifications.stop());
    return { db, r, clock, outcomes, outcome, notifications, lines };
  }

  it('500 then 200: delivered once, the same delivery id on both attempts, 10 s apart', async () => {
    const { r, clock, outcome, outcomes, notifications, db } = await pipeline([
      { status: 500 },
      { status: 200 },
    ]);
    notifications.start();
    await notifications.publish([deviceAlert()], db.outbox);
    // Held for grouping (group_wait 0 here), then queued by the loop's release step.
    expect(await db.outbox.held()).toHaveLength(1);

    await outcome(1);
    expect(r.requests).toHaveLength(1);
    await clock.advance(9_999);
    expect(r.requests).toHaveLength(1);
    await clock.advance(1);
    await outcome(2);

    expect(r.requests).toHaveLength(2);
    const [first, second] = r.requests;
    expect(second?.headers['webhook-id']).toBe(first?.headers['webhook-id']);
    expect(Number(second?.headers['webhook-timestamp']) - Number(first?.headers['webhook-timestamp'])).toBe(
      10,
    );
    // Each attempt is signed afresh, and verifies.
    expect(new Webhook(SECRET).verify(second!.body, second!.headers as Record<string, string>)).toBeTruthy();
    expect(JSON.parse(second!.body)).toMatchObject({ events: [{ type: 'device.down' }] });
    expect(outcomes).toEqual([
      ['sales', 'failed'],
      ['sales', 'sent'],
    ]);
    await vi.waitFor(() => expect(notifications.pending()).toEqual([]));
    expect(await db.outbox.find(String(first?.headers['webhook-id']))).toMatchObject({
      state: 'sent',
      attempts: 2,
    });
    await clock.advance(3_600_000);
    expect(r.requests).toHaveLength(2);
  });

  it('400: not retried — dropped as permanent, counted failed and dropped, logged at error', async () => {
    const { r, clock, outcome, outcomes, notifications, lines, db } = await pipeline([
      { status: 400, body: 'no' },
    ]);
    notifications.start();
    await notifications.publish([deviceAlert()], db.outbox);
    await outcome(2);
    await clock.advance(3_600_000);
    expect(r.requests).toHaveLength(1);
    expect(outcomes).toEqual([
      ['sales', 'failed'],
      ['sales', 'dropped'],
    ]);
    await vi.waitFor(() => expect(notifications.pending()).toEqual([]));
    const dropped = lines.find((l) => l.includes('refused for good'));
    expect(dropped).toContain('"level":"error"');
    expect(dropped).toContain('HTTP 400 from');
  });

  it('the running loop delivers on its own: publish wakes it, retries wait on the clock', async () => {
    const { r, clock, outcome, notifications, db } = await pipeline([{ status: 503 }, { status: 200 }]);
    notifications.start();
    await notifications.publish([deviceAlert()], db.outbox);
    expect(await outcome(1)).toEqual(['sales', 'failed']);
    // Recorded; the loop now sleeps on the fake clock until the retry is due.
    await clock.advance(10_000);
    expect(await outcome(2)).toEqual(['sales', 'sent']);
    expect(r.requests).toHaveLength(2);
  });
});
