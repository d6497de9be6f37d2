// The whatsapp channel (SPEC §11): alerts as WhatsApp messages through WhatsGate itself, sent by
// the first healthy device of `from` and paid from that account's API budget. It needs the
// running process's gateway of that account (ChannelServices): the daemon's, or the one
// `test-notify` builds. The audit report goes out as its summary.

import { defineChannel } from '../definition.js';
import { checkWhatsapp, resolveWhatsapp, whatsappSchema, whatsappSecrets } from './config.js';
import { WhatsappNotifier } from './notifier.js';

export const whatsapp = defineChannel({
  type: 'whatsapp',
  schema: whatsappSchema,
  check: checkWhatsapp,
  resolve: resolveWhatsapp,
  secrets: whatsappSecrets,
  createNotifier: (config, ctx, services) => new WhatsappNotifier(config, ctx, services),
});
