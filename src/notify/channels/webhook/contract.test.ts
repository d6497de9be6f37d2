import { describeNotifierContract, HTTP_RECEIVER } from '../../test-support/notifier-contract.js';
import { UTC, webhookChannel } from '../../test-support/fixtures.js';
import type { WebhookChannelConfig } from './config.js';
import { webhook } from './index.js';

describeNotifierContract({
  type: 'webhook',
  receiver: HTTP_RECEIVER,
  build(target) {
    const url = `${target.url.replace('http://', 'http://hook-user:url-pass-1@')}/hook?token=query-secret-2`;
    const config = webhookChannel('hook', url, {
      secret: 'signing-secret-3',
      headers: { Authorization: 'Bearer header-secret-4', 'X-Team': 'sales' },
      timeoutMs: 2_000,
    }) as WebhookChannelConfig;
    return {
      notifier: webhook.createNotifier(config, UTC),
      secrets: [
        'url-pass-1',
        'hook-user:url-pass-1',
        'query-secret-2',
        'signing-secret-3',
        'header-secret-4',
      ],
    };
  },
});
