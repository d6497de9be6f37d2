import { describeNotifierContract, HTTP_RECEIVER } from '../../test-support/notifier-contract.js';
import { alertmanagerChannel, UTC } from '../../test-support/fixtures.js';
import type { AlertmanagerChannelConfig } from './config.js';
import { alertmanager } from './index.js';

describeNotifierContract({
  type: 'alertmanager',
  receiver: HTTP_RECEIVER,
  build(target) {
    // Prometheus-style credentials in the URL become Basic auth.
    // Behind a path-routed proxy whose prefix is a key: hidden, while /api/v2/alerts shows.
    const url = `${target.url.replace('http://', 'http://am-user:am-pass-1@')}/proxy-key-77`;
    const config = {
      ...alertmanagerChannel('am', [url]),
      timeoutMs: 2_000,
    } as AlertmanagerChannelConfig;
    return {
      notifier: alertmanager.createNotifier(config, UTC),
      secrets: {
        'url (password)': 'am-pass-1',
        'url (Basic credential)': 'am-user:am-pass-1',
        'url (proxy key in the path)': 'proxy-key-77',
      },
    };
  },
});
