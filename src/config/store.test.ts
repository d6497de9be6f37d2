import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { ConfigError, formatIssue } from '../fields/errors.js';
import { redactSecrets } from '../net/redact.js';
import { findSecretLeaks } from '../test-support/no-secret-leaks.js';
import { parseConfig, type ParseOptions } from './load.js';
import { describeStore, storeSecrets } from './store.js';
import { summarizeConfig } from './summary.js';
import { patched, yamlOf, type Patch } from './test-support/fixtures.js';
import type { Config } from './types.js';

const PASSWORD = 'pg-S3cr3t/p@ss:wd';
const ENCODED = encodeURIComponent(PASSWORD);
const URL_WITH_PASSWORD = `postgres://monitor:${ENCODED}@db.example.com:5432/whatsgate`;

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'wgm-store-'));

function parse(patches: readonly Patch[], options: Partial<ParseOptions> = {}): Config {
  return parseConfig(yamlOf(patched(patches)), { env: {}, ...options });
}

function issuesOf(input: readonly Patch[] | string, options: Partial<ParseOptions> = {}): string[] {
  const text = typeof input === 'string' ? input : yamlOf(patched(input));
  try {
    parseConfig(text, { env: {}, ...options });
  } catch (err) {
    // Without the line: these tests are about the key and the words.
    if (err instanceof ConfigError)
      return err.issues.map(({ path, message }) => formatIssue({ path, message }));
    throw err;
  }
  return [];
}

describe('store and ha: what a valid config becomes', () => {
  it('defaults to SQLite in state_dir, without HA', () => {
    const config = parse([]);
    expect(config.store).toEqual({ kind: 'sqlite', file: '/var/lib/whatsgate-monitor/monitor.db' });
    expect(config.ha).toBeNull();
  });

  it.each<[string, Patch[]]>([
    ['store: sqlite', [['store', 'sqlite']]],
    ['store: " sqlite "', [['store', ' sqlite ']]],
  ])('%s is monitor.db in state_dir', (_what, patches) => {
    const config = parse([...patches, ['state_dir', '/srv/wgm']]);
    expect(config.store).toEqual({ kind: 'sqlite', file: '/srv/wgm/monitor.db' });
    expect(config.ha).toBeNull();
  });

  it.each([
    'postgres://monitor@db.example.com:5432/whatsgate',
    'postgresql://monitor@db.example.com/whatsgate',
    'postgres://monitor@[::1]:5432/whatsgate?sslmode=verify-full',
    'postgres:///whatsgate?host=/var/run/postgresql',
    URL_WITH_PASSWORD,
  ])('%s is PostgreSQL, with the default lease of 15 s', (url) => {
    const config = parse([['store', url]]);
    expect(config.store).toEqual({ kind: 'postgres', url });
    expect(config.ha).toEqual({ leaseMs: 15_000 });
  });

  it.each<[unknown, number]>([
    [{ lease: '30s' }, 30_000],
    [{ lease: '5s' }, 5_000],
    [{ lease: '10m' }, 600_000],
    [{ lease: '1m30s' }, 90_000],
    [{}, 15_000],
  ])('ha %j with postgres: leaseMs %d', (ha, leaseMs) => {
    const config = parse([
      ['store', 'postgres://monitor@db/whatsgate'],
      ['ha', ha],
    ]);
    expect(config.ha).toEqual({ leaseMs });
  });

  it('expands ${VAR} in the URL like any other value', () => {
    const config = parse([['store', 'postgres://monitor:${PGPASSWORD}@db:5432/whatsgate']], {
      env: { PGPASSWORD: ENCODED },
    });
    expect(config.store).toEqual({
      kind: 'postgres',
      url: `postgres://monitor:${ENCODED}@db:5432/whatsgate`,
    });
  });

  it('takes the whole URL from one variable (DATABASE_URL style)', () => {
    const config = parse([['store', '${DATABASE_URL}']], { env: { DATABASE_URL: URL_WITH_PASSWORD } });
    expect(config.store).toEqual({ kind: 'postgres', url: URL_WITH_PASSWORD });
  });

  it('reads store_file (one trailing newline stripped), relative to the config folder', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'store'), `${URL_WITH_PASSWORD}\n`);
    const config = parse([['store_file', 'store']], { baseDir: dir });
    expect(config.store).toEqual({ kind: 'postgres', url: URL_WITH_PASSWORD });
    expect(config.ha).toEqual({ leaseMs: 15_000 });
  });

  it('a store_file may say sqlite too', () => {
    const config = parse([['store_file', '/creds/store']], { readFile: () => 'sqlite\n' });
    expect(config.store).toEqual({ kind: 'sqlite', file: '/var/lib/whatsgate-monitor/monitor.db' });
  });

  it("is read by the commands that skip secrets: they open the database (secrets: 'skip')", () => {
    const config = parse(
      [
        ['store', 'postgres://monitor:${PGPASSWORD}@db/whatsgate'],
        ['accounts.0.token', '${WHATSGATE_TOKEN}'],
      ],
      { env: { PGPASSWORD: 'pw' }, secrets: 'skip' },
    );
    expect(config.store).toEqual({ kind: 'postgres', url: 'postgres://monitor:pw@db/whatsgate' });
    expect(config.accounts[0]?.token).toBe('');
    // And so an unset variable in it is an error there too.
    expect(
      issuesOf([['store', 'postgres://monitor:${PGPASSWORD}@db/whatsgate']], { secrets: 'skip' }),
    ).toEqual(['store: environment variable PGPASSWORD is not set']);
  });
});

