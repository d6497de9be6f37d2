// PagerDuty Events API v2 as documented, against a real local receiver answering 202.

import { afterEach, describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import { BERLIN, deviceNote, T0, upEvent } from '../../test-support/fixtures.js';
import { startReceiver, type Received, type Receiver } from '../../test-support/http-receiver.js';
import type { PagerdutyChannelConfig } from './config.js';
import { pagerduty } from './index.js';
import type { PagerdutyEvent } from './render.js';

const KEY = 'R0123456789abcdefghijklmnopqrstu';
const never = new AbortController().signal;
let receiver: Receiver;

afterEach(async () => {
  await receiver.close();
});

async function send(events: NotificationEvent[], answer: (n: number) => number = () => 202) {
  receiver = await startReceiver((_req, n) => ({
    status: answer(n),
    body:
      answer(n) === 202
        ? '{"status":"success","message":"Event processed","dedup_key":"x"}'
        : '{"status":"invalid event","message":"Event object is invalid","errors":["\'payload.summary\' is missing or blank"]}',
  }));
  const config: PagerdutyChannelConfig = {
    type: 'pagerduty',
    name: 'pd',
    routingKey: KEY,
    url: `${receiver.url}/v2/enqueue`,
    timeoutMs: 2_000,
  };
  const result = await pagerduty
    .createNotifier(config, BERLIN)
    .send({ deliveryId: 'd1', events, now: T0 }, never);
  return { result, requests: receiver.requests.map(enqueued) };
}

function enqueued(req: Received): PagerdutyEvent {
  expect(req.method).toBe('POST');
  expect(req.path).toBe('/v2/enqueue');
  expect(req.headers['content-type']).toBe('application/json');
  const body = JSON.parse(req.body) as PagerdutyEvent;
  expect(body.routing_key).toBe(KEY);
  expect(['trigger', 'resolve']).toContain(body.event_action);
  if (body.event_action === 'trigger') {
    expect(body.payload?.summary.length).toBeGreaterThan(0);
    expect(body.payload?.summary.length).toBeLessThanOrEqual(1024);
    expect(body.payload?.source).toBeTruthy();
    expect(['critical', 'error', 'warning', 'info']).toContain(body.payload?.severity);
  }
  return body;
}

describe('pagerduty requests (Events API v2)', () => {
  it('a DOWN triggers; its UP resolves the same dedup_key', async () => {
    const down = await send([deviceNote()]);
    expect(down.result).toEqual({ ok: true });
    expect(down.requests).toHaveLength(1);
    const trigger = down.requests[0]!;
    expect(trigger).toMatchObject({
      event_action: 'trigger',
      dedup_key: 'whatsgate/main/123456789/down',
      payload: {
        severity: 'critical',
        summary: 'DOWN: Sales phone (123456789) disconnected (WhatsGate account main)',
      },
      links: [
        { href: 'https://monitor.example.com/reconnect/123456789', text: 'Re-link Sales phone (123456789)' },
        { href: 'https://monitor.example.com/', text: 'whatsgate-monitor status page' },
      ],
    });
    await receiver.close();
    const up = await send([deviceNote({ event: upEvent() })]);
    expect(up.requests).toEqual([
      { routing_key: KEY, event_action: 'resolve', dedup_key: trigger.dedup_key },
    ]);
  });

  it('an outage of 50: fifty triggers in one send, one dedup_key per device', async () => {
    const events = Array.from({ length: 50 }, (_, i) =>
      deviceNote({ number: `4915100000${String(i).padStart(2, '0')}` }),
    );
    const { result, requests } = await send(events);
    expect(result).toEqual({ ok: true });
    expect(requests).toHaveLength(50);
    expect(new Set(requests.map((r) => r.dedup_key)).size).toBe(50);
    expect(requests.every((r) => r.event_action === 'trigger')).toBe(true);
  });

  it('a retryable failure ends the attempt at once (the outbox retries it all; dedup_key makes that safe)', async () => {
    const events = [deviceNote({ number: '1' }), deviceNote({ number: '2' }), deviceNote({ number: '3' })];
    const { result, requests } = await send(events, (n) => (n === 1 ? 503 : 202));
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(requests).toHaveLength(2);
  });

  it('a refused event does not stop the others; the attempt fails permanently with PagerDuty’s errors', async () => {
    const events = [deviceNote({ number: '1' }), deviceNote({ number: '2' })];
    const { result, requests } = await send(events, (n) => (n === 0 ? 400 : 202));
    expect(requests).toHaveLength(2);
    expect(result).toMatchObject({ ok: false, retryable: false });
    const error = (result as { error: string }).error;
    expect(error).toContain('trigger whatsgate/main/1/down: HTTP 400');
    expect(error).toContain("'payload.summary' is missing or blank");
    expect(error).not.toContain(KEY);
  });

  it('a test triggers and resolves its own key, leaving no incident open', async () => {
    const { requests } = await send([{ id: 't1', kind: 'test', at: T0, channel: 'pd' }]);
    expect(requests.map((r) => [r.event_action, r.dedup_key])).toEqual([
      ['trigger', 'whatsgate/-/-/test-t1'],
      ['resolve', 'whatsgate/-/-/test-t1'],
    ]);
    expect(requests[0]?.payload?.severity).toBe('info');
  });
});
