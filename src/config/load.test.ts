import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../fields/errors.js';
import { collectGarbage } from '../runtime/heap.js';
import { loadConfig, MAX_CONFIG_BYTES, parseConfig, type ParseOptions } from './load.js';
import { DEFAULT_POLICY } from './defaults.js';
import { rawConfigSchema } from './schema.js';
import { baseTree, patched, yamlOf, type Patch } from './test-support/fixtures.js';
import type { Config, EmailChannelConfig, WebhookChannelConfig } from './types.js';

const HASH = '$2y$10$abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234';

function parse(text: string, options: Partial<ParseOptions> = {}): Config {
  return parseConfig(text, { env: {}, ...options });
}

function issuesOf(text: string, options: Partial<ParseOptions> = {}): ConfigError['issues'] {
  try {
    parse(text, options);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'wgm-config-'));
}

const webhook = (extra: Record<string, unknown>) => ({
  type: 'webhook',
  url: 'https://hooks.example.com/x',
  ...extra,
});
const email = (extra: Record<string, unknown>) => ({
  type: 'email',
  from: 'mon@example.com',
  to: 'ops@example.com',
  ...extra,
});
const window = (extra: Record<string, unknown>) => ({
  devices: 'all',
  schedule: '0 2 * * *',
  duration: '30m',
  ...extra,
});
const secondAccount = { name: 'main', base_url: 'http://127.0.0.1:8080/api', token: 't', devices: [] };

