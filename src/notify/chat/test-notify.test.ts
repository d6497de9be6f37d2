// `test-notify --channel NAME` for each chat channel, in process, through the real config
// loader and the channel registry, against a local receiver (url_file for one of them).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testNotifyCommand } from '../../commands/test-notify.js';
import { startReceiver, type Receiver } from '../test-support/http-receiver.js';

const SLACK_PATH = '/services/T0001ABCD/B0001EFGH/abcdefghijklmnopqrstuvwx';
const TEAMS_PATH =
  '/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke?api-version=1&sig=sig-secret-value-1';
const DISCORD_PATH = '/api/webhooks/123456789012345678/discord-token-abcdefghijklmnop';

let hooks: Receiver;
let configFile: string;

beforeAll(async () => {
  hooks = await startReceiver((req) =>
    req.path.startsWith('/api/') ? { status: 204 } : { status: 200, body: 'ok' },
  );
  const dir = mkdtempSync(join(tmpdir(), 'wgm-chat-notify-'));
  writeFileSync(join(dir, 'discord-url'), `${hooks.url}${DISCORD_PATH}\n`);
  configFile = join(dir, 'config.yml');
  writeFileSync(
    configFile,
    `state_dir: ${dir}
timezone: Europe/Berlin
public_url: https://monitor.example.com
accounts:
  - name: main
    base_url: http://127.0.0.1:9/api
    token: tok-123
    devices: [{ number: "123456789", name: Sales phone }]
notify:
  channels:
    s: { type: slack, url: "${hooks.url}${SLACK_PATH}" }
    t: { type: teams, url: "${hooks.url}${TEAMS_PATH}" }
    d: { type: discord, url_file: discord-url }
`,
  );
});

afterAll(async () => {
  await hooks.close();
});

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await testNotifyCommand()(args, {
    stdout: (t) => (out += t),
    stderr: (t) => (out += t),
    env: {},
    stdin: Readable.from([]),
  });
  return { code, out };
}

describe('test-notify --channel for the chat channels', () => {
  it.each([
    ['s', SLACK_PATH, (body: Record<string, unknown>) => expect(body['blocks']).toBeInstanceOf(Array)],
    ['t', TEAMS_PATH, (body: Record<string, unknown>) => expect(body['type']).toBe('message')],
    ['d', DISCORD_PATH, (body: Record<string, unknown>) => expect(body['embeds']).toHaveLength(1)],
  ])('%s: sent, one POST to its path saying which channel it tests', async (name, path, shape) => {
    const before = hooks.requests.length;
    const { code, out } = await run(['test-notify', '--config', configFile, '--channel', name].slice(1));
    expect(out).toBe(`${name}: sent\n`);
    expect(code).toBe(0);
    expect(hooks.requests.length - before).toBe(1);
    const req = hooks.requests.at(-1)!;
    expect(req.path).toBe(path);
    shape(JSON.parse(req.body) as Record<string, unknown>);
    expect(req.body).toContain(`channel ${name}`);
  });
});
