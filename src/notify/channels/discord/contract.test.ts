// The shared contract twice: with the standard receiver (429 + Retry-After), and with one that
// rate-limits as Discord does on its own — the pause only in the JSON body's `retry_after`.

import {
  describeNotifierContract,
  HTTP_RECEIVER,
  type ReceiverKit,
  type Target,
} from '../../test-support/notifier-contract.js';
import { startReceiver } from '../../test-support/http-receiver.js';
import { UTC } from '../../test-support/fixtures.js';
import { discord } from './index.js';

const TOKEN = 'discord-token-secret-abcdefghijklmnop';

function build(target: Target) {
  const url = `${target.url}/api/webhooks/123456789012345678/${TOKEN}`;
  return {
    notifier: discord.createNotifier({ type: 'discord', name: 'chat', url, timeoutMs: 2_000 }, UTC),
    secrets: [TOKEN, `api/webhooks/123456789012345678/${TOKEN}`],
  };
}

describeNotifierContract({ type: 'discord', receiver: HTTP_RECEIVER, build });

const DISCORD_BODY_RATE_LIMIT: ReceiverKit = {
  ...HTTP_RECEIVER,
  protocol: 'HTTP (Discord 429 body)',
  async start(answer, code) {
    if (answer.kind !== 'rate_limited') return HTTP_RECEIVER.start(answer, code);
    const r = await startReceiver(() => ({
      status: code,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        message: 'You are being rate limited.',
        retry_after: answer.retryAfterSeconds,
        global: false,
      }),
    }));
    const { hostname, port } = new URL(r.url);
    return {
      target: { url: r.url, host: hostname, port: Number(port) },
      received: () => r.requests.length,
      close: () => r.close(),
    };
  },
};

describeNotifierContract({ type: 'discord', receiver: DISCORD_BODY_RATE_LIMIT, build });
