import { describeNotifierContract, HTTP_RECEIVER } from '../../test-support/notifier-contract.js';
import { UTC } from '../../test-support/fixtures.js';
import type { PagerdutyChannelConfig } from './config.js';
import { pagerduty } from './index.js';

describeNotifierContract({
  type: 'pagerduty',
  receiver: HTTP_RECEIVER,
  build(target) {
    const config: PagerdutyChannelConfig = {
      type: 'pagerduty',
      name: 'pd',
      routingKey: 'Rsecretroutingkey0123456789abcde',
      url: `${target.url}/v2/enqueue`,
      timeoutMs: 2_000,
    };
    return {
      notifier: pagerduty.createNotifier(config, UTC),
      secrets: ['Rsecretroutingkey0123456789abcde'],
    };
  },
});
