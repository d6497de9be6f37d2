import { afterEach, describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import { expectNoSecret } from '../../test-support/notifier-contract.js';
import { BERLIN, deviceNote, T0, upEvent } from '../../test-support/fixtures.js';
import { startReceiver, type Receiver, type Reply } from '../../test-support/http-receiver.js';
import { discordRetryAfter, DiscordNotifier } from './notifier.js';

const TOKEN = 'discord-token-abcdefghijklmnopqrstuvwxyz0123456789';
const PATH = `/api/webhooks/123456789012345678/${TOKEN}`;
const never = new AbortController().signal;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(reply: Reply = { status: 204 }): Promise<Receiver> {
  const r = await startReceiver(() => reply);
  cleanups.push(() => r.close());
  return r;
}

function discord(url: string): DiscordNotifier {
  return new DiscordNotifier({ type: 'discord', name: 'chat', url, timeoutMs: 2_000 }, BERLIN);
}

const send = (n: DiscordNotifier, events: NotificationEvent[] = [deviceNote()]) =>
  n.send({ deliveryId: 'd', events, now: T0 }, never);

/** Discord's "Execute Webhook" and embed limits. */
function expectDiscordShape(body: unknown): void {
  const b = body as {
    content?: string;
    embeds?: { title?: string; description?: string; color?: number; timestamp?: string }[];
    allowed_mentions?: unknown;
  };
  expect((b.content ?? '').length + (b.embeds?.length ?? 0)).toBeGreaterThan(0);
  expect((b.content ?? '').length).toBeLessThanOrEqual(2000);
  const embeds = b.embeds ?? [];
  expect(embeds.length).toBeLessThanOrEqual(10);
  let total = 0;
  for (const e of embeds) {
    expect((e.title ?? '').length).toBeLessThanOrEqual(256);
    expect((e.description ?? '').length).toBeLessThanOrEqual(4096);
    expect(Number.isInteger(e.color)).toBe(true);
    if (e.timestamp !== undefined) expect(new Date(e.timestamp).toISOString()).toBe(e.timestamp);
    total += (e.title ?? '').length + (e.description ?? '').length;
  }
  expect(total).toBeLessThanOrEqual(6000);
  expect(b.allowed_mentions).toEqual({ parse: [] });
}

const fifty = (): NotificationEvent[] =>
  Array.from({ length: 50 }, (_, i) => deviceNote({ number: `${1000 + i}`, name: `Phone ${i}` }));

describe('DiscordNotifier against a real HTTP listener', () => {
  it.each<[string, NotificationEvent[]]>([
    ['a single DOWN', [deviceNote()]],
    ['a grouped outage of 50', fifty()],
    ['an UP', [deviceNote({ event: upEvent() })]],
    ['a test event', [{ id: 't', kind: 'test', at: T0, channel: 'chat' }]],
  ])('%s: POST to the webhook path, JSON, within the embed limits', async (_name, events) => {
    const r = await receiver();
    expect(await send(discord(`${r.url}${PATH}`), events)).toEqual({ ok: true });
    const req = await r.request(1);
    expect(req.method).toBe('POST');
    expect(req.path).toBe(PATH);
    expect(req.headers['content-type']).toBe('application/json');
    expectDiscordShape(JSON.parse(req.body));
  });

  it('429 without Retry-After: the body’s fractional retry_after, rounded up to ms', async () => {
    const body = '{"message": "You are being rate limited.", "retry_after": 0.3515, "global": false}';
    const r = await receiver({ status: 429, body, headers: { 'content-type': 'application/json' } });
    expect(await send(discord(`${r.url}${PATH}`))).toMatchObject({
      ok: false,
      retryable: true,
      retryAfterMs: 352,
    });
  });

  it('429 with both: the Retry-After header wins', async () => {
    const body = '{"message": "You are being rate limited.", "retry_after": 0.5, "global": true}';
    const r = await receiver({ status: 429, body, headers: { 'retry-after': '2' } });
    expect(await send(discord(`${r.url}${PATH}`))).toMatchObject({ retryAfterMs: 2_000 });
  });

  it.each<[string, number, string]>([
    ['Unknown Webhook', 404, '{"message": "Unknown Webhook", "code": 10015}'],
    ['Invalid Webhook Token', 401, '{"message": "Invalid Webhook Token", "code": 50027}'],
    ['Invalid Form Body', 400, '{"message": "Invalid Form Body", "code": 50035}'],
  ])(
    '%s: permanent, Discord’s message and code in the error, the token redacted',
    async (words, status, body) => {
      const r = await receiver({ status, body, headers: { 'content-type': 'application/json' } });
      const result = await send(discord(`${r.url}${PATH}`));
      expect(result).toMatchObject({ ok: false, retryable: false });
      const error = result.ok ? '' : result.error;
      expect(error).toBe(`HTTP ${status} from ${r.url}/…: ${body}`);
      expect(error).toContain(words);
      expectNoSecret(error, [TOKEN], 'the error');
    },
  );
});

describe('discordRetryAfter', () => {
  it.each<[string, number | undefined]>([
    ['{"retry_after": 0.5}', 500],
    ['{"retry_after":1.0001,"global":false}', 1001],
    ['{"retry_after": 7}', 7000],
    ['{"message": "nope"}', undefined],
    ['retry later', undefined],
  ])('%s → %s', (body, ms) => {
    expect(discordRetryAfter(body)).toBe(ms);
  });
});
