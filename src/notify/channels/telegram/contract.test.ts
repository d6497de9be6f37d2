import { describe, expect, it } from 'vitest';
import { describeNotifierContract, HTTP_RECEIVER } from '../../test-support/notifier-contract.js';
import { deviceNote, UTC } from '../../test-support/fixtures.js';
import { startReceiver } from '../../test-support/http-receiver.js';
import type { TelegramChannelConfig } from './config.js';
import { telegram } from './index.js';

const TOKEN = '987654321:AAEsecret-bot-token-part_0123456789';

function config(apiUrl: string): TelegramChannelConfig {
  return { type: 'telegram', name: 'tg', botToken: TOKEN, chatId: '-100123', apiUrl, timeoutMs: 2_000 };
}

describeNotifierContract({
  type: 'telegram',
  receiver: HTTP_RECEIVER,
  build(target) {
    // The token sits in the path: an echoing receiver repeats it, the error must not.
    return { notifier: telegram.createNotifier(config(target.url), UTC), secrets: [TOKEN] };
  },
});

describe('telegram back-pressure and errors (the Bot API error body)', () => {
  const never = new AbortController().signal;

  it('429 with parameters.retry_after and no Retry-After header → retryable after that many seconds', async () => {
    const r = await startReceiver(() => ({
      status: 429,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ok: false,
        error_code: 429,
        description: 'Too Many Requests: retry after 35',
        parameters: { retry_after: 35 },
      }),
    }));
    try {
      const notifier = telegram.createNotifier(config(r.url), UTC);
      const result = await notifier.send({ deliveryId: 'd', events: [deviceNote()], now: Date.now() }, never);
      expect(result).toEqual({
        ok: false,
        retryable: true,
        retryAfterMs: 35_000,
        error: `HTTP 429 from POST ${r.url}/bot…/sendMessage: Too Many Requests: retry after 35`,
      });
    } finally {
      await r.close();
    }
  });

  it('400 → permanent with the description (and the new chat id when a group migrated), no token', async () => {
    const r = await startReceiver(() => ({
      status: 400,
      body: JSON.stringify({
        ok: false,
        error_code: 400,
        description: 'Bad Request: group chat was upgraded to a supergroup chat',
        parameters: { migrate_to_chat_id: -1009876543210 },
      }),
    }));
    try {
      const notifier = telegram.createNotifier(config(r.url), UTC);
      const result = await notifier.send({ deliveryId: 'd', events: [deviceNote()], now: Date.now() }, never);
      expect(result).toEqual({
        ok: false,
        retryable: false,
        error:
          `HTTP 400 from POST ${r.url}/bot…/sendMessage: Bad Request: group chat was upgraded to a supergroup chat ` +
          '(the group is now a supergroup: set chat_id to -1009876543210)',
      });
      expect(r.requests[0]?.path).toBe(`/bot${TOKEN}/sendMessage`);
    } finally {
      await r.close();
    }
  });
});
