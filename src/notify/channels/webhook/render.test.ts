import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import { signingKey, webhookBody, webhookRequest, webhookSignature } from './render.js';
import {
  accountNote,
  BERLIN,
  deviceNote,
  QR_DATA_URL,
  T0,
  upEvent,
  UTC,
} from '../../test-support/fixtures.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('webhookBody', () => {
  it('is exactly the JSON of SPEC §8: a confirmed drop reads connected → disconnected', () => {
    const body = webhookBody([deviceNote({ labels: { team: 'sales' } })], BERLIN, T0 + 5_000);
    expect(JSON.parse(body)).toStrictEqual({
      version: '1',
      sent_at: '2026-11-24T18:30:05+01:00',
      events: [
        {
          id: 'ev-123456789',
          type: 'device.down',
          occurred_at: '2026-11-24T18:30:00+01:00',
          account: 'main',
          device: { number: '123456789', name: 'Sales phone', labels: { team: 'sales' } },
          status: 'disconnected',
          previous_status: 'connected',
          since: '2026-11-24T18:29:00+01:00',
        },
      ],
      summary: { headline: 'DOWN: Sales phone (123456789) disconnected', outages: [] },
    });
  });

  it('a released group adds its outage counts to `summary`; `events` keep their fields', () => {
    const outage = { down: 12, total: 40, likelyGatewaySide: true };
    const body = JSON.parse(
      webhookBody(
        [deviceNote({ number: '1', name: 'A', outage }), deviceNote({ number: '2', name: 'B', outage })],
        UTC,
        T0,
      ),
    ) as { events: Record<string, unknown>[]; summary: unknown };
    expect(body.summary).toStrictEqual({
      headline: 'DOWN: 2 devices (A, B) — 12 of 40 of account main',
      outages: [{ account: 'main', devices_down: 12, devices_total: 40, likely_gateway_side: true }],
    });
    expect(Object.keys(body.events[0]!).sort()).toEqual(
      ['account', 'device', 'id', 'occurred_at', 'previous_status', 'since', 'status', 'type'].sort(),
    );
  });

  it('carries the QR code as a data URL when there is one', () => {
    const body = JSON.parse(webhookBody([deviceNote({ qrCode: QR_DATA_URL })], UTC, T0)) as {
      events: { qr_code?: string }[];
    };
    expect(body.events[0]?.qr_code).toBe(QR_DATA_URL);
  });

  it('account events have no device; status reads unreachable/reachable', () => {
    const body = JSON.parse(
      webhookBody(
        [accountNote(), accountNote({ id: 'r', event: { type: 'account.recovered', at: T0 + 60_000 } })],
        UTC,
        T0,
      ),
    ) as { events: unknown[] };
    expect(body.events).toStrictEqual([
      {
        id: 'ev-account-main',
        type: 'account.unreachable',
        occurred_at: '2026-11-24T17:30:00+00:00',
        account: 'main',
        device: null,
        status: 'unreachable',
        previous_status: 'reachable',
        since: '2026-11-24T17:28:00+00:00',
      },
      {
        id: 'r',
        type: 'account.recovered',
        occurred_at: '2026-11-24T17:31:00+00:00',
        account: 'main',
        device: null,
        status: 'reachable',
        previous_status: 'unreachable',
        since: '2026-11-24T17:31:00+00:00',
      },
    ]);
  });

  it('a test event has the same keys, with nulls', () => {
    const test: NotificationEvent = { id: 't1', kind: 'test', at: T0, channel: 'sales' };
    expect(JSON.parse(webhookBody([test], UTC, T0))).toStrictEqual({
      version: '1',
      sent_at: '2026-11-24T17:30:00+00:00',
      events: [
        {
          id: 't1',
          type: 'test',
          occurred_at: '2026-11-24T17:30:00+00:00',
          account: null,
          device: null,
          status: null,
          previous_status: null,
          since: null,
        },
      ],
      summary: { headline: 'TEST: test message for channel sales', outages: [] },
    });
  });

  it('lists events worst first, like the email', () => {
    const body = JSON.parse(
      webhookBody([deviceNote({ number: '1', event: upEvent() }), deviceNote({ number: '2' })], UTC, T0),
    ) as { events: { type: string }[] };
    expect(body.events.map((e) => e.type)).toEqual(['device.down', 'device.up']);
  });
});

