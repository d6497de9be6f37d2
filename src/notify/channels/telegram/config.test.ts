import { describe, expect, it } from 'vitest';
import { channelProblems, loadChannel } from '../../../config/test-support/channel-config.js';

const TOKEN = '123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0';

const load = (channel: Record<string, unknown>, files: Record<string, string> = {}) =>
  loadChannel('tg', channel, files);
const problems = (channel: Record<string, unknown>) => channelProblems('tg', channel, {});

describe('telegram config', () => {
  it('resolves with defaults; chat_id an integer or @channel; the token from a file', () => {
    expect(
      load({ type: 'telegram', bot_token: TOKEN, chat_id: -1001234567890 }).notify.channels['tg'],
    ).toEqual({
      type: 'telegram',
      name: 'tg',
      botToken: TOKEN,
      chatId: '-1001234567890',
      apiUrl: 'https://api.telegram.org',
      timeoutMs: 10_000,
    });
    const fromFile = load(
      {
        type: 'telegram',
        bot_token_file: '/run/creds/tg',
        chat_id: '@ops_alerts',
        api_url: 'http://127.0.0.1:8081/',
        timeout: '3s',
      },
      { '/run/creds/tg': `${TOKEN}\n` },
    ).notify.channels['tg'];
    expect(fromFile).toMatchObject({
      botToken: TOKEN,
      chatId: '@ops_alerts',
      apiUrl: 'http://127.0.0.1:8081',
      timeoutMs: 3_000,
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no token', { chat_id: 1 }, 'notify.channels.tg.bot_token: required (or bot_token_file)'],
    [
      'a malformed token',
      { bot_token: 'AAHfiqks-secret-part-xyz123', chat_id: 1 },
      'notify.channels.tg.bot_token: not a bot token',
    ],
    ['no chat', { bot_token: TOKEN }, 'notify.channels.tg.chat_id'],
    ['a chat that is neither', { bot_token: TOKEN, chat_id: 'ops alerts' }, 'expected an integer chat id'],
    [
      'a non-http api_url',
      { bot_token: TOKEN, chat_id: 1, api_url: 'ftp://x' },
      'notify.channels.tg.api_url',
    ],
    ['an unknown key', { bot_token: TOKEN, chat_id: 1, token: 'x' }, 'notify.channels.tg.token'],
  ])('%s is an error at its key, never quoting the token', (_name, over, message) => {
    const text = problems({ type: 'telegram', ...over });
    expect(text).toContain(message);
    expect(text).not.toContain('secret-part');
    expect(text).not.toContain(TOKEN);
  });
});
