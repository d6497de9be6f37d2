import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator } from '../src/simulator/server.js';
import { startReceiver, type Received } from '../src/notify/test-support/http-receiver.js';
import { startSmtp } from '../src/notify/test-support/smtp.js';
import {
  expectNoSecretLeaks,
  findSecretLeaks,
  type LeakSource,
} from '../src/test-support/no-secret-leaks.js';
import { DaemonProcess, tempDir, writeConfig, type LogLine } from './support/daemon.js';

// Issue 11 item 10, end to end: the real daemon, configured with a gateway token, an SMTP
// password, a webhook signing secret and a capability-URL webhook (a secret path, an
// Authorization header; the config refuses queries in channel URLs today). A device drops; the SMTP server refuses the login echoing the AUTH
// line (plain and base64), the webhook receiver answers 500 echoing the whole request. Then no
// secret, in any form, is in the daemon's logs, its database files (every table, outbox
// last_error included, the WAL too), /metrics, /api/v1, the status page, or the payloads sent.

const SECRETS = {
  'accounts[0].token': `gw-token-${randomBytes(12).toString('hex')}`,
  'notify.channels.ops.password': `smtp-pw-${randomBytes(9).toString('base64url')}`,
  'notify.channels.hook.secret': `whsec_${randomBytes(24).toString('base64')}`,
  'notify.channels.hook.url (path)': `cap-${randomBytes(9).toString('base64url')}`,
  'notify.channels.hook.headers.Authorization': `hdr-${randomBytes(9).toString('hex')}`,
} as const;
const S = SECRETS;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function echoOf(req: Received): string {
  return `${req.method} ${req.path} ${JSON.stringify(req.headers)} ${req.body}`;
}

function databaseDump(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as { name: string }[];
    return tables
      .map((t) => `${t.name}: ${JSON.stringify(db.prepare(`SELECT * FROM "${t.name}"`).all())}`)
      .join('\n');
  } finally {
    db.close();
  }
}

function stateFiles(dir: string, when: string): LeakSource[] {
  return readdirSync(dir).map((name) => ({
    name: `${name} (${when})`,
    content: readFileSync(join(dir, name)),
  }));
}

