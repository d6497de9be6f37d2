// The ntfy channel's sender: one JSON publish to the server root (`POST {server}` with `topic`
// in the body, ntfy's JSON publishing), Bearer token when set, classified by net/post-json.ts.

import { VERSION } from '../../../version.js';
import { postJson } from '../../../net/post-json.js';
import type { RenderContext } from '../../message.js';
import type { Notifier, OutgoingMessage, SendResult } from '../../notifier.js';
import { ntfySecrets, type NtfyChannelConfig } from './config.js';
import { ntfyBody } from './render.js';

export class NtfyNotifier implements Notifier {
  readonly type = 'ntfy';
  readonly channel: string;
  readonly #config: NtfyChannelConfig;
  readonly #ctx: RenderContext;
  readonly #secrets: string[];

  constructor(config: NtfyChannelConfig, ctx: RenderContext) {
    this.channel = config.name;
    this.#config = config;
    this.#ctx = ctx;
    this.#secrets = ntfySecrets(config);
  }

  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': `whatsgate-monitor/${VERSION}`,
    };
    if (this.#config.token !== null) headers['authorization'] = `Bearer ${this.#config.token}`;
    return postJson({
      url: this.#config.server,
      body: JSON.stringify(ntfyBody(message.events, this.#config.topic, this.#ctx)),
      headers,
      timeoutMs: this.#config.timeoutMs,
      signal,
      secrets: this.#secrets,
      now: message.now,
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
