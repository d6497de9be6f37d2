// `whatsgate-monitor test-notify` through the built binary, against a real webhook listener
// and a real SMTP server in this process.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../src/notify/test-support/http-receiver.js';
import { startSmtp, type SmtpSink } from '../src/notify/test-support/smtp.js';
import { runCli } from './support/cli.js';

const HOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SMTP_PASSWORD = 'smtp-pa55-word';

let dir: string;
let hooks: Receiver;
let smtp: SmtpSink;
let configFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wgm-test-notify-'));
  hooks = await startReceiver((req) =>
    req.path === '/bad' ? { status: 500, body: 'upstream down' } : { status: 204 },
  );
  smtp = await startSmtp({
    authOptional: false,
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.password === SMTP_PASSWORD) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
  });
  configFile = join(dir, 'config.yml');
  writeFileSync(
    configFile,
    `state_dir: ${dir}
timezone: Europe/Berlin
accounts:
  - name: main
    base_url: http://127.0.0.1:9/api
    token: tok-123
    devices: [{ number: "123456789", name: Sales phone }]
notify:
  default: [ops]
  channels:
    ops: { type: webhook, url: "${hooks.url}/ok", secret: "${HOOK_SECRET}" }
    sales: { type: webhook, url: "${hooks.url.replace('http://', 'http://bob:url-pa55@')}/bad" }
    mail: { type: email, smtp: "smtp://mon:\${SMTP_PASSWORD}@127.0.0.1:${smtp.port}", from: monitor@example.com, to: ops@example.com }
    badmail: { type: email, host: 127.0.0.1, port: ${smtp.port}, user: mon, password: wrong-pa55-word, from: monitor@example.com, to: ops@example.com }
`,
  );
});

afterAll(async () => {
  await hooks.close();
  await smtp.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = { SMTP_PASSWORD };

describe('test-notify', () => {
  it('sends a test event through every channel and reports each; exit 1 when any failed', async () => {
    const before = hooks.requests.length;
    const result = await runCli(['test-notify', '--config', configFile], { env });
    expect(result.stderr).toBe('');
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('ops: sent');
    // The webhook path is a capability: the host shows, the path does not.
    expect(lines[1]).toMatch(/^sales: failed — HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/…: upstream down$/);
    expect(lines[2]).toBe('mail: sent');
    expect(lines[3]).toMatch(/^badmail: failed — SMTP smtp:\/\/127\.0\.0\.1:\d+: .*535/);
    expect(lines).toHaveLength(4);
    expect(result.code).toBe(1);
    for (const secret of [HOOK_SECRET, SMTP_PASSWORD, 'wrong-pa55-word', 'url-pa55', 'tok-123']) {
      expect(result.stdout).not.toContain(secret);
    }
    expect(hooks.requests.length - before).toBe(2);
  });

  it('--channel NAME sends through that one only; exit 0 when it worked', async () => {
    const before = hooks.requests.length;
    const result = await runCli(['test-notify', '--channel', 'ops', '--config', configFile], { env });
    expect(result).toMatchObject({ code: 0, stdout: 'ops: sent\n', stderr: '' });
    expect(hooks.requests.length - before).toBe(1);
    const req = hooks.requests.at(-1)!;
    expect(req.headers['x-whatsgate-event']).toBe('test');
    // Signed like every delivery; a receiver can verify the test too.
    const body = new Webhook(HOOK_SECRET).verify(req.body, req.headers as Record<string, string>);
    expect(body).toMatchObject({ version: '1', events: [{ type: 'test', account: null, device: null }] });
  });

  it('an email test arrives as a TEST message naming the channel', async () => {
    const before = smtp.mails.length;
    const result = await runCli(['test-notify', '--channel', 'mail', '--config', configFile], { env });
    expect(result.code).toBe(0);
    const mail = await smtp.mail(before + 1);
    expect(mail.subject).toBe('[whatsgate] TEST: test message for channel mail');
    expect(mail.text).toContain('Times are in Europe/Berlin.');
  });

  it('an unknown channel is bad usage (exit 2), listing the configured ones', async () => {
    const result = await runCli(['test-notify', '--channel', 'nope', '--config', configFile], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown channel "nope" (configured: ops, sales, mail, badmail)');
  });
});
