// ntfy's JSON publishing as documented (POST to the server root, `topic` in the body), against a
// real local receiver.

import { afterEach, describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import { BERLIN, deviceNote, T0, upEvent } from '../../test-support/fixtures.js';
import { startReceiver, type Received, type Receiver } from '../../test-support/http-receiver.js';
import type { NtfyChannelConfig } from './config.js';
import { ntfy } from './index.js';
import { MESSAGE_LIMIT_BYTES, type NtfyBody } from './render.js';

const never = new AbortController().signal;
let receiver: Receiver;

afterEach(async () => {
  await receiver.close();
});

async function send(events: NotificationEvent[], token: string | null = 'tk_0123456789abcdef') {
  receiver = await startReceiver(() => ({ status: 200, body: '{"id":"x"}' }));
  const config: NtfyChannelConfig = {
    type: 'ntfy',
    name: 'push',
    server: `${receiver.url}/ntfy/`,
    topic: 'whatsgate-ops',
    token,
    timeoutMs: 2_000,
  };
  const result = await ntfy.createNotifier(config, BERLIN).send({ deliveryId: 'd1', events, now: T0 }, never);
  expect(result).toEqual({ ok: true });
  expect(receiver.requests).toHaveLength(1);
  return receiver.requests[0]!;
}

function published(req: Received): NtfyBody {
  expect(req.method).toBe('POST');
  expect(req.path).toBe('/ntfy/');
  expect(req.headers['content-type']).toBe('application/json');
  const body = JSON.parse(req.body) as NtfyBody;
  expect(body.topic).toBe('whatsgate-ops');
  expect(typeof body.title).toBe('string');
  expect(typeof body.message).toBe('string');
  expect([1, 2, 3, 4, 5]).toContain(body.priority);
  return body;
}

describe('ntfy requests (JSON publishing)', () => {
  it('a DOWN: urgent, tagged, a tap and a "Re-link" action open the re-link page; Bearer token', async () => {
    const req = await send([deviceNote()]);
    expect(req.headers['authorization']).toBe('Bearer tk_0123456789abcdef');
    const body = published(req);
    expect(body).toMatchObject({
      title: 'DOWN: Sales phone (123456789) disconnected',
      priority: 5,
      tags: ['rotating_light', 'whatsgate'],
      click: 'https://monitor.example.com/reconnect/123456789',
      actions: [
        { action: 'view', label: 'Re-link', url: 'https://monitor.example.com/reconnect/123456789' },
        { action: 'view', label: 'Status page', url: 'https://monitor.example.com/' },
      ],
    });
  });

  it('without a token no Authorization header', async () => {
    const req = await send([deviceNote()], null);
    expect(req.headers['authorization']).toBeUndefined();
  });

  it('an outage of 50: one notification within 4096 bytes, cut with "…and N more"', async () => {
    const events = Array.from({ length: 50 }, (_, i) =>
      deviceNote({
        number: `4915100000${String(i).padStart(2, '0')}`,
        name: `Phone ${String(i).padStart(2, '0')}`,
      }),
    );
    const body = published(await send(events));
    expect(body.title).toBe('DOWN: 50 devices');
    expect(Buffer.byteLength(body.message)).toBeLessThanOrEqual(MESSAGE_LIMIT_BYTES);
    const listed = body.message.match(/^DOWN Phone/gm)?.length ?? 0;
    expect(listed).toBeGreaterThan(5);
    expect(listed).toBeLessThan(50);
    expect(body.message).toContain(`…and ${50 - listed} more — see https://monitor.example.com/`);
    expect(body.click).toBe('https://monitor.example.com/reconnect/491510000000');
  });

  it('an UP is low priority and opens the status page; a test is default priority', async () => {
    const up = published(await send([deviceNote({ event: upEvent() })]));
    expect(up).toMatchObject({
      priority: 2,
      tags: ['white_check_mark', 'whatsgate'],
      click: 'https://monitor.example.com/',
    });
    expect(up.actions).toEqual([
      { action: 'view', label: 'Status page', url: 'https://monitor.example.com/' },
    ]);
    await receiver.close();
    const test = published(await send([{ id: 't', kind: 'test', at: T0, channel: 'push' }]));
    expect(test).toMatchObject({ title: 'TEST: test message for channel push', priority: 3 });
  });
});
