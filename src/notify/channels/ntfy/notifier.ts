// The ntfy channel's sender: one JSON publish to the server root (`POST {server}` with `topic`
// in the body, ntfy's JSON publishing), Bearer token when set, classified by net/post-json.ts.

import type { RenderContext } from '../../message.js';
import type { OutgoingMessage, SendResult } from '../../notifier.js';
import { JSON_HEADERS, PostNotifier } from '../post-notifier.js';
import { ntfySecrets, type NtfyChannelConfig } from './config.js';
import { ntfyBody } from './render.js';

export class NtfyNotifier extends PostNotifier<NtfyChannelConfig> {
  readonly type = 'ntfy';

  constructor(config: NtfyChannelConfig, ctx: RenderContext) {
    super(config, ctx, ntfySecrets(config));
  }

  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const { server, topic, token } = this.config;
    const headers = token === null ? JSON_HEADERS : { ...JSON_HEADERS, authorization: `Bearer ${token}` };
    const body = JSON.stringify(ntfyBody(message.events, topic, this.ctx));
    return this.post({ url: server, body, headers }, message, signal);
  }
}