describe('parseConfig rejects, naming the key path', () => {
  // [what, patches, path, message fragment]
  const cases: [string, Patch[], string, string][] = [
    // top level
    ['unknown top-level key', [['colour', 'blue']], 'colour', 'unknown key'],
    ['empty state_dir', [['state_dir', '']], 'state_dir', 'must not be empty'],
    ['listen without port', [['listen', 'localhost']], 'listen', 'expected host:port'],
    ['listen with bare IPv6', [['listen', '::1:8749']], 'listen', 'brackets'],
    ['listen port out of range', [['listen', '127.0.0.1:70000']], 'listen', 'between 0 and 65535'],
    ['unknown time zone', [['timezone', 'Mars/Base']], 'timezone', 'unknown time zone'],
    ['bad schedule', [['schedule', '* * *']], 'schedule', 'invalid cron expression'],
    ['public_url not http', [['public_url', 'ftp://x']], 'public_url', 'http:// or https://'],
    ['unknown log level', [['log_level', 'verbose']], 'log_level', 'expected one of trace, debug'],
    ['retention without unit', [['retention', '90']], 'retention', 'needs a unit'],
    ['accounts missing', [['accounts', undefined]], 'accounts', 'required'],
    ['accounts empty', [['accounts', []]], 'accounts', 'at least 1'],
    ['accounts not a list', [['accounts', { main: 1 }]], 'accounts', 'expected a list'],
    // policy keys, on each level
    ['bad interval', [['defaults.interval', '1x']], 'defaults.interval', 'expected a duration'],
    ['zero interval', [['defaults.interval', '0s']], 'defaults.interval', 'longer than 0'],
    ['number timeout', [['defaults.timeout', 10]], 'defaults.timeout', 'expected a duration'],
    ['failure_threshold 0', [['defaults.failure_threshold', 0]], 'defaults.failure_threshold', 'at least 1'],
    [
      'fractional success_threshold',
      [['defaults.success_threshold', 1.5]],
      'defaults.success_threshold',
      'integer',
    ],
    [
      'negative repeat_interval',
      [['defaults.repeat_interval', '-1h']],
      'defaults.repeat_interval',
      'duration',
    ],
    [
      'send_resolved yes',
      [['defaults.send_resolved', 'yes']],
      'defaults.send_resolved',
      'expected true or false',
    ],
    ['flap_threshold 1', [['defaults.flap_threshold', 1]], 'defaults.flap_threshold', 'at least 2'],
    ['zero flap_window', [['defaults.flap_window', '0']], 'defaults.flap_window', 'longer than 0'],
    ['unknown reconnect', [['defaults.reconnect', 'auto']], 'defaults.reconnect', 'link, qr, off'],
    ['typo in defaults', [['defaults.intervall', '1m']], 'defaults.intervall', 'did you mean interval?'],
    ['bad account interval', [['accounts.0.interval', 'soon']], 'accounts[0].interval', 'duration'],
    [
      'bad device reconnect',
      [['accounts.0.devices.0.reconnect', 'x']],
      'accounts[0].devices[0].reconnect',
      'one of',
    ],
    // accounts
    ['account without name', [['accounts.0.name', undefined]], 'accounts[0].name', 'required'],
    ['empty account name', [['accounts.0.name', '']], 'accounts[0].name', 'must not be empty'],
    [
      'duplicate account name',
      [['accounts.1', secondAccount]],
      'accounts[1].name',
      'duplicate account name "main"',
    ],
    [
      'subdomain with dots',
      [['accounts.0.subdomain', 'acme.example']],
      'accounts[0].subdomain',
      'subdomain only',
    ],
    ['subdomain and base_url', [['accounts.0.base_url', 'http://x/api']], 'accounts[0].base_url', 'not both'],
    [
      'neither subdomain nor base_url',
      [['accounts.0.subdomain', undefined]],
      'accounts[0].subdomain',
      'required (or base_url)',
    ],
    [
      'base_url not http',
      [
        ['accounts.0.subdomain', undefined],
        ['accounts.0.base_url', 'ftp://x/api'],
      ],
      'accounts[0].base_url',
      'http:// or https://',
    ],
    [
      'base_url with a query',
      [
        ['accounts.0.subdomain', undefined],
        ['accounts.0.base_url', 'http://x/api?a=1'],
      ],
      'accounts[0].base_url',
      'query string',
    ],
    ['token missing', [['accounts.0.token', undefined]], 'accounts[0].token', 'required (or token_file)'],
    ['token and token_file', [['accounts.0.token_file', '/t']], 'accounts[0].token_file', 'not both'],
    ['empty token', [['accounts.0.token', '']], 'accounts[0].token', 'must not be empty'],
    ['numeric token', [['accounts.0.token', 123]], 'accounts[0].token', 'expected a string'],
    ['concurrency 0', [['accounts.0.concurrency', 0]], 'accounts[0].concurrency', 'at least 1'],
    ['rate without unit', [['accounts.0.rate_limit', '30']], 'accounts[0].rate_limit', 'expected a rate'],
    ['zero rate', [['accounts.0.rate_limit', '0/min']], 'accounts[0].rate_limit', 'expected a rate'],
    ['rate per day', [['accounts.0.rate_limit', '30/day']], 'accounts[0].rate_limit', 'expected a rate'],
    [
      'rate below 1/min',
      [['accounts.0.rate_limit', '1/h']],
      'accounts[0].rate_limit',
      'whole number of calls per minute',
    ],
    [
      'fractional rate',
      [['accounts.0.rate_limit', '90/h']],
      'accounts[0].rate_limit',
      'whole number of calls per minute',
    ],
    ['devices missing', [['accounts.0.devices', undefined]], 'accounts[0].devices', 'required'],
    ['devices not a list', [['accounts.0.devices', 'x']], 'accounts[0].devices', 'expected a list'],
    // devices
    [
      'device without number',
      [['accounts.0.devices.0.number', undefined]],
      'accounts[0].devices[0].number',
      'required',
    ],
    [
      'letters in number',
      [['accounts.0.devices.0.number', '12ab']],
      'accounts[0].devices[0].number',
      'not a device number',
    ],
    [
      'parentheses in number',
      [['accounts.0.devices.0.number', '+49 (151) 1']],
      'accounts[0].devices[0].number',
      'digits only',
    ],
    [
      '16-digit number',
      [['accounts.0.devices.0.number', '1234567890123456']],
      'accounts[0].devices[0].number',
      'at most 15',
    ],
    [
      'duplicate number after normalising',
      [['accounts.0.devices.1.number', '+49 151 1111111']],
      'accounts[0].devices[1].number',
      'duplicate device 491511111111 (also devices[0])',
    ],
    [
      'misspelt key',
      [['accounts.0.devices.0.numbr', '1']],
      'accounts[0].devices[0].numbr',
      'unknown key (did you mean number?)',
    ],
    [
      'empty device name',
      [['accounts.0.devices.0.name', '']],
      'accounts[0].devices[0].name',
      'must not be empty',
    ],
    [
      'label starting with a digit',
      [['accounts.0.devices.0.labels', { '1x': 'a' }]],
      'accounts[0].devices[0].labels["1x"]',
      'label name',
    ],
    [
      'label with a dash',
      [['accounts.0.devices.0.labels', { 'my-team': 'a' }]],
      'accounts[0].devices[0].labels.my-team',
      'label name',
    ],
    [
      'label "name"',
      [['accounts.0.devices.0.labels', { name: 'a' }]],
      'accounts[0].devices[0].labels.name',
      'reserved',
    ],
    [
      'label "account"',
      [['accounts.0.devices.0.labels', { account: 'a' }]],
      'accounts[0].devices[0].labels.account',
      'reserved',
    ],
    [
      'label "device"',
      [['accounts.0.devices.0.labels', { device: 'a' }]],
      'accounts[0].devices[0].labels.device',
      'reserved',
    ],
    [
      'label starting with __',
      [['accounts.0.devices.0.labels', { __x: 'a' }]],
      'accounts[0].devices[0].labels.__x',
      'reserved by Prometheus',
    ],
    [
      'mapping as label value',
      [['accounts.0.devices.0.labels', { team: { a: 1 } }]],
      'accounts[0].devices[0].labels.team',
      'string, number or boolean',
    ],
    [
      'unknown device channel',
      [['accounts.0.devices.0.channels', ['ghost']]],
      'accounts[0].devices[0].channels[0]',
      'unknown channel "ghost" (configured: ops)',
    ],
    // notify
    [
      'unknown default channel',
      [['notify.default', ['ops', 'ghost']]],
      'notify.default[1]',
      'unknown channel "ghost"',
    ],
    [
      'unknown route channel',
      [['notify.routes', [{ match: { team: 'a' }, channels: ['ghost'] }]]],
      'notify.routes[0].channels[0]',
      'unknown channel',
    ],
    [
      'route without match',
      [['notify.routes', [{ channels: ['ops'] }]]],
      'notify.routes[0].match',
      'required',
    ],
    [
      'route without channels',
      [['notify.routes', [{ match: {}, channels: [] }]]],
      'notify.routes[0].channels',
      'at least 1',
    ],
    [
      'channel name with a space',
      [['notify.channels', { 'ops team': webhook({}) }]],
      'notify.channels["ops team"]',
      'channel names',
    ],
    [
      'channel without type',
      [['notify.channels.ops', { url: 'https://x' }]],
      'notify.channels.ops.type',
      'type is required',
    ],
    [
      'unknown channel type',
      [['notify.channels.ops', { type: 'sms' }]],
      'notify.channels.ops.type',
      'email, webhook, alertmanager',
    ],
    [
      'channel key of another type',
      [['notify.channels.ops.to', 'a@b.c']],
      'notify.channels.ops.to',
      'unknown key',
    ],
    [
      'email smtp and host',
      [['notify.channels.ops', email({ smtp: 'smtp://m:25', host: 'm' })]],
      'notify.channels.ops.host',
      'not allowed together with smtp',
    ],
    [
      'email neither smtp nor host',
      [['notify.channels.ops', email({})]],
      'notify.channels.ops.smtp',
      'required (or host)',
    ],
    [
      'email smtp not smtp://',
      [['notify.channels.ops', email({ smtp: 'http://m' })]],
      'notify.channels.ops.smtp',
      'smtp:// or smtps://',
    ],
    [
      'email from not an address',
      [['notify.channels.ops', email({ host: 'm', from: 'nobody' })]],
      'notify.channels.ops.from',
      'email address',
    ],
    [
      'email to empty',
      [['notify.channels.ops', email({ host: 'm', to: [] })]],
      'notify.channels.ops.to',
      'at least 1',
    ],
    [
      'email to not an address',
      [['notify.channels.ops', email({ host: 'm', to: ['x'] })]],
      'notify.channels.ops.to[0]',
      'email address',
    ],
    [
      'email user without password',
      [['notify.channels.ops', email({ host: 'm', user: 'u' })]],
      'notify.channels.ops.password',
      'required with user',
    ],
    [
      'email password without user',
      [['notify.channels.ops', email({ host: 'm', password: 'p' })]],
      'notify.channels.ops.user',
      'required with a password',
    ],
    [
      'email port out of range',
      [['notify.channels.ops', email({ host: 'm', port: 70000 })]],
      'notify.channels.ops.port',
      'at most 65535',
    ],
    ['webhook without url', [['notify.channels.ops.url', undefined]], 'notify.channels.ops.url', 'required'],
    [
      'webhook url not a URL',
      [['notify.channels.ops.url', 'nope']],
      'notify.channels.ops.url',
      'http:// or https://',
    ],
    [
      'webhook secret and secret_file',
      [['notify.channels.ops', webhook({ secret: 's', secret_file: '/s' })]],
      'notify.channels.ops.secret_file',
      'not both',
    ],
    [
      'webhook whsec_ not base64',
      [['notify.channels.ops', webhook({ secret: 'whsec_!!' })]],
      'notify.channels.ops.secret',
      'base64',
    ],
    [
      'webhook secret as plain text',
      [['notify.channels.ops', webhook({ secret: 'any text at all' })]],
      'notify.channels.ops.secret',
      'not a Standard Webhooks secret: expected whsec_ followed by base64 (make one with `whatsgate-monitor webhook-secret`, or set secret_format: raw',
    ],
    [
      'webhook whsec_ shorter than 24 bytes',
      [['notify.channels.ops', webhook({ secret: `whsec_${Buffer.alloc(23, 7).toString('base64')}` })]],
      'notify.channels.ops.secret',
      'at least 24 bytes, this one has 23',
    ],
    [
      'webhook secret_format without a secret',
      [['notify.channels.ops', webhook({ secret_format: 'raw' })]],
      'notify.channels.ops.secret_format',
      'only with secret or secret_file',
    ],
    [
      'webhook secret_format unknown',
      [
        [
          'notify.channels.ops',
          webhook({ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', secret_format: 'base64' }),
        ],
      ],
      'notify.channels.ops.secret_format',
      'whsec or raw',
    ],
    [
      'webhook bad header name',
      [['notify.channels.ops', webhook({ headers: { 'Bad Header': 'x' } })]],
      'notify.channels.ops.headers["Bad Header"]',
      'header name',
    ],
    [
      'webhook signature header',
      [['notify.channels.ops', webhook({ headers: { 'webhook-id': 'x' } })]],
      'notify.channels.ops.headers.webhook-id',
      'set by the monitor',
    ],
    [
      'webhook header with newline',
      [['notify.channels.ops', webhook({ headers: { 'X-A': 'a\nb' } })]],
      'notify.channels.ops.headers.X-A',
      'line breaks',
    ],
    [
      'webhook zero timeout',
      [['notify.channels.ops', webhook({ timeout: '0s' })]],
      'notify.channels.ops.timeout',
      'longer than 0',
    ],
    [
      'alertmanager without url',
      [['notify.channels.ops', { type: 'alertmanager' }]],
      'notify.channels.ops.url',
      'required',
    ],
    [
      'alertmanager empty url list',
      [['notify.channels.ops', { type: 'alertmanager', url: [] }]],
      'notify.channels.ops.url',
      'at least 1',
    ],
    [
      'alertmanager bad member',
      [['notify.channels.ops', { type: 'alertmanager', url: ['http://a', 'ftp://b'] }]],
      'notify.channels.ops.url[1]',
      'http://',
    ],
    ['notify typo', [['notify.route', []]], 'notify.route', 'did you mean routes?'],
    // audit
    ['bad audit schedule', [['audit.schedule', 'weekly']], 'audit.schedule', 'invalid cron expression'],
    ['unknown audit channel', [['audit.channels', ['ghost']]], 'audit.channels[0]', 'unknown channel'],
    ['bad stale_after', [['audit.stale_after', '2 weeks']], 'audit.stale_after', 'duration'],
    ['unknown audit key', [['audit.send', true]], 'audit.send', 'unknown key'],
    // maintenance
    [
      'maintenance devices neither all nor list',
      [['maintenance', [window({ devices: 'some' })]]],
      'maintenance[0].devices',
      'all, or a list',
    ],
    [
      'maintenance device not configured',
      [['maintenance', [window({ devices: ['491511111111', '999'] })]]],
      'maintenance[0].devices[1]',
      '999 is not a configured device',
    ],
    [
      'maintenance device not a number',
      [['maintenance', [window({ devices: ['abc'] })]]],
      'maintenance[0].devices[0]',
      'not a device number',
    ],
    [
      'maintenance without schedule',
      [['maintenance', [window({ schedule: undefined })]]],
      'maintenance[0].schedule',
      'required',
    ],
    [
      'maintenance zero duration',
      [['maintenance', [window({ duration: 0 })]]],
      'maintenance[0].duration',
      'longer than 0',
    ],
    // web
    [
      'plain password as hash',
      [['web.basic_auth', { user: 'ops', password_hash: 'secret' }]],
      'web.basic_auth.password_hash',
      'bcrypt',
    ],
    [
      'bcrypt cost out of range',
      [['web.basic_auth', { user: 'ops', password_hash: HASH.replace('$10$', '$99$') }]],
      'web.basic_auth.password_hash',
      'cost',
    ],
    [
      'basic auth without user',
      [['web.basic_auth', { password_hash: HASH }]],
      'web.basic_auth.user',
      'required',
    ],
    ['unknown web key', [['web.tls', {}]], 'web.tls', 'unknown key'],
    // ${VAR}
    [
      'unset variable',
      [['accounts.0.token', '${NOPE}']],
      'accounts[0].token',
      'environment variable NOPE is not set',
    ],
    [
      'malformed reference',
      [['defaults.interval', '${BAD']],
      'defaults.interval',
      'malformed ${...} reference',
    ],
    ['unknown variable name syntax', [['public_url', 'https://${1X}/']], 'public_url', 'malformed'],
  ];

  it.each(cases)('%s', (_what, patches, path, message) => {
    const issues = issuesOf(yamlOf(patched(patches)));
    const paths = issues.map((i) => i.path);
    expect(paths).toContain(path);
    expect(issues.find((i) => i.path === path)?.message).toContain(message);
  });

  it('reports the error once when a ${VAR} is unset, not again for its placeholder', () => {
    const issues = issuesOf(yamlOf(patched([['defaults.interval', '${INTERVAL}']])));
    expect(issues).toEqual([
      {
        path: 'defaults.interval',
        message: 'environment variable INTERVAL is not set',
        line: expect.any(Number),
      },
    ]);
  });
});

describe('parseConfig reports all errors at once', () => {
  it('yields one issue per problem, with the line of each', () => {
    const text = [
      'accounts:',
      '  - name: main',
      '    subdomain: acme',
      '    token: t',
      '    devices:',
      '      - number: "12ab"',
      '      - numbr: "123"',
      'timezone: Nowhere/Else',
    ].join('\n');
    const issues = issuesOf(text);
    expect(issues).toEqual([
      {
        path: 'accounts[0].devices[0].number',
        message: expect.stringContaining('not a device number'),
        line: 6,
      },
      { path: 'accounts[0].devices[1].number', message: 'required', line: 7 },
      { path: 'accounts[0].devices[1].numbr', message: 'unknown key (did you mean number?)', line: 7 },
      { path: 'timezone', message: expect.stringContaining('unknown time zone'), line: 8 },
    ]);
  });

  it('three distinct errors give three issues, listed one per line in the message', () => {
    const tree = patched([
      ['listen', 'nowhere'],
      ['accounts.0.rate_limit', 'fast'],
      ['notify.default', ['ghost']],
    ]);
    let error: unknown;
    try {
      parse(yamlOf(tree));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    // In file order: the fixture writes accounts, then notify, then the added listen key.
    expect(issues.map((i) => i.path)).toEqual(['accounts[0].rate_limit', 'notify.default[0]', 'listen']);
    const lines = (error as ConfigError).message.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^listen: expected host:port, e\.g\. 127\.0\.0\.1:8749 \(line \d+\)$/);
  });

  it('reports shape errors and cross-key errors together', () => {
    const issues = issuesOf(
      yamlOf(
        patched([
          ['defaults.interval', 'never'],
          ['accounts.0.token', undefined],
          ['notify.default', ['ghost']],
        ]),
      ),
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      'accounts[0].token',
      'defaults.interval',
      'notify.default[0]',
    ]);
  });
});

describe('parseConfig handles YAML itself', () => {
  it.each([
    ['unterminated quote', 'accounts:\n  - name: "main\n', /line \d+, column \d+: Missing closing "quote/],
    ['bad indentation', 'accounts:\n  - name: a\n   token: b\n', /line \d+, column \d+/],
  ])('%s is a syntax error with line and column', (_what, text, message) => {
    const issues = issuesOf(text, { source: 'conf.yml' });
    expect(issues[0]?.path).toBe('conf.yml');
    expect(issues[0]?.message).toMatch(message);
  });

  it('treats an empty file as an empty mapping', () => {
    expect(issuesOf('')).toEqual([{ path: 'accounts', message: 'required' }]);
  });

  it('wants a mapping at the top', () => {
    expect(issuesOf('- a\n- b\n')[0]).toMatchObject({
      path: '(root)',
      message: 'expected a mapping, got a list',
    });
  });

  it('supports anchors and merge keys for shared device settings', () => {
    const text = [
      'accounts:',
      '  - name: main',
      '    subdomain: acme',
      '    token: t',
      '    devices:',
      '      - &phone { number: "111", interval: 30s, labels: { team: a } }',
      '      - { <<: *phone, number: "222" }',
    ].join('\n');
    const devices = parse(text).accounts[0]?.devices;
    expect(devices?.map((d) => [d.number, d.policy.intervalMs, d.labels['team']])).toEqual([
      ['111', 30_000, 'a'],
      ['222', 30_000, 'a'],
    ]);
  });
});

describe('parseConfig accepts', () => {
  it('the minimal config and fills in every default', () => {
    const config = parse(yamlOf(baseTree()));
    expect(config).toMatchObject({
      stateDir: '/var/lib/whatsgate-monitor',
      listen: { host: '127.0.0.1', port: 8749 },
      timezone: 'UTC',
      schedule: '*/10 * * * * *',
      publicUrl: null,
      logLevel: 'info',
      defaults: DEFAULT_POLICY,
      audit: { schedule: null, channels: [], staleAfterMs: 14 * 86_400_000 },
      maintenance: [],
      retentionMs: 90 * 86_400_000,
      web: { basicAuth: null },
      notify: { groupWaitMs: 30_000, groupIntervalMs: 300_000 },
    });
    expect(DEFAULT_POLICY).toEqual({
      intervalMs: 60_000,
      timeoutMs: 10_000,
      failureThreshold: 2,
      successThreshold: 1,
      repeatIntervalMs: 4 * 3_600_000,
      sendResolved: true,
      flapThreshold: 4,
      flapWindowMs: 30 * 60_000,
      reconnect: 'link',
      delivery: { checkMs: 300_000, stallAfterMs: 900_000, failedRatio: 0.2, minFailed: 5, lowBalance: 100 },
    });
    const account = config.accounts[0];
    expect(account).toMatchObject({
      name: 'main',
      baseUrl: 'https://acme.whatsgate.net/api',
      token: 'tok-abc',
      concurrency: 4,
      rateLimitPerMinute: 30,
      policy: DEFAULT_POLICY,
    });
    expect(account?.devices[1]).toEqual({
      number: '491512222222',
      name: '491512222222',
      labels: {},
      channels: null,
      policy: DEFAULT_POLICY,
    });
  });

  it('cascades policy keys: defaults → account → device, key by key', () => {
    const config = parse(
      yamlOf(
        patched([
          ['defaults.interval', '30s'],
          ['defaults.failure_threshold', 3],
          ['defaults.reconnect', 'qr'],
          ['accounts.0.interval', '20s'],
          ['accounts.0.send_resolved', false],
          ['accounts.0.devices.0.interval', '10s'],
          ['accounts.0.devices.0.repeat_interval', 0],
          ['accounts.0.devices.0.reconnect', 'off'],
        ]),
      ),
    );
    expect(config.defaults).toMatchObject({
      intervalMs: 30_000,
      failureThreshold: 3,
      reconnect: 'qr',
      sendResolved: true,
    });
    const account = config.accounts[0];
    expect(account?.policy).toMatchObject({
      intervalMs: 20_000,
      failureThreshold: 3,
      reconnect: 'qr',
      sendResolved: false,
    });
    expect(account?.devices[0]?.policy).toEqual({
      ...DEFAULT_POLICY,
      intervalMs: 10_000,
      failureThreshold: 3,
      sendResolved: false,
      repeatIntervalMs: 0,
      reconnect: 'off',
    });
    expect(account?.devices[1]?.policy).toEqual(account?.policy);
  });

  it.each([
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1w', 604_800_000],
    [0, 0],
    ['0', 0],
  ] as const)('repeat_interval %j → %d ms', (value, ms) => {
    expect(parse(yamlOf(patched([['defaults.repeat_interval', value]]))).defaults.repeatIntervalMs).toBe(ms);
  });

  it.each([
    ['30/min', 30],
    ['1/s', 60],
    ['120/h', 2],
    ['0.5/s', 30],
  ])('rate_limit %s → %d per minute', (value, perMinute) => {
    const config = parse(yamlOf(patched([['accounts.0.rate_limit', value]])));
    expect(config.accounts[0]?.rateLimitPerMinute).toBe(perMinute);
  });

  it.each([
    ['"+49 151 3333333"', '491513333333'],
    ['"+49-151-3333333"', '491513333333'],
    ['491513333333', '491513333333'],
    ['+491513333333', '491513333333'],
    ['0049151333', '0049151333'],
    ['123456789012345', '123456789012345'],
  ])('device number %s → %s', (written, digits) => {
    const text = `accounts:\n  - name: m\n    subdomain: a\n    token: t\n    devices:\n      - number: ${written}\n`;
    expect(parse(text).accounts[0]?.devices[0]?.number).toBe(digits);
  });

  it('keeps maintenance numbers as written and normalises them', () => {
    const text = [
      'accounts:',
      '  - { name: m, subdomain: a, token: t, devices: [{ number: "+49 151 1" }, { number: 0049 }] }',
      'maintenance:',
      '  - { devices: [491511, 0049, "+49151-1"], schedule: "0 2 * * *", duration: 1h }',
    ].join('\n');
    expect(parse(text).maintenance).toEqual([
      { devices: ['491511', '0049'], schedule: '0 2 * * *', durationMs: 3_600_000 },
    ]);
  });

  it('names a device by its number unless named, and stringifies label values', () => {
    const device = parse(
      yamlOf(patched([['accounts.0.devices.0.labels', { team: 'sales', floor: 3, vip: true }]])),
    ).accounts[0]?.devices[0];
    expect(device?.name).toBe('Sales');
    expect(device?.labels).toEqual({ team: 'sales', floor: '3', vip: 'true' });
  });

  it.each([
    ['subdomain', [['accounts.0.subdomain', 'ACME']], 'https://acme.whatsgate.net/api'],
    [
      'base_url',
      [
        ['accounts.0.subdomain', undefined],
        ['accounts.0.base_url', 'http://127.0.0.1:8080/api/'],
      ],
      'http://127.0.0.1:8080/api',
    ],
    [
      'base_url with a path prefix',
      [
        ['accounts.0.subdomain', undefined],
        ['accounts.0.base_url', 'https://proxy.example.com/wg/api'],
      ],
      'https://proxy.example.com/wg/api',
    ],
  ] as [string, Patch[], string][])('%s gives the base URL', (_what, patches, baseUrl) => {
    expect(parse(yamlOf(patched(patches))).accounts[0]?.baseUrl).toBe(baseUrl);
  });

  it.each([
    ['[::1]:9000', { host: '::1', port: 9000 }],
    ['0.0.0.0:8749', { host: '0.0.0.0', port: 8749 }],
    [':8749', { host: '0.0.0.0', port: 8749 }],
  ])('listen %s', (listen, address) => {
    expect(parse(yamlOf(patched([['listen', listen]]))).listen).toEqual(address);
  });

  it('substitutes ${VAR} in any string value, and $${ is a literal ${', () => {
    const config = parse(
      yamlOf(
        patched([
          ['accounts.0.token', '${TOKEN}'],
          ['accounts.0.subdomain', '${SUB}'],
          ['accounts.0.devices.0.name', 'Phone ${ROOM} $${NOT_A_VAR}'],
          ['public_url', 'https://${HOST}/'],
        ]),
      ),
      { env: { TOKEN: 'from-env', SUB: 'acme', ROOM: 'A1', HOST: 'mon.example.com' } },
    );
    expect(config.accounts[0]?.token).toBe('from-env');
    expect(config.accounts[0]?.baseUrl).toBe('https://acme.whatsgate.net/api');
    expect(config.accounts[0]?.devices[0]?.name).toBe('Phone A1 ${NOT_A_VAR}');
    expect(config.publicUrl).toBe('https://mon.example.com');
  });

  it('does not let a variable change the YAML structure', () => {
    const config = parse(yamlOf(patched([['accounts.0.devices.0.name', '${NAME}']])), {
      env: { NAME: 'a: b\n- c' },
    });
    expect(config.accounts[0]?.devices[0]?.name).toBe('a: b\n- c');
  });

  it('reads *_file secrets, stripping one trailing newline', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), 'tok-from-file\n');
    writeFileSync(join(dir, 'smtp'), 'smtp-pass\r\n');
    writeFileSync(join(dir, 'hook'), 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const config = parse(
      yamlOf(
        patched([
          ['accounts.0.token', undefined],
          ['accounts.0.token_file', join(dir, 'token')],
          [
            'notify.channels.mail',
            email({ host: 'mail.example.com', user: 'u', password_file: join(dir, 'smtp') }),
          ],
          ['notify.channels.ops.secret_file', join(dir, 'hook')],
        ]),
      ),
    );
    expect(config.accounts[0]?.token).toBe('tok-from-file');
    expect((config.notify.channels['mail'] as EmailChannelConfig).smtp.password).toBe('smtp-pass');
    expect((config.notify.channels['ops'] as WebhookChannelConfig).secret).toBe(
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    );
  });

  it('reads relative *_file paths from baseDir and ${VAR} in file paths (systemd credentials)', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'creds'));
    writeFileSync(join(dir, 'creds', 'token'), 'relative-token\n');
    writeFileSync(join(dir, 'token2'), 'cred-token\n');
    const relative = parse(
      yamlOf(
        patched([
          ['accounts.0.token', undefined],
          ['accounts.0.token_file', 'creds/token'],
        ]),
      ),
      { baseDir: dir },
    );
    expect(relative.accounts[0]?.token).toBe('relative-token');
    const viaEnv = parse(
      yamlOf(
        patched([
          ['accounts.0.token', undefined],
          ['accounts.0.token_file', '${CREDENTIALS_DIRECTORY}/token2'],
        ]),
      ),
      { env: { CREDENTIALS_DIRECTORY: dir } },
    );
    expect(viaEnv.accounts[0]?.token).toBe('cred-token');
  });

  it.each([
    ['missing file', null, 'no such file'],
    ['empty file', '', 'must not be empty'],
    ['only a newline', '\n', 'must not be empty'],
    ['two lines', 'a\nb\n', 'line breaks'],
  ])('token_file: %s is an error naming key and file', (_what, content, message) => {
    const dir = tempDir();
    const file = join(dir, 'token');
    if (content !== null) writeFileSync(file, content);
    const issues = issuesOf(
      yamlOf(
        patched([
          ['accounts.0.token', undefined],
          ['accounts.0.token_file', file],
        ]),
      ),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('accounts[0].token_file');
    expect(issues[0]?.message).toContain(message);
    expect(issues[0]?.message).toContain(file);
  });

  it('uses the injected readFile for secrets', () => {
    const read: string[] = [];
    const config = parse(
      yamlOf(
        patched([
          ['accounts.0.token', undefined],
          ['accounts.0.token_file', '/run/creds/token'],
        ]),
      ),
      {
        readFile: (path) => {
          read.push(path);
          return 'injected\n';
        },
      },
    );
    expect(read).toEqual(['/run/creds/token']);
    expect(config.accounts[0]?.token).toBe('injected');
  });

  it('builds every channel type with its defaults', () => {
    const config = parse(
      yamlOf(
        patched([
          [
            'notify.channels.url',
            email({ smtp: 'smtps://u:p@mail.example.com', to: ['a@example.com', 'B <b@example.com>'] }),
          ],
          [
            'notify.channels.direct',
            email({ host: 'mail.example.com', secure: true, user: 'u', password: 'p' }),
          ],
          ['notify.channels.plain', email({ host: 'mail.example.com' })],
          ['notify.channels.ops', webhook({ headers: { Authorization: 'Bearer x' }, timeout: '5s' })],
          ['notify.channels.am', { type: 'alertmanager', url: ['http://am1:9093/', 'http://am2:9093'] }],
          ['notify.routes', [{ match: { team: 'sales', floor: 3 }, channels: ['ops', 'am'] }]],
        ]),
      ),
    );
    const channels = config.notify.channels;
    expect(channels['url']).toEqual({
      type: 'email',
      name: 'url',
      smtp: {
        url: 'smtps://u:p@mail.example.com',
        host: null,
        port: null,
        secure: true,
        user: null,
        password: null,
      },
      from: 'mon@example.com',
      to: ['a@example.com', 'B <b@example.com>'],
      ehloName: null,
      timeoutMs: 10_000,
    });
    expect((channels['direct'] as EmailChannelConfig).smtp).toEqual({
      url: null,
      host: 'mail.example.com',
      port: 465,
      secure: true,
      user: 'u',
      password: 'p',
    });
    expect((channels['plain'] as EmailChannelConfig).smtp).toMatchObject({
      port: 587,
      secure: false,
      user: null,
    });
    expect((channels['plain'] as EmailChannelConfig).to).toEqual(['ops@example.com']);
    expect(channels['ops']).toEqual({
      type: 'webhook',
      name: 'ops',
      url: 'https://hooks.example.com/x',
      secret: null,
      secretFormat: 'whsec',
      headers: { Authorization: 'Bearer x' },
      timeoutMs: 5_000,
    });
    expect(channels['am']).toEqual({
      type: 'alertmanager',
      name: 'am',
      urls: ['http://am1:9093', 'http://am2:9093'],
      timeoutMs: 10_000,
    });
    expect(config.notify.routes).toEqual([{ match: { team: 'sales', floor: '3' }, channels: ['ops', 'am'] }]);
  });

  it.each([
    ['10s', '2m', 10_000, 120_000],
    ['0s', '0s', 0, 0],
    [0, 0, 0, 0],
  ])(
    'notify.group_wait %s and group_interval %s (0 turns the wait off)',
    (wait, interval, waitMs, intervalMs) => {
      const config = parse(
        yamlOf(
          patched([
            ['notify.group_wait', wait],
            ['notify.group_interval', interval],
          ]),
        ),
      );
      expect(config.notify).toMatchObject({ groupWaitMs: waitMs, groupIntervalMs: intervalMs });
    },
  );

  it('a grouping time without a unit is reported with its path', () => {
    expect(issuesOf(yamlOf(patched([['notify.group_wait', '30']])))).toEqual([
      expect.objectContaining({
        path: 'notify.group_wait',
        message: expect.stringContaining('needs a unit') as unknown,
      }),
    ]);
  });

  it('reads audit, maintenance, web and the top-level settings', () => {
    const config = parse(
      yamlOf(
        patched([
          ['state_dir', '/srv/wgm'],
          ['timezone', 'Europe/Berlin'],
          ['schedule', '*/30 * * * * *'],
          ['public_url', 'https://mon.example.com/'],
          ['log_level', 'debug'],
          ['retention', '30d'],
          ['audit', { schedule: '0 9 * * 1', channels: ['ops'], stale_after: '1w' }],
          ['maintenance', [window({ devices: ['+491511111111'] })]],
          ['web.basic_auth', { user: 'ops', password_hash: HASH }],
        ]),
      ),
    );
    expect(config).toMatchObject({
      stateDir: '/srv/wgm',
      timezone: 'Europe/Berlin',
      schedule: '*/30 * * * * *',
      publicUrl: 'https://mon.example.com',
      logLevel: 'debug',
      retentionMs: 30 * 86_400_000,
      audit: { schedule: '0 9 * * 1', channels: ['ops'], staleAfterMs: 7 * 86_400_000 },
      maintenance: [{ devices: ['491511111111'], schedule: '0 2 * * *', durationMs: 1_800_000 }],
      web: { basicAuth: { user: 'ops', passwordHash: HASH } },
    });
  });
});

