import { describeNotifierContract, HTTP_RECEIVER } from '../../test-support/notifier-contract.js';
import { UTC } from '../../test-support/fixtures.js';
import { slack } from './index.js';

describeNotifierContract({
  type: 'slack',
  receiver: HTTP_RECEIVER,
  build(target) {
    const url = `${target.url}/services/T0001ABCD/B0001EFGH/slack-token-abcdefghijkl`;
    return {
      notifier: slack.createNotifier({ type: 'slack', name: 'chat', url, timeoutMs: 2_000 }, UTC),
      secrets: ['slack-token-abcdefghijkl', 'services/T0001ABCD/B0001EFGH/slack-token-abcdefghijkl'],
    };
  },
});
