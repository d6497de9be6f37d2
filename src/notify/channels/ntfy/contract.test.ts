import { describeNotifierContract, HTTP_RECEIVER } from '../../test-support/notifier-contract.js';
import { UTC } from '../../test-support/fixtures.js';
import type { NtfyChannelConfig } from './config.js';
import { ntfy } from './index.js';

describeNotifierContract({
  type: 'ntfy',
  receiver: HTTP_RECEIVER,
  build(target) {
    const config: NtfyChannelConfig = {
      type: 'ntfy',
      name: 'push',
      server: `${target.url.replace('http://', 'http://ntfy-user:ntfy-pass-1@')}/`,
      topic: 'secret-topic-2',
      token: 'tk_access-token-3',
      timeoutMs: 2_000,
    };
    return {
      notifier: ntfy.createNotifier(config, UTC),
      secrets: ['ntfy-pass-1', 'ntfy-user:ntfy-pass-1', 'secret-topic-2', 'tk_access-token-3'],
    };
  },
});
