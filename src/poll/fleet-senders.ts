// The daemon's side of the channels' gateway services (notify/channels/definition.ts): a
// channel that sends through WhatsGate (whatsapp) gets the account's metered gateway — so each
// message takes a slot of the account's budget and lands in its call log like every call — and
// the account's live DOWN/UP verdicts. Pollers are looked up at each call: a reload that adds,
// replaces or removes an account is seen at once.

import type { AccountSender, ChannelServices } from '../notify/channels/definition.js';
import type { AccountPoller } from './account-poller.js';

export function fleetSenders(pollers: ReadonlyMap<string, AccountPoller>): ChannelServices {
  return {
    gateways: {
      sender(account: string): AccountSender | null {
        if (!pollers.has(account)) return null;
        return {
          isUp: (device) => pollers.get(account)?.devices.get(device)?.state.health === 'UP',
          sendText: async (sender, phone, message, options) => {
            const poller = pollers.get(account);
            if (poller === undefined) return null;
            return poller.gateway.sendText(sender, phone, message, options);
          },
        };
      },
    },
  };
}
