// The sender choice and the outcome classification, against a scripted account sender (the
// daemon's is the metered gateway; its budget has tests of its own, and the e2e test runs both).

import { describe, expect, it } from 'vitest';
import type { SendTextResult } from '../../../gateway/client.js';
import type { OutgoingMessage } from '../../notifier.js';
import { deviceNote, T0, UTC } from '../../test-support/fixtures.js';
import type { AccountSender, ChannelServices } from '../definition.js';
import type { WhatsappChannelConfig } from './config.js';
import { whatsapp } from './index.js';

const never = new AbortController().signal;

interface Call {
  readonly sender: string;
  readonly phone: string;
}

/** An account whose devices in `up` are UP, and whose gateway answers per sender. */
function account(
  up: readonly string[],
  answer: (sender: string, phone: string, n: number) => SendTextResult | null = () => SENT_OK,
): { services: ChannelServices; calls: Call[]; up: Set<string> } {
  const calls: Call[] = [];
  const upSet = new Set(up);
  const sender: AccountSender = {
    isUp: (device) => upSet.has(device),
    sendText: (s, phone) => {
      calls.push({ sender: s, phone });
      return Promise.resolve(answer(s, phone, calls.length));
    },
  };
  return { services: { gateways: { sender: (a) => (a === 'main' ? sender : null) } }, calls, up: upSet };
}

const SENT_OK: SendTextResult = { kind: 'sent', id: 'x' };
const refused = (message: string, httpStatus = 200): SendTextResult => ({
  kind: 'refused',
  message,
  httpStatus,
});

function config(over: Partial<WhatsappChannelConfig> = {}): WhatsappChannelConfig {
  return {
    type: 'whatsapp',
    name: 'wa',
    account: 'main',
    from: ['111', '222', '333'],
    to: ['49170'],
    timeoutMs: 2_000,
    ...over,
  };
}

const message = (deliveryId = 'd1'): OutgoingMessage => ({ deliveryId, events: [deviceNote()], now: T0 });

