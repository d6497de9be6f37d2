// check-config for the chat channels, through the real loader: URL shapes with the key path,
// `url_file` read like every other secret, and no message that repeats the URL.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { baseTree, patched, yamlOf } from '../../config/test-support/fixtures.js';
import { ConfigError } from '../../fields/errors.js';
import { channelSecrets } from '../channels/index.js';

const SLACK = 'https://hooks.slack.com/services/T0001ABCD/B0001EFGH/abcdefghijklmnopqrstuvwx';
const TEAMS =
  'https://prod-12.westeurope.logic.azure.com:443/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=c2lnLXNlY3JldC12YWx1ZQ';
const TEAMS_PP =
  'https://default0123.45.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/0123456789abcdef/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=c2lnLXNlY3JldC12YWx1ZQ';
const DISCORD = 'https://discord.com/api/webhooks/123456789012345678/discord-token-abcdefghijklmnop';

function parse(channel: Record<string, unknown>, readFile?: (path: string) => string) {
  const text = yamlOf(patched([['notify.channels.ops', channel]], baseTree()));
  return parseConfig(text, { env: {}, ...(readFile === undefined ? {} : { readFile }) });
}

function issues(channel: Record<string, unknown>): { path: string; message: string }[] {
  try {
    parse(channel);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => ({ path: i.path, message: i.message }));
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('chat channel config', () => {
  it.each([
    ['slack', SLACK],
    ['slack', 'https://hooks.slack-gov.com/services/T1/B1/tok'],
    ['slack', 'http://127.0.0.1:8080/slack-proxy'],
    ['teams', TEAMS],
    ['teams', TEAMS_PP],
    ['teams', 'https://teams-relay.internal/hook?key=abc'],
    ['discord', DISCORD],
    ['discord', 'https://discord.com/api/v10/webhooks/123/tok?thread_id=99'],
    ['discord', 'http://localhost:3000/discord'],
  ])('%s accepts %s', (type, url) => {
    const config = parse({ type, url, timeout: '5s' });
    expect(config.notify.channels['ops']).toEqual({ type, name: 'ops', url, timeoutMs: 5_000 });
  });

  it.each([
    ['slack', 'hooks.slack.com/services/T/B/x', 'http:// or https://'],
    ['slack', 'https://hooks.slack.com/services/T0001/B0001', 'cut short'],
    ['slack', 'https://hooks.slack.com/triggers/T1/123/abc', 'Workflow Builder'],
    ['slack', 'http://hooks.slack.com/services/T1/B1/tok', 'https://'],
    ['teams', TEAMS.replace(/&sig=.*$/, ''), 'sig='],
    ['teams', 'https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456', 'retired'],
    ['teams', 'https://prod-1.westeurope.logic.azure.com/other/path?sig=x', 'Workflows URL'],
    ['discord', 'https://discord.com/api/webhooks/123456789012345678', 'cut short'],
    ['discord', 'https://discord.com/api/webhooks/abc/tok', 'digits'],
    ['discord', 'https://discord.com/channels/1/2', 'expected https://discord.com/api/webhooks'],
    ['discord', 'ftp://discord.com/api/webhooks/1/t', 'http:// or https://'],
  ])('%s rejects %s at notify.channels.ops.url, without repeating it', (type, url, fragment) => {
    const found = issues({ type, url });
    expect(found).toHaveLength(1);
    expect(found[0]?.path).toBe('notify.channels.ops.url');
    expect(found[0]?.message).toContain(fragment);
    expect(found[0]?.message).not.toContain(url);
  });

  it.each(['slack', 'teams', 'discord'])('%s: url or url_file is required, not both', (type) => {
    expect(issues({ type })).toEqual([
      { path: 'notify.channels.ops.url', message: 'required (or url_file)' },
    ]);
    expect(issues({ type, url: 'https://x.example/h', url_file: '/run/x' })).toEqual([
      { path: 'notify.channels.ops.url_file', message: 'set either url or url_file, not both' },
    ]);
    expect(issues({ type, url: 'https://x.example/h', colour: 'red' })[0]?.path).toBe(
      'notify.channels.ops.colour',
    );
  });

  it('url_file is read (trailing newline dropped) and its shape checked at url_file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgm-chat-'));
    writeFileSync(join(dir, 'slack-url'), `${SLACK}\n`);
    writeFileSync(join(dir, 'bad-url'), 'https://discord.com/api/webhooks/1\n');
    const config = parse({ type: 'slack', url_file: join(dir, 'slack-url') });
    expect(config.notify.channels['ops']).toMatchObject({ type: 'slack', url: SLACK });
    const found = (() => {
      try {
        parse({ type: 'discord', url_file: join(dir, 'bad-url') });
      } catch (err) {
        return err instanceof ConfigError ? err.issues : [];
      }
      return [];
    })();
    expect(found.map((i) => i.path)).toEqual(['notify.channels.ops.url_file']);
    expect(found[0]?.message).toContain('cut short');
  });

  it('declares the capability parts secret: the path, its tokens, the query values', () => {
    const secrets = (type: 'slack' | 'teams' | 'discord', url: string) =>
      channelSecrets({ type, name: 'ops', url, timeoutMs: 1 });
    // Every hidden path segment counts too (net/redact.ts urlSecrets): a provider may echo one.
    expect(secrets('slack', SLACK)).toEqual(
      expect.arrayContaining([
        'services/T0001ABCD/B0001EFGH/abcdefghijklmnopqrstuvwx',
        'abcdefghijklmnopqrstuvwx',
        'T0001ABCD',
        'B0001EFGH',
      ]),
    );
    expect(secrets('discord', DISCORD)).toEqual(
      expect.arrayContaining([
        'api/webhooks/123456789012345678/discord-token-abcdefghijklmnop',
        '123456789012345678',
        'discord-token-abcdefghijklmnop',
      ]),
    );
    const teams = secrets('teams', TEAMS);
    expect(teams).toContain('c2lnLXNlY3JldC12YWx1ZQ');
    expect(teams).toContain('0123456789abcdef0123456789abcdef');
  });
});
