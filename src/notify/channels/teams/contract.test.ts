import { describeNotifierContract, HTTP_RECEIVER } from '../../test-support/notifier-contract.js';
import { UTC } from '../../test-support/fixtures.js';
import { teams } from './index.js';

describeNotifierContract({
  type: 'teams',
  receiver: HTTP_RECEIVER,
  build(target) {
    const url =
      `${target.url}/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke` +
      '?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=teams-sig-secret-123';
    return {
      notifier: teams.createNotifier({ type: 'teams', name: 'chat', url, timeoutMs: 2_000 }, UTC),
      secrets: ['teams-sig-secret-123', '0123456789abcdef0123456789abcdef'],
    };
  },
});
