// The email channel (SPEC §8): nodemailer over SMTP, loaded on the first send.

import { defineChannel } from '../definition.js';
import { checkEmail, emailSchema, emailSecrets, resolveEmail } from './config.js';
import { EmailNotifier } from './notifier.js';

export const email = defineChannel({
  type: 'email',
  schema: emailSchema,
  check: checkEmail,
  resolve: resolveEmail,
  secrets: emailSecrets,
  createNotifier: (config, ctx) => new EmailNotifier(config, ctx),
});