describe('Standard Webhooks signing', () => {
  it('matches the specification’s test vector', () => {
    expect(
      webhookSignature(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        'whsec',
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it.each<[string, string, 'whsec' | 'raw', Buffer]>([
    [
      'whsec_ secret: the key is the base64 after the prefix',
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'whsec',
      Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'),
    ],
    ['secret_format: raw: its UTF-8 bytes', 'höök-secret', 'raw', Buffer.from('höök-secret', 'utf8')],
    [
      'secret_format: raw takes a whsec_-looking text as it is too',
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'raw',
      Buffer.from('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'utf8'),
    ],
  ])('%s', (_name, secret, format, key) => {
    expect(signingKey(secret, format).equals(key)).toBe(true);
  });

  it('a whsec secret without the prefix never signs (the config refuses it)', () => {
    expect(() => signingKey('plain text', 'whsec')).toThrow(/invariant/);
  });

  it('headers: webhook-id is the delivery id, timestamp in seconds, the first event type; verifiable', () => {
    vi.useFakeTimers({ now: T0 + 2_000 });
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const { body, headers } = webhookRequest(
      {
        deliveryId: 'dlv-1',
        events: [deviceNote({ number: '1', event: upEvent() }), deviceNote({ number: '2' })],
        sentAt: T0 + 1_500,
        secret,
        secretFormat: 'whsec',
        headers: { 'X-Team': 'sales' },
      },
      UTC,
    );
    expect(headers).toMatchObject({
      'Content-Type': 'application/json',
      'X-Whatsgate-Event': 'device.down',
      'webhook-id': 'dlv-1',
      'webhook-timestamp': String(Math.floor((T0 + 1_500) / 1000)),
      'X-Team': 'sales',
    });
    // By the library receivers use…
    expect(new Webhook(secret).verify(body, headers)).toMatchObject({ version: '1' });
    // …and by hand.
    const mac = createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
      .update(`dlv-1.${headers['webhook-timestamp']}.${body}`)
      .digest('base64');
    expect(headers['webhook-signature']).toBe(`v1,${mac}`);
  });

  it('secret_format: raw signs with the UTF-8 bytes: the library verifies it as a raw key, not by default', () => {
    vi.useFakeTimers({ now: T0 });
    const { body, headers } = webhookRequest(
      {
        deliveryId: 'd',
        events: [deviceNote()],
        sentAt: T0,
        secret: 'plain text secret',
        secretFormat: 'raw',
        headers: {},
      },
      UTC,
    );
    expect(
      new Webhook(new TextEncoder().encode('plain text secret'), { format: 'raw' }).verify(body, headers),
    ).toBeTruthy();
    // Why plain text needs the explicit setting: the library's default reads the text as base64.
    expect(() => new Webhook('plain text secret').verify(body, headers)).toThrow();
  });

  it('without a secret: no signature header, the rest as usual', () => {
    const { headers } = webhookRequest(
      {
        deliveryId: 'd',
        events: [deviceNote()],
        sentAt: T0,
        secret: null,
        secretFormat: 'whsec',
        headers: {},
      },
      UTC,
    );
    expect(headers['webhook-signature']).toBeUndefined();
    expect(headers['webhook-id']).toBe('d');
  });

  it('configured headers cannot replace the signature headers', () => {
    const { headers } = webhookRequest(
      {
        deliveryId: 'real',
        events: [deviceNote()],
        sentAt: T0,
        secret: 's3cret-key',
        secretFormat: 'raw',
        headers: { 'Webhook-Id': 'forged', 'Content-Type': 'text/plain', 'X-Whatsgate-Event': 'x' },
      },
      UTC,
    );
    expect(headers['webhook-id']).toBe('real');
    expect(headers['Content-Type']).toBe('application/json');
    expect(headers['X-Whatsgate-Event']).toBe('device.down');
    expect(Object.keys(headers).filter((k) => k.toLowerCase() === 'content-type')).toEqual(['Content-Type']);
    expect(Object.keys(headers).filter((k) => k.toLowerCase() === 'webhook-id')).toEqual(['webhook-id']);
  });
});
