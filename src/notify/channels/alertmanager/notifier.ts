// The Alertmanager channel's sender: `POST {url}/api/v2/alerts` to every member of the cluster.
//
// All members must take every alert (Alertmanager does not gossip alerts, only notification
// state), so an attempt succeeds only when every member accepted it. Retrying re-posts to the
// members that already did: harmless, Alertmanager merges identical alerts by their labels.

import { ALERTMANAGER_URL } from '../../../net/redact.js';
import type { RenderContext } from '../../message.js';
import { SENT, type OutgoingMessage, type SendResult } from '../../notifier.js';
import { PostNotifier } from '../post-notifier.js';
import { alertmanagerSecrets, type AlertmanagerChannelConfig } from './config.js';
import { alertmanagerAlerts } from './render.js';

export function alertsEndpoint(url: string): string {
  return `${url.replace(/\/+$/, '')}/api/v2/alerts`;
}

export class AlertmanagerNotifier extends PostNotifier<AlertmanagerChannelConfig> {
  readonly type = 'alertmanager';

  constructor(config: AlertmanagerChannelConfig, ctx: RenderContext) {
    super(config, ctx, alertmanagerSecrets(config));
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const alerts = alertmanagerAlerts(message.events, this.ctx, message.now);
    if (alerts.length === 0) return SENT;
    const body = JSON.stringify(alerts);
    const results = await Promise.all(
      this.config.urls.map((url) =>
        this.post({ url: alertsEndpoint(url), urlShape: ALERTMANAGER_URL, body }, message, signal),
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
}
