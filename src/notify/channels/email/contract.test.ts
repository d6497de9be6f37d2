import { describeNotifierContract, SMTP_RECEIVER } from '../../test-support/notifier-contract.js';
import { emailChannel, UTC } from '../../test-support/fixtures.js';
import type { EmailChannelConfig } from './config.js';
import { email } from './index.js';

describeNotifierContract({
  type: 'email',
  receiver: SMTP_RECEIVER,
  build(target) {
    const config = emailChannel('ops', target.port, {
      smtp: {
        url: null,
        host: target.host,
        port: target.port,
        secure: false,
        user: 'monitor@example.com',
        password: 'smtp-pass-1',
      },
      timeoutMs: 2_000,
    }) as EmailChannelConfig;
    return { notifier: email.createNotifier(config, UTC), secrets: { password: 'smtp-pass-1' } };
  },
});
