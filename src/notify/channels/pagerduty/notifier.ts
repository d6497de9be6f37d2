// The PagerDuty channel's sender: one Events API v2 call per alert effect, one after another
// (order matters per dedup_key). A retryable failure (429, 5xx, network) ends the attempt and
// the outbox retries the whole message: calls that already went through are repeated, which
// PagerDuty's dedup_key makes harmless. A permanent refusal of one event does not stop the
// others; the attempt then fails permanently with the refusals.

import { VERSION } from '../../../version.js';
import { postJson } from '../../../net/post-json.js';
import type { RenderContext } from '../../message.js';
import { SENT, permanent, type Notifier, type OutgoingMessage, type SendResult } from '../../notifier.js';
import { pagerdutySecrets, type PagerdutyChannelConfig } from './config.js';
import { pagerdutyEvents } from './render.js';

export class PagerdutyNotifier implements Notifier {
  readonly type = 'pagerduty';
  readonly channel: string;
  readonly #config: PagerdutyChannelConfig;
  readonly #ctx: RenderContext;
  readonly #secrets: string[];

  constructor(config: PagerdutyChannelConfig, ctx: RenderContext) {
    this.channel = config.name;
    this.#config = config;
    this.#ctx = ctx;
    this.#secrets = pagerdutySecrets(config);
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const refused: string[] = [];
    for (const event of pagerdutyEvents(message.events, this.#config.routingKey, this.#ctx)) {
      const result = await postJson({
        url: this.#config.url,
        body: JSON.stringify(event),
        headers: { 'content-type': 'application/json', 'user-agent': `whatsgate-monitor/${VERSION}` },
        timeoutMs: this.#config.timeoutMs,
        signal,
        secrets: this.#secrets,
        now: message.now,
      });
      if (result.ok) continue;
      if (result.retryable) return result;
      refused.push(`${event.event_action} ${event.dedup_key}: ${result.error}`);
    }
    if (refused.length === 0) return SENT;
    const more = refused.length > 1 ? ` (and ${refused.length - 1} more refused)` : '';
    return permanent(`${refused[0]}${more}`);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
