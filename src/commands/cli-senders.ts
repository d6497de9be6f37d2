// The CLI's side of the channels' gateway services (notify/channels/definition.ts), for commands
// that send directly rather than through the daemon's outbox (`test-notify`, `audit --send`): a
// channel that sends through WhatsGate (whatsapp) gets a one-off client of the account, each call
// paced and logged by the CLI's share of the account's budget (api-budget.ts, the call log a
// running daemon reads too), and "UP" as the daemon last stored it — read once, when the senders
// are opened (a channel asks synchronously). A device with no stored row (the daemon never
// checked it) is presumed UP, as the state machine presumes it; the gateway still refuses a
// sender that is not connected, and the next one is tried.

import type { Config } from '../config/types.js';
import type { GatewayClient } from '../gateway/client.js';
import { gatewayClientFor } from '../gateway/for-account.js';
import type { Health } from '../monitor/model.js';
import type { AccountSender, ChannelServices } from '../notify/channels/definition.js';
import { openCliCallBudget, type CliCallBudget, type OpenedCliCallBudget } from './api-budget.js';
import { connectStore } from './store-access.js';

export interface CliSenders {
  readonly services: ChannelServices;
  /** Closes the clients and databases opened on demand. */
  close(): Promise<void>;
}

/** Each stored device's health, keyed `account\0device`; empty without a readable database. */
async function storedHealth(config: Config): Promise<ReadonlyMap<string, Health>> {
  try {
    const store = await connectStore(config, 'read');
    try {
      return new Map((await store.getDevices()).map((r) => [`${r.account}\0${r.device}`, r.health]));
    } finally {
      await store.close();
    }
  } catch {
    return new Map();
  }
}

/** The senders of `config`'s accounts, with the devices' health as the daemon stored it now. */
export async function openCliSenders(config: Config, tell: (line: string) => void): Promise<CliSenders> {
  const health = await storedHealth(config);
  const opened = new Map<string, { client: GatewayClient; calls: Promise<OpenedCliCallBudget> }>();
  const open = (account: string): { client: GatewayClient; budget: Promise<CliCallBudget> } | null => {
    let entry = opened.get(account);
    if (entry === undefined) {
      const a = config.accounts.find((x) => x.name === account);
      if (a === undefined) return null;
      entry = {
        client: gatewayClientFor(a),
        calls: openCliCallBudget(config, account, tell),
      };
      opened.set(account, entry);
    }
    return { client: entry.client, budget: entry.calls.then((c) => c.budget) };
  };
  const services: ChannelServices = {
    gateways: {
      sender(account): AccountSender | null {
        if (!config.accounts.some((a) => a.name === account)) return null;
        return {
          isUp: (device) => (health.get(`${account}\0${device}`) ?? 'UP') === 'UP',
          sendText: async (sender, phone, message, options) => {
            const entry = open(account);
            if (entry === null || options.signal.aborted) return null;
            await (await entry.budget).reserve('out_of_band');
            return entry.client.sendText(sender, phone, message, options);
          },
        };
      },
    },
  };
  return {
    services,
    async close() {
      for (const entry of opened.values()) {
        await (await entry.calls).close();
        await entry.client.close();
      }
      opened.clear();
    },
  };
}
