// The Alertmanager channel's sender: `POST {url}/api/v2/alerts` to every member of the cluster.
//
// All members must take every alert (Alertmanager does not gossip alerts, only notification
// state), so an attempt succeeds only when every member accepted it. Retrying re-posts to the
// members that already did: harmless, Alertmanager merges identical alerts by their labels.

import { VERSION } from '../../../version.js';
import { postJson } from '../../../net/post-json.js';
import { ALERTMANAGER_URL } from '../../../net/redact.js';
import type { RenderContext } from '../../message.js';
import { SENT, type Notifier, type OutgoingMessage, type SendResult } from '../../notifier.js';
import { alertmanagerSecrets, type AlertmanagerChannelConfig } from './config.js';
import { alertmanagerAlerts } from './render.js';

export function alertsEndpoint(url: string): string {
  return `${url.replace(/\/+$/, '')}/api/v2/alerts`;
}

export class AlertmanagerNotifier implements Notifier {
  readonly type = 'alertmanager';
  readonly channel: string;
  readonly #config: AlertmanagerChannelConfig;
  readonly #ctx: RenderContext;
  readonly #secrets: string[];

  constructor(config: AlertmanagerChannelConfig, ctx: RenderContext) {
    this.channel = config.name;
    this.#config = config;
    this.#ctx = ctx;
    this.#secrets = alertmanagerSecrets(config);
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const alerts = alertmanagerAlerts(message.events, this.#ctx, message.now);
    if (alerts.length === 0) return SENT;
    const body = JSON.stringify(alerts);
    const results = await Promise.all(
      this.#config.urls.map((url) =>
        postJson({
          url: alertsEndpoint(url),
          urlShape: ALERTMANAGER_URL,
          body,
          headers: { 'content-type': 'application/json', 'user-agent': `whatsgate-monitor/${VERSION}` },
          timeoutMs: this.#config.timeoutMs,
          signal,
          secrets: this.#secrets,
          now: message.now,
        }),
      ),
    );
    const failures = results.flatMap((r) => (r.ok ? [] : [r]));
    if (failures.length === 0) return SENT;
    const error = failures.map((f) => f.error).join('; ');
    const retry = failures.some((f) => f.retryable);
    const after = Math.max(0, ...failures.map((f) => f.retryAfterMs ?? 0));
    return retry
      ? { ok: false, retryable: true, error, ...(after > 0 ? { retryAfterMs: after } : {}) }
      : { ok: false, retryable: false, error };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