describe('secrets never appear in errors', () => {
  const SECRET = 'S3CR3T-value-9f8e7d';
  const dir = tempDir();
  const twoLineFile = join(dir, 'two-lines');
  writeFileSync(twoLineFile, `${SECRET}\nsecond line\n`);

  const cases: [string, string | Patch[]][] = [
    ['token with a control character', [['accounts.0.token', `${SECRET}\u0007`]]],
    ['token as a list', [['accounts.0.token', [SECRET]]]],
    ['token as a mapping', [['accounts.0.token', { [SECRET]: 1 }]]],
    ['token under a misspelt key', [['accounts.0.tokne', SECRET]]],
    [
      'token and token_file both',
      [
        ['accounts.0.token_file', '/x'],
        ['accounts.0.token', SECRET],
      ],
    ],
    [
      'token file with two lines',
      [
        ['accounts.0.token', undefined],
        ['accounts.0.token_file', twoLineFile],
      ],
    ],
    ['token with a broken ${', [['accounts.0.token', `${SECRET}\${oops`]]],
    [
      'base_url with credentials, malformed',
      [
        ['accounts.0.subdomain', undefined],
        ['accounts.0.base_url', `http://u:${SECRET}@bad host/`],
      ],
    ],
    ['smtp URL malformed', [['notify.channels.ops', email({ smtp: `smtp//u:${SECRET}@mail` })]]],
    [
      'smtp URL with a password key too',
      [['notify.channels.ops', email({ smtp: `smtp://u:${SECRET}@mail`, password: SECRET })]],
    ],
    [
      'smtp password with a newline',
      [['notify.channels.ops', email({ host: 'm', user: 'u', password: `${SECRET}\n` })]],
    ],
    [
      'smtp password as a number',
      [['notify.channels.ops', email({ host: 'm', user: 'u', password: 123456789 })]],
    ],
    ['webhook secret, whsec_ not base64', [['notify.channels.ops', webhook({ secret: `whsec_${SECRET}!` })]]],
    ['webhook secret under an unknown type', [['notify.channels.ops', { type: 'sms', secret: SECRET }]]],
    [
      'webhook secret with secret_file',
      [['notify.channels.ops', webhook({ secret: SECRET, secret_file: '/x' })]],
    ],
    ['webhook url with a token in it, malformed', [['notify.channels.ops.url', `https//hooks/${SECRET}`]]],
    [
      'header value with a newline',
      [['notify.channels.ops', webhook({ headers: { Authorization: `Bearer ${SECRET}\n` } })]],
    ],
    [
      'unterminated quote on the secret line',
      `accounts:\n  - name: m\n    token: "${SECRET}\n    devices: []\n`,
    ],
    ['secret followed by a bad indent', `accounts:\n  - name: m\n    token: ${SECRET}\n   devices: []\n`],
  ];

  it.each(cases)('%s', (_what, input) => {
    const text = typeof input === 'string' ? input : yamlOf(patched(input));
    let error: unknown;
    try {
      parse(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { message, issues } = error as ConfigError;
    expect(issues.length).toBeGreaterThan(0);
    expect(message).not.toContain(SECRET);
    expect(JSON.stringify(issues)).not.toContain(SECRET);
    expect(message).not.toContain('S3CR3T');
  });
});

describe('loadConfig', () => {
  it('reads a file, with *_file paths relative to its folder', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), 'file-token\n');
    const file = join(dir, 'config.yml');
    writeFileSync(
      file,
      yamlOf(
        patched([
          ['accounts.0.token', undefined],
          ['accounts.0.token_file', 'token'],
        ]),
      ),
    );
    const config = await loadConfig(file, {});
    expect(config.accounts[0]?.token).toBe('file-token');
  });

  it('turns a missing file into a ConfigError naming the path', async () => {
    const file = join(tempDir(), 'nope.yml');
    const error = await loadConfig(file, {}).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: file, message: 'cannot read the config file: no such file' },
    ]);
  });

  it('turns a directory into a ConfigError', async () => {
    const dir = tempDir();
    const error = await loadConfig(dir, {}).catch((err: unknown) => err);
    expect((error as ConfigError).issues[0]?.message).toContain('is a directory');
  });

  it('reads a file of 60,000 devices (1.8 MB, over the old 1 MiB cap), and refuses one over MAX_CONFIG_BYTES', async () => {
    const dir = tempDir();
    const devices = Array.from({ length: 60_000 }, (_, i) => ({ number: String(491_500_000_000 + i) }));
    const file = join(dir, 'config.yml');
    writeFileSync(file, yamlOf(patched([['accounts.0.devices', devices]])));
    const config = await loadConfig(file, {});
    expect(config.accounts[0]?.devices).toHaveLength(60_000);

    const huge = join(dir, 'huge.yml');
    writeFileSync(huge, `${yamlOf(baseTree())}# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    const error = await loadConfig(huge, {}).catch((err: unknown) => err);
    expect((error as ConfigError).issues[0]?.message).toBe('cannot read the config file: larger than 16 MiB');
  });

  it('keeps no part of the file alive once loaded: its values are copies, not slices of the text', () => {
    // Two configs that differ only by a comment of 8 MB: what the second keeps beyond the first is
    // the comment, i.e. the whole text, if any value (an account's base URL, a name) still shares
    // the text's characters.
    const tree = patched([
      ['accounts.0.base_url', 'https://gateway.example.com/api'],
      ['accounts.0.subdomain', undefined],
      ['accounts.0.devices', [{ number: '491500000001', name: 'the front desk phone' }]],
    ]);
    const comment = `# ${'x'.repeat(8 * 1024 * 1024)}\n`;
    const kept: Config[] = [];
    // The text is made and parsed in a frame of its own: a frame still running (this one) holds
    // its temporaries, which would keep the text alive whatever the config does.
    const keep = (padded: boolean): void => {
      kept.push(parseConfig(`${padded ? comment : ''}${yamlOf(tree)}`, { env: {} }));
    };
    const heapAfterKeeping = (padded: boolean): number => {
      keep(padded);
      collectGarbage();
      return process.memoryUsage().heapUsed;
    };
    heapAfterKeeping(false); // code compiled, caches filled
    const start = heapAfterKeeping(false);
    const plain = heapAfterKeeping(false) - start;
    const padded = heapAfterKeeping(true) - start - plain;
    expect(kept[3]?.accounts[0]?.baseUrl).toBe('https://gateway.example.com/api');
    expect(padded).toBeLessThan(1024 * 1024);
  });

  it('labels YAML errors with the file', async () => {
    const file = join(tempDir(), 'config.yml');
    writeFileSync(file, 'accounts: [\n');
    const error = await loadConfig(file, {}).catch((err: unknown) => err);
    expect((error as ConfigError).issues[0]?.path).toBe(file);
    expect((error as ConfigError).source).toBe(file);
  });
});

