// The ntfy channel (SPEC §11): a push notification per message, priority by severity, a tap
// opens the re-link page. The audit report goes out as a summary (title, first lines).

import { defineChannel } from '../definition.js';
import { checkNtfy, ntfySchema, ntfySecrets, resolveNtfy } from './config.js';
import { NtfyNotifier } from './notifier.js';

export const ntfy = defineChannel({
  type: 'ntfy',
  schema: ntfySchema,
  check: checkNtfy,
  resolve: resolveNtfy,
  secrets: ntfySecrets,
  createNotifier: (config, ctx) => new NtfyNotifier(config, ctx),
});
