// The Telegram channel's config: a bot token (from @BotFather), the chat it posts to, and the
// Bot API's base URL (a local Bot API server, a proxy, or a test receiver).

import { z } from 'zod';
import { stripTrailingSlash } from '../../../fields/fields.js';
import type { Tree } from '../../../fields/raw-tree.js';
import {
  channelTimeout,
  checked,
  expecting,
  httpUrl,
  secret,
  secretFile,
} from '../../../fields/schema-kit.js';
import { urlSecrets } from '../../../net/redact.js';
import type { ChannelCheckContext, ChannelResolveContext } from '../definition.js';

export const TELEGRAM_API_URL = 'https://api.telegram.org';

/** `123456789:AAH…`: the bot's numeric id, a colon, then its secret part. */
const BOT_TOKEN = /^\d+:[A-Za-z0-9_-]{20,}$/;
/** A numeric chat id (groups and channels are negative), or a public channel's `@username`. */
const CHAT_ID = /^(?:-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$/;

const CHAT_ID_HINT = 'an integer chat id (e.g. -1001234567890) or a public channel such as "@ops_alerts"';

export function chatIdProblem(value: string): string | null {
  return CHAT_ID.test(value.trim()) ? null : `expected ${CHAT_ID_HINT}`;
}

export const telegramSchema = z.strictObject({
  type: z.literal('telegram'),
  bot_token: secret().optional().describe('from @BotFather: 123456789:AA…; or bot_token_file'),
  bot_token_file: secretFile().optional(),
  chat_id: z.union(
    [z.int().min(-999_999_999_999_999).max(999_999_999_999_999), checked(z.string(), chatIdProblem)],
    { error: expecting(CHAT_ID_HINT) },
  ),
  api_url: httpUrl()
    .optional()
    .meta({ default: TELEGRAM_API_URL })
    .describe('the Bot API server (a local telegram-bot-api server or a proxy)'),
  timeout: channelTimeout(),
});

export interface TelegramChannelConfig {
  readonly type: 'telegram';
  readonly name: string;
  /** Sits in every request's path (`/bot<token>/sendMessage`): a secret there too. */
  readonly botToken: string;
  readonly chatId: string;
  /** Without trailing slash. */
  readonly apiUrl: string;
  readonly timeoutMs: number;
}

export function checkTelegram(channel: Tree, at: ChannelCheckContext): void {
  const token = at.readSecret('bot_token', { required: true });
  if (token !== undefined && !BOT_TOKEN.test(token)) {
    // Never echo the value: it is the bot's password.
    at.issues.add(
      [...at.path, channel['bot_token'] === undefined ? 'bot_token_file' : 'bot_token'],
      'not a bot token: expected the form 123456789:AA… that @BotFather gives',
    );
  }
}

export function resolveTelegram(
  raw: z.output<typeof telegramSchema>,
  at: ChannelResolveContext,
): TelegramChannelConfig {
  const botToken = at.secret('bot_token');
  if (botToken === null) throw new Error('invariant: bot_token was checked to be set');
  return {
    type: 'telegram',
    name: at.name,
    botToken,
    chatId: String(raw.chat_id).trim(),
    apiUrl: stripTrailingSlash(raw.api_url ?? TELEGRAM_API_URL),
    timeoutMs: at.timeoutMs(raw.timeout),
  };
}

/** The bot token (and its secret half alone, should an error quote just that), the URL's password. */
export function telegramSecrets(config: Pick<TelegramChannelConfig, 'botToken' | 'apiUrl'>): string[] {
  const half = config.botToken.slice(config.botToken.indexOf(':') + 1);
  return [config.botToken, ...(half === config.botToken ? [] : [half]), ...urlSecrets(config.apiUrl)];
}
