// The Telegram channel (SPEC §11): Bot API sendMessage in HTML, the QR code via sendPhoto. The
// audit report goes out as a summary (its first lines, the status page, the `audit` command).

import { defineChannel } from '../definition.js';
import { checkTelegram, resolveTelegram, telegramSchema, telegramSecrets } from './config.js';
import { TelegramNotifier } from './notifier.js';

export const telegram = defineChannel({
  type: 'telegram',
  schema: telegramSchema,
  check: checkTelegram,
  resolve: resolveTelegram,
  secrets: telegramSecrets,
  createNotifier: (config, ctx) => new TelegramNotifier(config, ctx),
});
