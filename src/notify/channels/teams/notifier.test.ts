import { afterEach, describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import { expectNoSecret } from '../../test-support/notifier-contract.js';
import { BERLIN, deviceNote, T0, upEvent } from '../../test-support/fixtures.js';
import { startReceiver, type Receiver, type Reply } from '../../test-support/http-receiver.js';
import { TeamsNotifier } from './notifier.js';

const PATH = '/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke';
const SIG = 'teams-sig-Zm9vYmFyYmF6cXV4';
const QUERY = `?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${SIG}`;
const never = new AbortController().signal;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(reply: Reply = { status: 202 }): Promise<Receiver> {
  const r = await startReceiver(() => reply);
  cleanups.push(() => r.close());
  return r;
}

function teams(url: string): TeamsNotifier {
  return new TeamsNotifier({ type: 'teams', name: 'chat', url, timeoutMs: 2_000 }, BERLIN);
}

/** What "Post to a channel when a webhook request is received" reads: a message with an Adaptive Card attachment. */
function expectTeamsShape(body: unknown): void {
  const b = body as { type?: unknown; attachments?: unknown };
  expect(b.type).toBe('message');
  expect(Array.isArray(b.attachments)).toBe(true);
  const [attachment] = b.attachments as { contentType?: unknown; content?: Record<string, unknown> }[];
  expect(attachment?.contentType).toBe('application/vnd.microsoft.card.adaptive');
  const card = attachment?.content ?? {};
  expect(card['type']).toBe('AdaptiveCard');
  expect(card['$schema']).toBe('http://adaptivecards.io/schemas/adaptive-card.json');
  expect(Number(card['version'])).toBeGreaterThanOrEqual(1.4);
  expect(Array.isArray(card['body'])).toBe(true);
  const elements = card['body'] as { type?: unknown }[];
  expect(elements.length).toBeGreaterThan(0);
  for (const e of elements) expect(['TextBlock', 'Container', 'FactSet', 'ColumnSet']).toContain(e.type);
  expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThan(28 * 1024);
}

const fifty = (): NotificationEvent[] =>
  Array.from({ length: 50 }, (_, i) => deviceNote({ number: `${1000 + i}`, name: `Phone ${i}` }));

describe('TeamsNotifier against a real HTTP listener', () => {
  it.each<[string, NotificationEvent[]]>([
    ['a single DOWN', [deviceNote()]],
    ['a grouped outage of 50', fifty()],
    ['an UP', [deviceNote({ event: upEvent() })]],
    ['a test event', [{ id: 't', kind: 'test', at: T0, channel: 'chat' }]],
  ])('%s: POST to the Workflows URL with its query, JSON, an Adaptive Card', async (_name, events) => {
    const r = await receiver();
    const result = await teams(`${r.url}${PATH}${QUERY}`).send({ deliveryId: 'd1', events, now: T0 }, never);
    expect(result).toEqual({ ok: true });
    const req = await r.request(1);
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`${PATH}${QUERY}`);
    expect(req.headers['content-type']).toBe('application/json');
    expectTeamsShape(JSON.parse(req.body));
  });

  it('a refused card: permanent, the flow’s error in the message, the sig and path redacted', async () => {
    const body = JSON.stringify({
      error: { code: 'InvalidRequestContent', message: `The request content is not valid (sig=${SIG})` },
    });
    const r = await receiver({ status: 400, body, headers: { 'content-type': 'application/json' } });
    const result = await teams(`${r.url}${PATH}${QUERY}`).send(
      { deliveryId: 'd', events: [deviceNote()], now: T0 },
      never,
    );
    expect(result).toMatchObject({ ok: false, retryable: false });
    const error = result.ok ? '' : result.error;
    expect(error).toContain(`HTTP 400 from ${r.url}/…?…: `);
    expect(error).toContain('InvalidRequestContent');
    expectNoSecret(error, [SIG, '0123456789abcdef0123456789abcdef'], 'the error');
  });

  it('429 with Retry-After: retryable after that pause', async () => {
    const r = await receiver({ status: 429, headers: { 'retry-after': '12' } });
    const result = await teams(`${r.url}${PATH}${QUERY}`).send(
      { deliveryId: 'd', events: [deviceNote()], now: T0 },
      never,
    );
    expect(result).toMatchObject({ ok: false, retryable: true, retryAfterMs: 12_000 });
  });
});
