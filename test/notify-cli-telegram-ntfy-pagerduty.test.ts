// `test-notify --channel NAME` and `check-config` through the built binary for the telegram,
// ntfy and pagerduty channels, against one real local receiver standing in for all three
// providers (each takes its own path), with the secrets in `*_file`s.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../src/notify/test-support/http-receiver.js';
import { runCli } from './support/cli.js';

const BOT_TOKEN = '123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0';
const NTFY_TOKEN = 'tk_cli0123456789secret';
const ROUTING_KEY = 'Rcli0123456789abcdefghijklmnopqr';

let dir: string;
let provider: Receiver;
let configFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wgm-test-notify-chan2-'));
  provider = await startReceiver((req) =>
    req.path.startsWith('/refuse/')
      ? {
          status: 400,
          body: JSON.stringify({ ok: false, error_code: 400, description: 'Bad Request: chat not found' }),
        }
      : { status: req.path.startsWith('/v2/') ? 202 : 200, body: '{"ok":true}' },
  );
  writeFileSync(join(dir, 'bot'), `${BOT_TOKEN}\n`);
  writeFileSync(join(dir, 'ntfy'), `${NTFY_TOKEN}\n`);
  writeFileSync(join(dir, 'pd'), `${ROUTING_KEY}\n`);
  configFile = join(dir, 'config.yml');
  writeFileSync(
    configFile,
    `state_dir: ${dir}
accounts:
  - name: main
    base_url: http://127.0.0.1:9/api
    token: tok-123
    devices: [{ number: "123456789", name: Sales phone }]
notify:
  default: [tg]
  channels:
    tg: { type: telegram, bot_token_file: ${dir}/bot, chat_id: -100123, api_url: "${provider.url}" }
    tgbad: { type: telegram, bot_token_file: ${dir}/bot, chat_id: "@ops_alerts", api_url: "${provider.url}/refuse" }
    push: { type: ntfy, url: "${provider.url}/whatsgate-ops", token_file: ${dir}/ntfy }
    pager: { type: pagerduty, routing_key_file: ${dir}/pd, url: "${provider.url}/v2/enqueue" }
`,
  );
});

afterAll(async () => {
  await provider.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('test-notify and check-config: telegram, ntfy, pagerduty', () => {
  it('check-config validates each and shows no secret', async () => {
    const r = await runCli(['check-config', '--config', configFile]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('tg (telegram), tgbad (telegram), push (ntfy), pager (pagerduty)');
    for (const secret of [BOT_TOKEN, NTFY_TOKEN, ROUTING_KEY]) expect(r.stdout).not.toContain(secret);
  });

  it.each([
    ['tg', `/bot${BOT_TOKEN}/sendMessage`, 1],
    ['push', '/', 1],
    ['pager', '/v2/enqueue', 2],
  ])('--channel %s sends a test to %s', async (name, path, calls) => {
    const before = provider.requests.length;
    const r = await runCli(['test-notify', '--channel', name, '--config', configFile]);
    expect(r).toMatchObject({ code: 0, stdout: `${name}: sent\n`, stderr: '' });
    const made = provider.requests.slice(before);
    expect(made).toHaveLength(calls);
    expect(made.every((req) => req.path === path)).toBe(true);
  });

  it('a refusal is reported with the Bot API description, never the bot token', async () => {
    const r = await runCli(['test-notify', '--channel', 'tgbad', '--config', configFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^tgbad: failed — HTTP 400 from POST http:\/\/127\.0\.0\.1:\d+\/…\/bot…\/sendMessage: Bad Request: chat not found\n$/,
    );
    expect(r.stdout).not.toContain(BOT_TOKEN);
  });
});
