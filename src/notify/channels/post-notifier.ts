// The skeleton every HTTP channel's sender shares: the channel's name, config, render context
// and secrets, an optional undici dispatcher (tests), one JSON POST classified by
// net/post-json.ts with the channel's timeout and secrets, and nothing to close. A channel
// subclasses it and says only what it sends where (`send`), and in how many calls.

import type { Dispatcher } from 'undici';
import { postJson, type PostOptions } from '../../net/post-json.js';
import { VERSION } from '../../version.js';
import type { RenderContext } from '../message.js';
import type { Notifier, OutgoingMessage, SendResult } from '../notifier.js';
import type { ChannelBase } from './definition.js';

export const USER_AGENT = `whatsgate-monitor/${VERSION}`;

/** What a JSON POST carries unless the channel sets its own headers. */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json',
  'user-agent': USER_AGENT,
};

/** One POST of a channel: where, what, and the few things that differ between channels. */
export interface ChannelPost extends Pick<PostOptions, 'url' | 'body' | 'urlShape' | 'retryAfterFromBody'> {
  /** JSON_HEADERS when absent. */
  readonly headers?: Readonly<Record<string, string>>;
}

export abstract class PostNotifier<C extends ChannelBase> implements Notifier {
  abstract readonly type: string;
  readonly channel: string;
  protected readonly config: C;
  protected readonly ctx: RenderContext;
  /** Redacted from every error the channel reports. */
  protected readonly secrets: readonly string[];
  protected readonly dispatcher: Dispatcher | undefined;

  constructor(
    config: C,
    ctx: RenderContext,
    secrets: readonly string[],
    options: { dispatcher?: Dispatcher } = {},
  ) {
    this.channel = config.name;
    this.config = config;
    this.ctx = ctx;
    this.secrets = secrets;
    this.dispatcher = options.dispatcher;
  }

  abstract send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult>;

  /** One attempt of one POST, with the channel's timeout and secrets. Never rejects. */
  protected post(request: ChannelPost, message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    return postJson({
      url: request.url,
      ...(request.urlShape === undefined ? {} : { urlShape: request.urlShape }),
      body: request.body,
      headers: request.headers ?? JSON_HEADERS,
      timeoutMs: this.config.timeoutMs,
      signal,
      secrets: this.secrets,
      now: message.now,
      ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }),
      ...(request.retryAfterFromBody === undefined ? {} : { retryAfterFromBody: request.retryAfterFromBody }),
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
