// The CLI's side of the channels' gateway services (notify/channels/definition.ts), for commands
// that send directly rather than through the daemon's outbox (`test-notify`): a channel that
// sends through WhatsGate (whatsapp) gets a one-off client of the account, each call paced and
// logged by the CLI's share of the account's budget (api-budget.ts, the call log a running
// daemon reads too), and "UP" as the daemon last stored it. A device with no stored row (the
// daemon never checked it) is presumed UP, as the state machine presumes it; the gateway still
// refuses a sender that is not connected, and the next one is tried.

import type { Config } from '../config/types.js';
import type { GatewayClient } from '../gateway/client.js';
import { gatewayClientFor } from '../gateway/for-account.js';
import type { AccountSender, ChannelServices } from '../notify/channels/definition.js';
import { dbPathIn } from '../store/location.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { openCliCallBudget, type CliCallBudget } from './api-budget.js';

export interface CliSenders {
  readonly services: ChannelServices;
  /** Closes the clients and databases opened on demand. */
  close(): Promise<void>;
}

export function cliSenders(config: Config, tell: (line: string) => void): CliSenders {
  const opened = new Map<string, { client: GatewayClient; budget: CliCallBudget; close(): void }>();
  let rows: Store | null | undefined;
  const storedRows = (): Store | null => {
    if (rows !== undefined) return rows;
    try {
      rows = openSqliteStore(dbPathIn(config.stateDir), { readonly: true });
    } catch {
      rows = null;
    }
    return rows;
  };
  const open = (account: string): { client: GatewayClient; budget: CliCallBudget } | null => {
    const existing = opened.get(account);
    if (existing !== undefined) return existing;
    const a = config.accounts.find((x) => x.name === account);
    if (a === undefined) return null;
    const calls = openCliCallBudget(config, account, tell);
    const entry = {
      client: gatewayClientFor(a, { connections: 1 }),
      budget: calls.budget,
      close: () => calls.close(),
    };
    opened.set(account, entry);
    return entry;
  };
  const services: ChannelServices = {
    gateways: {
      sender(account): AccountSender | null {
        if (!config.accounts.some((a) => a.name === account)) return null;
        return {
          isUp: (device) => {
            try {
              return (storedRows()?.getDevice(account, device)?.health ?? 'UP') === 'UP';
            } catch {
              return true;
            }
          },
          sendText: async (sender, phone, message, options) => {
            const entry = open(account);
            if (entry === null || options.signal.aborted) return null;
            await entry.budget.reserve('out_of_band');
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
        entry.close();
        await entry.client.close();
      }
      opened.clear();
      rows?.close();
    },
  };
}