describe('store and ha: errors name the key path', () => {
  it.each<[string, Patch[], string]>([
    ['empty', [['store', '']], 'store: must not be empty'],
    ['a number', [['store', 5]], 'store: expected sqlite, or a postgres:// URL'],
    ['MySQL', [['store', 'mysql://u@db/x']], 'store: expected sqlite, or a postgres:// or postgresql:// URL'],
    ['a bare host', [['store', 'db.example.com:5432']], 'store: expected sqlite, or a postgres://'],
    ['http', [['store', 'https://db.example.com/x']], 'PostgreSQL is the only database server supported'],
    ['a SQLite URL', [['store', 'sqlite:///var/lib/x.db']], 'store: sqlite takes no path'],
    ['a file path', [['store', '/var/lib/whatsgate/monitor.db']], 'store: sqlite takes no path'],
    ['no host', [['store', 'postgres:///whatsgate']], 'store: names no host'],
    ['an unencoded #', [['store', 'postgres://u:a#b@db/x']], 'store: not a valid postgres:// URL'],
    ['a fragment', [['store', 'postgres://u@db/x#frag']], 'store: must not have a #fragment'],
    ['a line break', [['store', 'postgres://u@db/x\nmore']], 'store: must not contain line breaks'],
    [
      'store and store_file',
      [
        ['store', 'sqlite'],
        ['store_file', '/x'],
      ],
      'store_file: set either store or store_file, not both',
    ],
    [
      'an unknown key under ha',
      [
        ['store', 'postgres://db/x'],
        ['ha', { leese: '15s' }],
      ],
      'ha.leese: unknown key (did you mean lease?)',
    ],
    ['ha as a string', [['ha', '15s']], 'ha: expected a mapping'],
    [
      'ha with the default store',
      [['ha', { lease: '15s' }]],
      'ha.lease: only with a postgres store: SQLite serves one process',
    ],
    ['ha {} with the default store', [['ha', {}]], 'ha: only with a postgres store'],
    [
      'ha with store: sqlite',
      [
        ['store', 'sqlite'],
        ['ha', { lease: '15s' }],
      ],
      'ha.lease: only with a postgres store',
    ],
  ])('%s', (_what, patches, message) => {
    expect(issuesOf(patches)).toEqual([expect.stringContaining(message)]);
  });

  it.each<[string, string]>([
    ['4s', 'ha.lease: must be at least 5s'],
    ['4999ms', 'ha.lease: must be at least 5s'],
    ['10m1s', 'ha.lease: must be at most 10m'],
    ['1h', 'ha.lease: must be at most 10m'],
    ['15', 'ha.lease: "15" needs a unit, e.g. 15s'],
    ['0s', 'ha.lease: must be longer than 0'],
    ['soon', 'ha.lease: expected a duration'],
  ])('ha.lease %s', (lease, message) => {
    const issues = issuesOf([
      ['store', 'postgres://monitor@db/whatsgate'],
      ['ha', { lease }],
    ]);
    expect(issues).toEqual([expect.stringContaining(message)]);
  });

  it('a broken store is one error: ha is not blamed for it', () => {
    expect(
      issuesOf([
        ['store', 'mysql://db/x'],
        ['ha', { lease: '15s' }],
      ]),
    ).toEqual([expect.stringMatching(/^store: expected sqlite/)]);
  });

  it('a store_file is checked like store, at store_file, naming the file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'store'), 'mysql://u:pw@db/x\n');
    expect(issuesOf([['store_file', 'store']], { baseDir: dir })).toEqual([
      `store_file: expected sqlite, or a postgres:// or postgresql:// URL such as postgres://monitor@db:5432/whatsgate (PostgreSQL is the only database server supported) (in ${join(dir, 'store')})`,
    ]);
  });

  it.each<[string, string]>([
    ['/dev/zero', 'not a regular file'],
    ['/nonexistent/store', 'no such file'],
  ])('a store_file %s: refused like every *_file', (file, message) => {
    expect(issuesOf([['store_file', file]])).toEqual([`store_file: cannot read ${file}: ${message}`]);
  });

  it('a store_file with ha, when the file says sqlite, blames ha', () => {
    expect(
      issuesOf(
        [
          ['store_file', '/creds/store'],
          ['ha', { lease: '15s' }],
        ],
        { readFile: () => 'sqlite\n' },
      ),
    ).toEqual([expect.stringMatching(/^ha\.lease: only with a postgres store/)]);
  });

  it('reports store and ha problems with the others, all at once', () => {
    expect(
      issuesOf([
        ['store', 'sqlite'],
        ['ha', { lease: '1s' }],
        ['defaults.interval', '0s'],
      ]).sort(),
    ).toEqual([
      'defaults.interval: must be longer than 0',
      'ha.lease: must be at least 5s',
      expect.stringMatching(/^ha\.lease: only with a postgres store/),
    ]);
  });
});