describe('rawConfigSchema', () => {
  it('emits a JSON Schema that documents keys and defaults', () => {
    const schema = z.toJSONSchema(rawConfigSchema, { io: 'input' }) as {
      required?: string[];
      additionalProperties?: boolean;
      properties: Record<string, { default?: unknown }>;
    };
    expect(schema.required).toEqual(['accounts']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties['listen']?.default).toBe('127.0.0.1:8749');
    expect(schema.properties['retention']?.default).toBe('90d');
    expect(() => z.toJSONSchema(rawConfigSchema)).not.toThrow();
  });
});

describe('webhook secret formats', () => {
  const WHSEC = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const hookOf = (config: Config): WebhookChannelConfig =>
    config.notify.channels['ops'] as WebhookChannelConfig;

  it.each<[string, Record<string, unknown>, string, 'whsec' | 'raw']>([
    ['a whsec_ secret, format by default', { secret: WHSEC }, WHSEC, 'whsec'],
    ['plain text with secret_format: raw', { secret: 'any text', secret_format: 'raw' }, 'any text', 'raw'],
    ['whsec with secret_format: whsec', { secret: WHSEC, secret_format: 'whsec' }, WHSEC, 'whsec'],
  ])('%s', (_name, extra, secret, format) => {
    const hook = hookOf(parse(yamlOf(patched([['notify.channels.ops', webhook(extra)]]))));
    expect(hook.secret).toBe(secret);
    expect(hook.secretFormat).toBe(format);
  });
});

