// The Telegram channel's sender: the fresh QR codes as photos (multipart sendPhoto), then the
// text (sendMessage, HTML). An attempt succeeds only when every call did; the first failure
// ends it and the outbox retries the whole message (photos whose QR code has meanwhile gone
// stale are not sent again — render.ts).

import type { Dispatcher } from 'undici';
import type { RenderContext } from '../../message.js';
import { SENT, type OutgoingMessage, type SendResult } from '../../notifier.js';
import { PostNotifier } from '../post-notifier.js';
import { callBot } from './api.js';
import { telegramSecrets, type TelegramChannelConfig } from './config.js';
import { multipart } from './multipart.js';
import { telegramPhotos, telegramText } from './render.js';

export class TelegramNotifier extends PostNotifier<TelegramChannelConfig> {
  readonly type = 'telegram';

  constructor(config: TelegramChannelConfig, ctx: RenderContext, options: { dispatcher?: Dispatcher } = {}) {
    super(config, ctx, telegramSecrets(config), options);
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const photos = telegramPhotos(message.events, this.ctx, message.now);
    for (const photo of photos) {
      const form = multipart(
        { chat_id: this.config.chatId, caption: photo.caption, parse_mode: 'HTML' },
        { photo: { filename: photo.filename, contentType: 'image/png', data: photo.png } },
      );
      const result = await this.#call('sendPhoto', form.body, form.contentType, message, signal);
      if (!result.ok) return result;
    }
    const text = telegramText(message.events, this.ctx, new Set(photos.map((p) => p.eventId)));
    const body = JSON.stringify({
      chat_id: this.config.chatId,
      text,
      parse_mode: 'HTML',
      // The first for Bot API servers before 7.0, the second its current form.
      disable_web_page_preview: true,
      link_preview_options: { is_disabled: true },
    });
    const result = await this.#call('sendMessage', body, 'application/json', message, signal);
    return result.ok ? SENT : result;
  }

  #call(
    method: 'sendMessage' | 'sendPhoto',
    body: string | Buffer,
    contentType: string,
    message: OutgoingMessage,
    signal: AbortSignal,
  ): Promise<SendResult> {
    return callBot({
      apiUrl: this.config.apiUrl,
      botToken: this.config.botToken,
      method,
      body,
      contentType,
      timeoutMs: this.config.timeoutMs,
      signal,
      secrets: this.secrets,
      now: message.now,
      ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }),
    });
  }
}
