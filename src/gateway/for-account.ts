// The one place a WhatsGate client is built from an account's config: the daemon, `connect`,
// `delete` and `status --live` all ask here.

import type { AccountConfig } from '../config/types.js';
import { VERSION } from '../version.js';
import { createGatewayClient, type GatewayClient } from './client.js';

export function gatewayClientFor(account: AccountConfig): GatewayClient {
  return createGatewayClient({
    baseUrl: account.baseUrl,
    token: account.token,
    timeoutMs: account.policy.timeoutMs,
    userAgent: `whatsgate-monitor/${VERSION}`,
  });
}

/** Whether a client built for `a` serves `b` unchanged (a reload keeps it, else builds a new one). */
export function sameConnection(a: AccountConfig, b: AccountConfig): boolean {
  return a.baseUrl === b.baseUrl && a.token === b.token && a.policy.timeoutMs === b.policy.timeoutMs;
}
