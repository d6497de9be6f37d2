// The committed JSON Schema under ajv in strict mode (what CI linters and editors use), held to
// check-config: the example configs validate, and each bad config in the table is refused by both
// — ajv through the schema's patterns and either-or rules, check-config through the loader.
// What JSON Schema cannot say (unique names across a list, a duration's upper bound, IANA zones,
// cron field ranges) is listed at the end: check-config refuses it, the schema lets it pass.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CONFIG_SCHEMA_FILE } from '../src/config-schema.js';
import { ConfigError, parseConfig } from '../src/config/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

const schema = JSON.parse(read(CONFIG_SCHEMA_FILE)) as Record<string, unknown>;
const ajv = new Ajv({ strict: true, allErrors: true });
const validate = ajv.compile(schema);

function ajvErrors(config: unknown): string[] {
  return validate(config)
    ? []
    : (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath} ${e.message}`);
}

/** check-config's verdict on the same config: its problems, [] when it loads. */
function loaderProblems(config: unknown): string[] {
  try {
    parseConfig(stringify(config), { env: {}, readFile: () => 'secret-from-file' });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
}

const HASH = '$2y$10$92IXUNpkjO0rOQ5byMi.Ye4oKoEa3Ro9llC/.og/at2.uheWG/igi';

interface TestDevice {
  number: string | number;
  name?: string;
  labels?: Record<string, string>;
  numbr?: string;
}
interface TestAccount {
  name: string;
  subdomain?: string;
  base_url?: string;
  token?: string;
  concurrency?: number;
  rate_limit?: string;
  devices: TestDevice[];
}
interface TestConfig {
  schedule: string;
  timezone?: string;
  listen?: string;
  public_url: string;
  defaults: { interval: string; repeat_interval: string; failure_threshold?: number };
  accounts: TestAccount[];
  notify: { default: string[]; channels: Record<string, Record<string, string>> };
  audit: { schedule: string; channels: string[] };
  web: { basic_auth: { user: string; password_hash: string } };
}

const account = (c: TestConfig): TestAccount => c.accounts[0]!;
const device = (c: TestConfig): TestDevice => account(c).devices[0]!;
const channel = (c: TestConfig, name: string): Record<string, string> => c.notify.channels[name]!;

/** A small valid config; each case below breaks one thing in a copy of it. */
function base(): TestConfig {
  return {
    schedule: '*/10 * * * * *',
    public_url: 'https://monitor.example.com',
    defaults: { interval: '60s', repeat_interval: '4h' },
    accounts: [
      {
        name: 'main',
        subdomain: 'acme',
        token: 'tok',
        devices: [{ number: '+49 151 2345678', name: 'Sales', labels: { team: 'sales' } }],
      },
    ],
    notify: {
      default: ['ops'],
      channels: {
        ops: {
          type: 'email',
          smtp: 'smtp://mail.example.com:587',
          from: 'a@example.com',
          to: 'b@example.com',
        },
        hook: { type: 'webhook', url: 'https://hooks.example.com/wg' },
      },
    },
    audit: { schedule: '0 8 * * 1', channels: ['ops'] },
    web: { basic_auth: { user: 'ops', password_hash: HASH } },
  };
}

type Case = readonly [string, (c: TestConfig) => void];

const REFUSED_BY_BOTH: readonly Case[] = [
  ['a duration without a unit', (c) => (c.defaults.interval = '60')],
  ['a duration in an unknown unit', (c) => (c.defaults.interval = '1y')],
  ['a zero interval', (c) => (c.defaults.interval = '0s')],
  ['a label name with a dash', (c) => (device(c).labels = { 'my-team': 'x' })],
  ['a reserved label name', (c) => (device(c).labels = { device: 'x' })],
  ['an account with neither subdomain nor base_url', (c) => delete account(c).subdomain],
  [
    'an account with both subdomain and base_url',
    (c) => (account(c).base_url = 'https://gw.example.com/api'),
  ],
  ['an account with neither token nor token_file', (c) => delete account(c).token],
  ['a device number with letters', (c) => (device(c).number = '0151-CALL-ME')],
  ['a negative device number', (c) => (device(c).number = -5)],
  ['a failure_threshold of 0', (c) => (c.defaults.failure_threshold = 0)],
  ['a fractional concurrency', (c) => (account(c).concurrency = 1.5)],
  ['a public_url that is not http(s)', (c) => (c.public_url = 'ftp://monitor.example.com')],
  ['a webhook URL with a query string', (c) => (channel(c, 'hook')['url'] = 'https://h.example.com/x?a=1')],
  ['a cron expression of three fields', (c) => (c.audit.schedule = '0 8 *')],
  ['a plaintext password_hash', (c) => (c.web.basic_auth.password_hash = 'change-me')],
  ['a bcrypt hash of cost 99', (c) => (c.web.basic_auth.password_hash = HASH.replace('$10$', '$99$'))],
  ['an email address without @', (c) => (channel(c, 'ops')['to'] = 'ops.example.com')],
  ['a rate without a unit', (c) => (account(c).rate_limit = '30')],
  ['a listen address without a port', (c) => (c.listen = '127.0.0.1')],
  ['a channel name with a space', (c) => (c.notify.channels['on call'] = channel(c, 'hook'))],
  ['an unknown key', (c) => (device(c).numbr = '1')],
];

/** check-config refuses these; JSON Schema has no way to say so. */
const ONLY_CHECK_CONFIG: readonly Case[] = [
  [
    'two accounts with the same name',
    (c) => {
      c.accounts.push({ ...account(c), devices: [{ number: '4930123456' }] });
    },
  ],
  ['a duration over its maximum', (c) => (c.defaults.interval = '30d')],
  ['an unknown time zone', (c) => (c.timezone = 'Mars/Olympus')],
  ['a cron minute of 61', (c) => (c.audit.schedule = '61 8 * * 1')],
];

function variant(change: (c: TestConfig) => void): TestConfig {
  const c = base();
  change(c);
  return c;
}

describe('config/whatsgate-monitor.schema.json under ajv (strict)', () => {
  it('compiles in strict mode', () => {
    expect(() => new Ajv({ strict: true, allErrors: true }).compile(schema)).not.toThrow();
  });

  it.each(['config/whatsgate-monitor.example.yml', 'config/demo.yml'])('%s validates', (file) => {
    expect(ajvErrors(parse(read(file)))).toEqual([]);
  });

  it('the base config of the table is valid for both', () => {
    expect(ajvErrors(base())).toEqual([]);
    expect(loaderProblems(base())).toEqual([]);
  });

  it.each(REFUSED_BY_BOTH)('%s: refused by ajv and by check-config', (_name, change) => {
    const config = variant(change);
    expect(ajvErrors(config), 'ajv accepted it').not.toEqual([]);
    expect(loaderProblems(config), 'check-config accepted it').not.toEqual([]);
  });

  it.each(ONLY_CHECK_CONFIG)('%s: beyond JSON Schema, check-config refuses it', (_name, change) => {
    const config = variant(change);
    expect(ajvErrors(config)).toEqual([]);
    expect(loaderProblems(config)).not.toEqual([]);
  });
});