describe('whatsapp notifier', () => {
  it('sends from the first sender in `from` that is UP, once per recipient, the rendered text', async () => {
    const a = account(['222', '333']);
    const notifier = whatsapp.createNotifier(config({ to: ['49170', '49171'] }), UTC, a.services);
    expect(await notifier.send(message(), never)).toEqual({ ok: true });
    expect(a.calls).toEqual([
      { sender: '222', phone: '49170' },
      { sender: '222', phone: '49171' },
    ]);
    expect(notifier.sendersUp?.()).toBe(2);
  });

  it('falls over to the next sender when the gateway says the sender is not connected (and skips it after)', async () => {
    const a = account(['111', '222'], (s) =>
      s === '111' ? refused('sender device is not connected') : SENT_OK,
    );
    const notifier = whatsapp.createNotifier(config({ to: ['49170', '49171'] }), UTC, a.services);
    expect(await notifier.send(message(), never)).toEqual({ ok: true });
    expect(a.calls).toEqual([
      { sender: '111', phone: '49170' },
      { sender: '222', phone: '49170' },
      { sender: '222', phone: '49171' },
    ]);
  });

  it('with no sender UP: no call, retryable "no healthy sender device" (the message waits in the outbox)', async () => {
    const a = account([]);
    const notifier = whatsapp.createNotifier(config({ to: ['49170', '49171'] }), UTC, a.services);
    expect(await notifier.send(message(), never)).toEqual({
      ok: false,
      retryable: true,
      error: 'to 49170: no healthy sender device (from: 111, 222, 333)',
    });
    expect(a.calls).toEqual([]);
    expect(notifier.sendersUp?.()).toBe(0);
  });

  it('every UP sender out of balance or disconnected at the gateway → retryable, naming each refusal', async () => {
    const a = account(['111', '222'], (s) =>
      s === '111' ? refused('insufficient balance') : refused('sender device is not connected'),
    );
    const result = await whatsapp.createNotifier(config(), UTC, a.services).send(message(), never);
    expect(result).toEqual({
      ok: false,
      retryable: true,
      error:
        'no healthy sender device (from: 111, 222, 333); from 111: insufficient balance (HTTP 200); from 222: sender device is not connected (HTTP 200)',
    });
  });

  it('every sender invalid at the gateway (422) → permanent with the gateway’s text', async () => {
    const a = account(['111', '222', '333'], () => refused('The selected sender device is invalid.', 422));
    const result = await whatsapp.createNotifier(config(), UTC, a.services).send(message(), never);
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(result.ok ? '' : result.error).toContain(
      'from 111: The selected sender device is invalid. (HTTP 422)',
    );
    expect(a.calls).toHaveLength(3);
  });

  it('a refusal about the message itself → permanent at once, no other sender tried', async () => {
    const a = account(['111', '222'], () => refused('The phone field must be a number of digits.', 422));
    const result = await whatsapp.createNotifier(config(), UTC, a.services).send(message(), never);
    expect(result).toEqual({
      ok: false,
      retryable: false,
      error: 'from 111: The phone field must be a number of digits. (HTTP 422)',
    });
    expect(a.calls).toHaveLength(1);
  });

  it('429 → retryable after Retry-After, the attempt ends there', async () => {
    const a = account(['111', '222'], () => ({
      kind: 'probe_error',
      reason: 'rate_limited',
      message: 'HTTP 429 from POST http://gw/api/send/text: rate limited, retry after 30 s',
      retryAfterMs: 30_000,
    }));
    const notifier = whatsapp.createNotifier(config({ to: ['49170', '49171'] }), UTC, a.services);
    expect(await notifier.send(message(), never)).toMatchObject({
      ok: false,
      retryable: true,
      retryAfterMs: 30_000,
    });
    expect(a.calls).toEqual([{ sender: '111', phone: '49170' }]);
  });

  it('partial success: a retry sends only to the recipients still missing the message', async () => {
    let down = true;
    const a = account(['111'], (_s, phone) =>
      phone === '49171' && down ? { kind: 'probe_error', reason: 'timeout', message: 'no answer' } : SENT_OK,
    );
    const notifier = whatsapp.createNotifier(config({ to: ['49170', '49171', '49172'] }), UTC, a.services);
    expect(await notifier.send(message('d7'), never)).toEqual({
      ok: false,
      retryable: true,
      error: 'to 49171: from 111: timeout: no answer (sent to 1 of 3 recipients)',
    });
    down = false;
    expect(await notifier.send(message('d7'), never)).toEqual({ ok: true });
    expect(a.calls.map((c) => c.phone)).toEqual(['49170', '49171', '49171', '49172']);
    // Another delivery starts afresh.
    expect(await notifier.send(message('d8'), never)).toEqual({ ok: true });
    expect(a.calls).toHaveLength(7);
  });

  it('one recipient refused for good, another later reached: the retry ends permanent, naming the refusal', async () => {
    let timeout = true;
    const a = account(['111'], (_s, phone) => {
      if (phone === '49170') return refused('The phone field must be a number of digits.', 422);
      return timeout ? { kind: 'probe_error', reason: 'timeout', message: 'no answer' } : SENT_OK;
    });
    const notifier = whatsapp.createNotifier(config({ to: ['49170', '49171'] }), UTC, a.services);
    expect(await notifier.send(message(), never)).toMatchObject({ ok: false, retryable: true });
    timeout = false;
    expect(await notifier.send(message(), never)).toEqual({
      ok: false,
      retryable: false,
      error:
        'to 49170: from 111: The phone field must be a number of digits. (HTTP 422) (sent to 1 of 2 recipients)',
    });
    expect(a.calls.map((c) => c.phone)).toEqual(['49170', '49171', '49171']);
  });

  it('cancelled while waiting for the budget → retryable', async () => {
    const a = account(['111'], () => null);
    const result = await whatsapp.createNotifier(config(), UTC, a.services).send(message(), never);
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.ok ? '' : result.error).toContain('no slot in the API budget of account main');
  });

  it('without a gateway for the account in this process → permanent, saying so', async () => {
    const result = await whatsapp.createNotifier(config(), UTC).send(message(), never);
    expect(result).toEqual({
      ok: false,
      retryable: false,
      error:
        "no WhatsGate gateway for account main in this process (the whatsapp channel sends through the daemon's)",
    });
  });
});