describe('no secret leaks, end to end', () => {
  it('keeps every configured secret out of logs, the database, metrics, pages and payloads', async () => {
    const dir = tempDir('wgm-leaks-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const target = '491650001';
    const sim = await startSimulator({
      devices: 2,
      first: '491650000',
      token: S['accounts[0].token'],
      rateLimitPerMinute: 0,
    });
    cleanups.push(() => sim.close());
    const echoes: string[] = [];
    const hook = await startReceiver((req) => {
      const echo = echoOf(req);
      echoes.push(echo);
      return { status: 500, body: echo };
    });
    cleanups.push(() => hook.close());
    const logins: string[] = [];
    const smtp = await startSmtp({
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        const user = auth.username ?? '';
        const pass = auth.password ?? '';
        const b64 = (t: string): string => Buffer.from(t, 'utf8').toString('base64');
        const echo = `${user}:${pass} ${b64(`\0${user}\0${pass}`)} ${b64(user)} ${b64(pass)}`;
        logins.push(echo);
        callback(Object.assign(new Error(`5.7.8 Authentication failed: ${echo}`), { responseCode: 535 }));
      },
    });
    cleanups.push(() => smtp.close());

    const hookUrl = `${hook.url}/hooks/catch/81234567/${S['notify.channels.hook.url (path)']}/`;
    const stateDir = join(dir, 'state');
    const configPath = writeConfig(
      dir,
      `state_dir: ${stateDir}
listen: 127.0.0.1:0
schedule: "* * * * * *"
log_level: debug
defaults: { interval: 1s, timeout: 2s, failure_threshold: 1, repeat_interval: 0 }
accounts:
  - name: main
    base_url: ${sim.baseUrl}
    token: \${WG_TOKEN}
    rate_limit: 6000/min
    devices:
      - { number: "491650000", name: First phone }
      - { number: "${target}", name: Sales phone }
notify:
  # Not a grouping test: every message goes out at once.
  group_wait: 0s
  group_interval: 0s
  default: [ops, hook]
  channels:
    ops:
      type: email
      host: 127.0.0.1
      port: ${smtp.port}
      secure: false
      user: monitor@example.com
      password: \${SMTP_PASSWORD}
      from: monitor@example.com
      to: ops@example.com
      timeout: 5s
    hook:
      type: webhook
      url: "${hookUrl}"
      secret: "${S['notify.channels.hook.secret']}"
      headers: { Authorization: "Bearer ${S['notify.channels.hook.headers.Authorization']}" }
      timeout: 5s
`,
    );

    const p = DaemonProcess.start(configPath, {
      WG_TOKEN: S['accounts[0].token'],
      SMTP_PASSWORD: S['notify.channels.ops.password'],
    });
    cleanups.push(async () => {
      if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
      await p.exited;
    });
    const url = await p.url();
    await p.waitFor((l) => l.msg === 'checked' && l['device'] === target, 'a first check');
    sim.setStatus(target, 'disconnected');
    const failedOn = (channel: string) => (l: LogLine) =>
      l['channel'] === channel && /^notification (failed|dropped)/.test(String(l.msg));
    await p.waitFor(failedOn('hook'), 'the webhook refusing (500)');
    await p.waitFor(failedOn('ops'), 'the SMTP login refused (535)');

    // The receivers did echo the secrets back: a redaction that failed would show.
    const hookSecrets = {
      path: S['notify.channels.hook.url (path)'],
      authorization: S['notify.channels.hook.headers.Authorization'],
    };
    const echoed = findSecretLeaks(hookSecrets, [{ name: 'echo', content: echoes.join('\n') }]);
    expect(new Set(echoed.map((l) => l.secret))).toEqual(new Set(Object.keys(hookSecrets)));
    expect(
      findSecretLeaks({ password: S['notify.channels.ops.password'] }, [
        { name: 'login', content: logins.join('\n') },
      ]).length,
    ).toBeGreaterThan(1);

    const get = async (path: string): Promise<LeakSource> => {
      const res = await fetch(`${url}${path}`);
      expect(res.status, path).toBe(200);
      return { name: `GET ${path}`, content: await res.text() };
    };
    const served = [
      await get('/metrics'),
      await get('/api/v1/devices'),
      await get(`/api/v1/devices/${target}/history`),
      await get('/'),
    ];
    const dbFile = join(stateDir, 'monitor.db');
    const outbox = new Database(dbFile, { readonly: true, fileMustExist: true });
    const errors = outbox
      .prepare('SELECT channel, last_error FROM outbox WHERE last_error IS NOT NULL ORDER BY channel')
      .all() as { channel: string; last_error: string }[];
    outbox.close();
    expect(errors.map((e) => e.channel)).toEqual(['hook', 'ops']);
    // The errors still say what happened, with the host but not the capability path.
    expect(errors[0]!.last_error).toMatch(/^HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/…: POST \/\[redacted\]/);
    expect(errors[1]!.last_error).toContain('535');
    const whileRunning = [
      ...stateFiles(stateDir, 'running'),
      { name: 'tables', content: databaseDump(dbFile) },
    ];

    p.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    const log = p.lines.map((l) => JSON.stringify(l)).join('\n');
    expect(log).toContain('notification failed; will retry');

    expectNoSecretLeaks(SECRETS, [
      { name: 'the daemon log', content: log },
      { name: 'the daemon stderr', content: p.stderr.join('') },
      ...whileRunning,
      ...stateFiles(stateDir, 'stopped'),
      ...served,
      ...hook.requests.map((r, i) => ({ name: `webhook payload ${i + 1}`, content: r.body })),
    ]);
  });
});