describe('the store password never appears', () => {
  const SECRET = 'S3CR3T-pg-9f8e7d';

  it.each<[string, Patch[], Partial<ParseOptions>]>([
    ['in a URL of another database', [['store', `mysql://u:${SECRET}@db/x`]], {}],
    ['in a URL with an unencoded #', [['store', `postgres://u:${SECRET}#x@db/x`]], {}],
    ['in a URL with a fragment', [['store', `postgres://u:${SECRET}@db/x#f`]], {}],
    ['in a URL without a host', [['store', `postgres://:${SECRET}@/x`]], {}],
    ['in a URL with a control character', [['store', `postgres://u:${SECRET}\u0007@db/x`]], {}],
    ['in a SQLite path', [['store', `sqlite:///${SECRET}.db`]], {}],
    ['in plain text', [['store', SECRET]], {}],
    ['in a list', [['store', [`postgres://u:${SECRET}@db/x`]]], {}],
    ['under a misspelt key', [['stroe', `postgres://u:${SECRET}@db/x`]], {}],
    [
      'with store_file as well',
      [
        ['store', `postgres://u:${SECRET}@db/x`],
        ['store_file', '/x'],
      ],
      {},
    ],
    [
      'in a store_file of another database',
      [['store_file', '/s']],
      { readFile: () => `mysql://u:${SECRET}@db/x` },
    ],
    [
      'in a store_file of two lines',
      [['store_file', '/s']],
      { readFile: () => `postgres://u:${SECRET}@db/x\nx\n` },
    ],
    [
      'with ha and a store_file whose URL is broken',
      [
        ['store_file', '/s'],
        ['ha', { lease: '1s' }],
      ],
      { readFile: () => `postgres://u:${SECRET}@db/x#` },
    ],
    [
      'with a bad lease beside a good URL',
      [
        ['store', `postgres://u:${SECRET}@db/x`],
        ['ha', { lease: '1h' }],
      ],
      {},
    ],
    ['with a broken ${ in the URL', [['store', `postgres://u:${SECRET}\${oops@db/x`]], {}],
  ])('%s', (_what, patches, options) => {
    let error: unknown;
    try {
      parse(patches, options);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { message, issues } = error as ConfigError;
    expect(issues.length).toBeGreaterThan(0);
    expect(findSecretLeaks({ store: SECRET }, [{ name: 'the error', content: message }])).toEqual([]);
    expect(JSON.stringify(issues)).not.toContain('S3CR3T');
  });
});

describe('redaction helpers', () => {
  const url = `postgres://monitor:${ENCODED}@db.example.com:5432/whatsgate?sslmode=require&sslpassword=kp1`;
  const postgres: Config['store'] = { kind: 'postgres', url };

  it('storeSecrets lists the password as written and decoded, and query credentials of any length; not settings', () => {
    const secrets = storeSecrets(postgres);
    expect(secrets).toEqual(expect.arrayContaining([ENCODED, PASSWORD, 'kp1']));
    expect(secrets).not.toContain('monitor');
    expect(secrets).not.toContain('require');
    expect(secrets).not.toContain('db.example.com');
    expect(storeSecrets({ kind: 'sqlite', file: '/x/monitor.db' })).toEqual([]);
  });

  it('redactSecrets with storeSecrets hides the password in every form a driver error may carry', () => {
    const text = [
      `connect failed: ${url}`,
      `password=${PASSWORD}`,
      `{"password":${JSON.stringify(PASSWORD)}}`,
      `Basic ${Buffer.from(`monitor:${PASSWORD}`).toString('base64')}`,
      `hex ${Buffer.from(PASSWORD).toString('hex')}`,
    ].join('\n');
    const redacted = redactSecrets(text, storeSecrets(postgres));
    const leaks = findSecretLeaks({ 'store (password)': PASSWORD, 'store (encoded)': ENCODED }, [
      { name: 'redacted text', content: redacted },
    ]);
    expect(leaks).toEqual([]);
    expect(redacted).not.toContain('kp1');
    expect(redacted).toContain('connect failed: postgres://monitor:[redacted]@db.example.com:5432/whatsgate');
  });

  it('describeStore shows scheme, host, port and database: no user, password or query', () => {
    expect(describeStore(postgres)).toBe('PostgreSQL postgres://db.example.com:5432/whatsgate?…');
    expect(describeStore({ kind: 'postgres', url: 'postgresql://u:p@db/wg' })).toBe(
      'PostgreSQL postgresql://db/wg',
    );
    expect(describeStore({ kind: 'sqlite', file: '/var/lib/wgm/monitor.db' })).toBe(
      'SQLite /var/lib/wgm/monitor.db',
    );
  });
});

describe('check-config says which store, with the lease, and never the password', () => {
  it('summarizeConfig: SQLite, one process', () => {
    expect(summarizeConfig(parse([['state_dir', '/srv/wgm']]))).toContain(
      'Store: SQLite /srv/wgm/monitor.db (one process)',
    );
  });

  it('summarizeConfig: PostgreSQL with the lease and its renewal', () => {
    const text = summarizeConfig(
      parse([
        ['store', URL_WITH_PASSWORD],
        ['ha', { lease: '30s' }],
      ]),
    );
    expect(text).toContain(
      'Store: PostgreSQL postgres://db.example.com:5432/whatsgate; HA lease 30s, renewed every 10s: a leader that dies is replaced within 40s',
    );
    expect(findSecretLeaks({ store: PASSWORD }, [{ name: 'summary', content: text }])).toEqual([]);
  });

  async function checkConfig(yaml: string, env: Record<string, string>) {
    const dir = tempDir();
    const file = join(dir, 'config.yml');
    writeFileSync(file, yaml);
    let stdout = '';
    let stderr = '';
    const code = await runCli(['check-config', '--config', file], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env,
      stdin: new PassThrough(),
    });
    return { code, stdout, stderr, dir };
  }

  it('the command, with the password from ${VAR}: a Store line, no password anywhere', async () => {
    const yaml = yamlOf(
      patched([
        ['state_dir', tempDir()],
        ['store', 'postgres://monitor:${PGPASSWORD}@db.example.com:5432/whatsgate'],
        ['ha', { lease: '20s' }],
      ]),
    );
    const r = await checkConfig(yaml, { PGPASSWORD: ENCODED });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Store: PostgreSQL postgres://db.example.com:5432/whatsgate; HA lease 20s');
    expect(
      findSecretLeaks({ store: PASSWORD }, [{ name: 'check-config', content: r.stdout + r.stderr }]),
    ).toEqual([]);
  });

  it('the command, with a bad store_file: exit 2 naming store_file, no password anywhere', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'store'), `postgres://monitor:${ENCODED}@db.example.com:5432/whatsgate#x\n`);
    const yaml = yamlOf(
      patched([
        ['state_dir', dir],
        ['store_file', join(dir, 'store')],
      ]),
    );
    const r = await checkConfig(yaml, {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('store_file: must not have a #fragment');
    expect(
      findSecretLeaks({ store: PASSWORD }, [{ name: 'check-config', content: r.stdout + r.stderr }]),
    ).toEqual([]);
  });
});