describe("loading with secrets: 'skip' (commands that use none)", () => {
  it('a missing token_file and an unset ${VAR} in a secret are no error; each secret reads as empty', () => {
    const text = yamlOf(
      patched([
        ['accounts.0.token', undefined],
        ['accounts.0.token_file', '/nonexistent/token'],
        ['notify.channels.ops', webhook({ secret: '${HOOK_SECRET}' })],
      ]),
    );
    const config = parse(text, { secrets: 'skip' });
    expect(config.accounts[0]?.token).toBe('');
    expect((config.notify.channels['ops'] as WebhookChannelConfig).secret).toBe('');
    // Read as usual, both are errors naming their keys.
    const paths = issuesOf(text).map((i) => i.path);
    expect(paths).toEqual(['accounts[0].token_file', 'notify.channels.ops.secret']);
  });

  it('still refuses a secret that is not set at all, or set twice, and every other error', () => {
    const text = yamlOf(
      patched([
        ['accounts.0.token', undefined],
        ['notify.channels.ops', webhook({ secret: 'x', secret_file: '/s' })],
        ['defaults.interval', '${INTERVAL}'],
      ]),
    );
    const issues = issuesOf(text, { secrets: 'skip' }).map((i) => [i.path, i.message]);
    expect(issues.sort()).toEqual([
      ['accounts[0].token', 'required (or token_file)'],
      ['defaults.interval', 'environment variable INTERVAL is not set'],
      ['notify.channels.ops.secret_file', 'set either secret or secret_file, not both'],
    ]);
  });
});
