import { describeNotifierContract, HTTP_RECEIVER } from '../../test-support/notifier-contract.js';
import { UTC, webhookChannel } from '../../test-support/fixtures.js';
import type { WebhookChannelConfig } from './config.js';
import { webhook } from './index.js';

describeNotifierContract({
  type: 'webhook',
  receiver: HTTP_RECEIVER,
  build(target) {
    // A capability URL (Zapier's shape): the path itself is the secret, and the query too.
    const url = `${target.url.replace('http://', 'http://hook-user:url-pass-1@')}/hooks/catch/81234567/capability-5x/?token=query-secret-2`;
    const config = webhookChannel('hook', url, {
      secret: 'signing-secret-3',
      secretFormat: 'raw',
      headers: { Authorization: 'Bearer header-secret-4', 'X-Team': 'sales' },
      timeoutMs: 2_000,
    }) as WebhookChannelConfig;
    return {
      notifier: webhook.createNotifier(config, UTC),
      secrets: {
        'url (password)': 'url-pass-1',
        'url (Basic credential)': 'hook-user:url-pass-1',
        'url (account id in the path)': '81234567',
        'url (hook id in the path)': 'capability-5x',
        'url (query)': 'query-secret-2',
        secret: 'signing-secret-3',
        'headers.Authorization': 'header-secret-4',
      },
    };
  },
});
