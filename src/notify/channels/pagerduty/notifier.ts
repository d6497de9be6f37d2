// The PagerDuty channel's sender: one Events API v2 call per alert effect, one after another
// (order matters per dedup_key). A retryable failure (429, 5xx, network) ends the attempt and
// the outbox retries the whole message: calls that already went through are repeated, which
// PagerDuty's dedup_key makes harmless. A permanent refusal of one event does not stop the
// others; the attempt then fails permanently with the refusals.

import type { RenderContext } from '../../message.js';
import { SENT, permanent, type OutgoingMessage, type SendResult } from '../../notifier.js';
import { PostNotifier } from '../post-notifier.js';
import { pagerdutySecrets, type PagerdutyChannelConfig } from './config.js';
import { pagerdutyEvents } from './render.js';

export class PagerdutyNotifier extends PostNotifier<PagerdutyChannelConfig> {
  readonly type = 'pagerduty';

  constructor(config: PagerdutyChannelConfig, ctx: RenderContext) {
    super(config, ctx, pagerdutySecrets(config));
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const refused: string[] = [];
    for (const event of pagerdutyEvents(message.events, this.config.routingKey, this.ctx)) {
      const result = await this.post({ url: this.config.url, body: JSON.stringify(event) }, message, signal);
      if (result.ok) continue;
      if (result.retryable) return result;
      refused.push(`${event.event_action} ${event.dedup_key}: ${result.error}`);
    }
    if (refused.length === 0) return SENT;
    const more = refused.length > 1 ? ` (and ${refused.length - 1} more refused)` : '';
    return permanent(`${refused[0]}${more}`);
  }
}
