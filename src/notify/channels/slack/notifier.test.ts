import { afterEach, describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import { expectNoSecret } from '../../test-support/notifier-contract.js';
import { BERLIN, deviceNote, T0, upEvent } from '../../test-support/fixtures.js';
import { startReceiver, type Receiver, type Reply } from '../../test-support/http-receiver.js';
import { SlackNotifier } from './notifier.js';

const PATH = '/services/T0001ABCD/B0001EFGH/abcdefghijklmnopqrstuvwx';
const never = new AbortController().signal;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(reply: Reply = { status: 200, body: 'ok' }): Promise<Receiver> {
  const r = await startReceiver(() => reply);
  cleanups.push(() => r.close());
  return r;
}

function slack(url: string): SlackNotifier {
  return new SlackNotifier({ type: 'slack', name: 'chat', url, timeoutMs: 2_000 }, BERLIN);
}

/** What Slack's incoming webhook takes (Block Kit reference: block types and their limits). */
const BLOCK_TYPES = ['header', 'section', 'context', 'divider', 'actions', 'image', 'rich_text'];
function expectSlackShape(body: unknown): void {
  const b = body as { text?: unknown; blocks?: unknown };
  expect(typeof b.text).toBe('string');
  expect((b.text as string).length).toBeGreaterThan(0);
  expect(Array.isArray(b.blocks)).toBe(true);
  const blocks = b.blocks as { type: string; text?: { type: string; text: string }; elements?: unknown[] }[];
  expect(blocks.length).toBeGreaterThan(0);
  expect(blocks.length).toBeLessThanOrEqual(50);
  for (const block of blocks) {
    expect(BLOCK_TYPES).toContain(block.type);
    if (block.type === 'header') {
      expect(block.text?.type).toBe('plain_text');
      expect(block.text?.text.length).toBeLessThanOrEqual(150);
    }
    if (block.type === 'section') {
      expect(['mrkdwn', 'plain_text']).toContain(block.text?.type);
      expect(block.text?.text.length).toBeGreaterThan(0);
      expect(block.text?.text.length).toBeLessThanOrEqual(3000);
    }
    if (block.type === 'context') {
      expect(block.elements?.length).toBeGreaterThan(0);
      expect(block.elements?.length).toBeLessThanOrEqual(10);
    }
  }
}

const fifty = (): NotificationEvent[] =>
  Array.from({ length: 50 }, (_, i) => deviceNote({ number: `${1000 + i}`, name: `Phone ${i}` }));

describe('SlackNotifier against a real HTTP listener', () => {
  it.each<[string, NotificationEvent[]]>([
    ['a single DOWN', [deviceNote()]],
    ['a grouped outage of 50', fifty()],
    ['an UP', [deviceNote({ event: upEvent() })]],
    ['a test event', [{ id: 't', kind: 'test', at: T0, channel: 'chat' }]],
  ])('%s: POST to the hook path, JSON, the Block Kit shape Slack documents', async (_name, events) => {
    const r = await receiver();
    const result = await slack(`${r.url}${PATH}`).send({ deliveryId: 'd1', events, now: T0 }, never);
    expect(result).toEqual({ ok: true });
    const req = await r.request(1);
    expect(req.method).toBe('POST');
    expect(req.path).toBe(PATH);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['user-agent']).toMatch(/^whatsgate-monitor\//);
    expectSlackShape(JSON.parse(req.body));
  });

  it.each<[string, Reply, boolean, string]>([
    ['404 no_service', { status: 404, body: 'no_service' }, false, ': no_service'],
    ['400 invalid_payload', { status: 400, body: 'invalid_payload' }, false, ': invalid_payload'],
    ['410 channel_is_archived', { status: 410, body: 'channel_is_archived' }, false, ': channel_is_archived'],
    ['500 rollup_error', { status: 500, body: 'rollup_error' }, true, ': rollup_error'],
  ])('%s: the provider’s words in the error, the hook path redacted', async (_name, reply, retry, words) => {
    const r = await receiver(reply);
    const result = await slack(`${r.url}${PATH}`).send(
      { deliveryId: 'd', events: [deviceNote()], now: T0 },
      never,
    );
    expect(result).toMatchObject({ ok: false, retryable: retry });
    const error = result.ok ? '' : result.error;
    expect(error).toBe(`HTTP ${reply.status} from ${r.url}/…${words}`);
    expectNoSecret(error, ['abcdefghijklmnopqrstuvwx', PATH.slice(1)], 'the error');
  });

  it('429 with Retry-After: retryable after that pause', async () => {
    const r = await receiver({ status: 429, headers: { 'retry-after': '30' }, body: 'rate_limited' });
    const result = await slack(`${r.url}${PATH}`).send(
      { deliveryId: 'd', events: [deviceNote()], now: T0 },
      never,
    );
    expect(result).toMatchObject({ ok: false, retryable: true, retryAfterMs: 30_000 });
  });
});
