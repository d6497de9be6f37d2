// What ships beside the code (SPEC §9): the example config, its JSON Schema, the systemd unit,
// the Dockerfile, the demo config. Each is checked by what runs it for real where that is
// possible here (check-config through the binary, systemd-analyze, node for the healthcheck).

import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, existsSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_SCHEMA_FILE, configJsonSchema } from '../src/config-schema.js';
import { CHANNEL_TYPES } from '../src/notify/channels/index.js';
import { runCli } from './support/cli.js';
import { walk, type Schema } from './support/json-schema.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const run = promisify(execFile);

const EXAMPLE = 'config/whatsgate-monitor.example.yml';
const DEMO = 'config/demo.yml';
const UNIT = 'config/systemd/whatsgate-monitor.service';

/** The environment the example says it needs: systemd-style credentials and two variables. */
function exampleEnv(): Record<string, string> {
  const credentials = mkdtempSync(join(tmpdir(), 'wgm-creds-'));
  writeFileSync(join(credentials, 'token'), 'tok-from-credential\n');
  writeFileSync(join(credentials, 'smtp-password'), 'smtp-secret\n');
  return {
    CREDENTIALS_DIRECTORY: credentials,
    WHATSGATE_BRANCH_TOKEN: 'branch-token',
    HOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  };
}

function committedSchema(): Schema {
  return JSON.parse(read(CONFIG_SCHEMA_FILE)) as Schema;
}

describe('config/whatsgate-monitor.example.yml', () => {
  it('passes check-config through the real binary, with no warning and no secret in the output', async () => {
    const r = await runCli(['check-config', '--config', join(ROOT, EXAMPLE)], { env: exampleEnv() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Accounts: 2, devices: 3');
    expect(r.stdout).toContain('Channels: ops (email), sales (webhook), am (alertmanager)');
    expect(r.stdout).not.toMatch(/warning/i);
    for (const secret of ['tok-from-credential', 'smtp-secret', 'branch-token', 'whsec_']) {
      expect(r.stdout).not.toContain(secret);
    }
  });

  it('names the env variables it needs: without them check-config lists each', async () => {
    const r = await runCli(['check-config', '--config', join(ROOT, EXAMPLE)]);
    expect(r.code).toBe(2);
    for (const name of ['CREDENTIALS_DIRECTORY', 'WHATSGATE_BRANCH_TOKEN', 'HOOK_SECRET']) {
      expect(r.stderr).toContain(`environment variable ${name} is not set`);
    }
  });

  it('starts with the yaml-language-server modeline pointing at the schema beside it', () => {
    expect(read(EXAMPLE).split('\n')[0]).toBe(
      '# yaml-language-server: $schema=./whatsgate-monitor.schema.json',
    );
    expect(read(DEMO).split('\n')[0]).toBe('# yaml-language-server: $schema=./whatsgate-monitor.schema.json');
  });

  it('shows every key of the schema, live or as a commented-out alternative', () => {
    const text = read(EXAMPLE);
    const live = new Set<string>();
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(collect);
      else if (typeof node === 'object' && node !== null) {
        for (const [key, value] of Object.entries(node)) {
          live.add(key);
          collect(value);
        }
      }
    };
    collect(parse(text));
    const commented = new Set([...text.matchAll(/^\s*#\s*([a-z_]+):\s/gm)].map((m) => m[1]!));
    const keys = new Set<string>();
    for (const [, node] of walk(configJsonSchema())) {
      for (const key of Object.keys(node['properties'] ?? {})) keys.add(key);
    }
    const missing = [...keys].filter((key) => !live.has(key) && !commented.has(key));
    expect(missing).toEqual([]);
    // Every channel type, and every reconnect mode in the comments.
    for (const type of CHANNEL_TYPES) expect(text).toContain(`type: ${type}`);
    for (const mode of ['link', 'qr', 'off']) expect(text).toMatch(new RegExp(`#\\s+${mode}\\s`));
  });

  it('has a real bcrypt hash of "change-me", and says how to make one', () => {
    const config = parse(read(EXAMPLE)) as { web: { basic_auth: { password_hash: string } } };
    const hash = config.web.basic_auth.password_hash;
    expect(hash).toHaveLength(60);
    expect(bcrypt.compareSync('change-me', hash)).toBe(true);
    expect(read(EXAMPLE)).toContain('htpasswd -nBC 10 ops');
  });

  // (Valid for an editor using the JSON Schema: test/config-json-schema.test.ts, with ajv.)
});

describe('config/whatsgate-monitor.schema.json', () => {
  it('is what `npm run schema` generates from the loader’s zod schema (not stale)', () => {
    const generated = configJsonSchema();
    expect(committedSchema(), `${CONFIG_SCHEMA_FILE} is stale: run npm run schema`).toEqual(generated);
  });

  it('is formatted as `npm run schema` writes it (scripts/generate-config-schema.mjs --check)', async () => {
    const r = await run(process.execPath, [join(ROOT, 'scripts/generate-config-schema.mjs'), '--check']);
    expect(r.stdout).toContain('is up to date');
  });

  it('is draft-07, titled, and closed: every object rejects unknown keys', () => {
    const schema = committedSchema();
    expect(schema['$schema']).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema['title']).toBe('whatsgate-monitor config');
    const open = [...walk(schema)]
      .filter(([, node]) => node['type'] === 'object' && node['properties'] !== undefined)
      .filter(([, node]) => node['additionalProperties'] !== false)
      .map(([path]) => path);
    expect(open).toEqual([]);
  });

  it('carries the zod .describe() texts and defaults for editor hovers', () => {
    const schema = committedSchema() as { properties: Record<string, Schema> };
    const p = schema.properties;
    const defaults = p['defaults'] as { properties: Record<string, Schema> };
    expect(defaults.properties['interval']!['description']).toMatch(/how often each device/);
    const account = (p['accounts']!['items'] as { properties: Record<string, Schema> }).properties;
    expect(account['subdomain']!['description']).toMatch(/whatsgate\.net/);
    expect(account['rate_limit']!['default']).toBe('30/min');
    expect(p['listen']!['default']).toBe('127.0.0.1:8749');
    expect(p['schedule']!['default']).toBe('*/10 * * * * *');
    // Noise zod adds to every integer is left out.
    expect(JSON.stringify(schema)).not.toContain(String(Number.MAX_SAFE_INTEGER));
  });

  it('rejects what an editor should flag: unknown keys and wrong enums', () => {
    const schema = committedSchema();
    const bad = {
      accounts: [{ name: 'a', subdomain: 'x', token: 't', devices: [{ numbr: '1' }] }],
      log_level: 'loud',
    };
    const validate = new Ajv({ strict: true, allErrors: true }).compile(schema);
    expect(validate(bad)).toBe(false);
    expect(validate.errors?.map((e) => `${e.instancePath} ${e.message}`)).toEqual(
      expect.arrayContaining([
        "/accounts/0/devices/0 must have required property 'number'",
        '/accounts/0/devices/0 must NOT have additional properties',
        '/log_level must be equal to one of the allowed values',
      ]),
    );
  });
});

describe('config/demo.yml', () => {
  it('passes check-config as it is, needing no environment', async () => {
    const r = await runCli(['check-config', '--config', join(ROOT, DEMO)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Accounts: 1, devices: 5');
    expect(r.stdout).toContain('Channels: mail (email)');
  });

  it('keeps its state in ./demo-state, which git ignores', () => {
    expect((parse(read(DEMO)) as { state_dir: string }).state_dir).toBe('demo-state');
    expect(read('.gitignore').split('\n')).toContain('demo-state/');
  });
});

describe('config/systemd/whatsgate-monitor.service', () => {
  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  const analyzeMissing =
    analyze.error === undefined ? '' : 'systemd-analyze is missing: apt-get install systemd (Debian)';

  function directives(): Map<string, string[]> {
    const map = new Map<string, string[]>();
    for (const line of read(UNIT).split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (m) map.set(m[1]!, [...(map.get(m[1]!) ?? []), m[2]!]);
    }
    return map;
  }

  it('passes systemd-analyze verify with nothing to say', async () => {
    expect(analyzeMissing).toBe('');
    // ExecStart is /usr/bin/env (which exists), so the unit is verified exactly as shipped.
    const r = await run('systemd-analyze', ['verify', join(ROOT, UNIT)], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
  });

  it('is rated OK (exposure at most 2.0) by systemd-analyze security --offline', async () => {
    expect(analyzeMissing).toBe('');
    // --threshold is in tenths: 20 means an overall exposure of 2.0 ("OK").
    const r = await run(
      'systemd-analyze',
      ['security', '--offline=yes', '--threshold=20', '--no-pager', join(ROOT, UNIT)],
      { encoding: 'utf8' },
    );
    const overall = /Overall exposure level for whatsgate-monitor\.service: ([\d.]+) (\w+)/.exec(r.stdout);
    expect(overall?.[2]).toBe('OK');
    expect(Number(overall?.[1])).toBeLessThanOrEqual(2);
  });

  it('runs the daemon the SPEC way: simple, dynamic user, state dir, credentials, reload, hardening', () => {
    const d = directives();
    const one = (key: string): string | undefined => d.get(key)?.at(-1);
    expect(one('Type')).toBe('simple');
    expect(one('ExecStart')).toBe(
      '/usr/bin/env whatsgate-monitor run --config /etc/whatsgate-monitor/config.yml',
    );
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one('Restart')).toBe('on-failure');
    expect(one('RestartPreventExitStatus')).toBe('2');
    expect(one('TimeoutStopSec')).toBe('15');
    expect(one('DynamicUser')).toBe('yes');
    expect(one('StateDirectory')).toBe('whatsgate-monitor');
    expect(d.get('LoadCredential')).toEqual([
      'token:/etc/whatsgate-monitor/token',
      'smtp-password:/etc/whatsgate-monitor/smtp-password',
    ]);
    expect(one('MemoryDenyWriteExecute')).toBe('no');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(one('UMask')).toBe('0077');
    expect(one('RestrictAddressFamilies')).toBe('AF_INET AF_INET6 AF_UNIX');
    for (const key of [
      'ProtectHome',
      'PrivateTmp',
      'PrivateDevices',
      'NoNewPrivileges',
      'ProtectKernelTunables',
      'ProtectKernelModules',
      'ProtectKernelLogs',
      'ProtectControlGroups',
      'RestrictNamespaces',
      'LockPersonality',
    ]) {
      expect(one(key), key).toBe('yes');
    }
    expect(one('ProtectSystem')).toBe('strict');
    // The credentials the unit loads are the ones the example config reads.
    const example = read(EXAMPLE);
    expect(example).toContain('token_file: ${CREDENTIALS_DIRECTORY}/token');
    expect(example).toContain('password_file: ${CREDENTIALS_DIRECTORY}/smtp-password');
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  // Instructions with their continuation lines joined, comments dropped.
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages = instructions.reduce<string[][]>((acc, line) => {
    if (line.startsWith('FROM ')) acc.push([]);
    acc.at(-1)?.push(line);
    return acc;
  }, []);
  const [build = [], runtime = []] = stages;
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  function isIgnored(path: string): boolean {
    return ignored.some((pattern) => {
      if (pattern.startsWith('**/')) {
        const tail = pattern.slice(3);
        const name = path.split('/');
        return tail.startsWith('*') ? path.endsWith(tail.slice(1)) : name.includes(tail);
      }
      return path === pattern || path.startsWith(`${pattern}/`);
    });
  }

  it('builds in node:20-bookworm with a toolchain for better-sqlite3 and runs in node:20-bookworm-slim', () => {
    expect(build[0]).toBe('FROM node:20-bookworm AS build');
    expect(build.join('\n')).toMatch(/apt-get install .*python3 make g\+\+/);
    expect(build.join('\n')).toMatch(/npm ci .*npm rebuild better-sqlite3/);
    expect(build.join('\n')).toMatch(/npm run build .*npm prune --omit=dev/);
    expect(runtime[0]).toBe('FROM node:20-bookworm-slim');
  });

  it('COPYs only what the repo has (and .dockerignore lets through) or the build stage made', () => {
    const fromContext = instructions
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(fromContext).toEqual([
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src',
      'config',
    ]);
    for (const path of fromContext) {
      expect(existsSync(join(ROOT, path)), path).toBe(true);
      expect(isIgnored(path), path).toBe(false);
    }
    // What the build stage produces: /app/package.json (copied), node_modules (npm ci), dist (build).
    const fromBuild = runtime.filter((l) => l.startsWith('COPY --from=build ')).map((l) => l.split(/\s+/)[2]);
    expect(fromBuild).toEqual(['/app/package.json', '/app/node_modules', '/app/dist']);
    expect(build).toContain('WORKDIR /app');
  });

  it('sends tsc every file the build compiles, tests and test-support left out', async () => {
    const r = await run(process.execPath, [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--listFilesOnly',
    ]);
    const compiled = r.stdout
      .split('\n')
      .map((f) => relative(ROOT, f.trim()))
      .filter((f) => f.startsWith('src/'));
    expect(compiled).toContain('src/cli.ts');
    expect(compiled.filter(isIgnored)).toEqual([]);
    expect(isIgnored('src/cli.test.ts')).toBe(true);
    expect(isIgnored('node_modules')).toBe(true);
    expect(isIgnored('demo-state')).toBe(true);
  });

  it('runs as a non-root user with a state volume, the config path, port 8749 and the CLI as entrypoint', () => {
    const r = runtime.join('\n');
    expect(r).toMatch(/^USER node$/m);
    expect(r).toMatch(/^VOLUME \/var\/lib\/whatsgate-monitor$/m);
    expect(r).toMatch(/WHATSGATE_MONITOR_CONFIG=\/etc\/whatsgate-monitor\/config\.yml/);
    expect(r).toMatch(/^EXPOSE 8749$/m);
    expect(r).toMatch(/^ENTRYPOINT \["node", "\/app\/dist\/cli\.js"\]$/m);
    expect(r).toMatch(/^CMD \["run"\]$/m);
    expect(text).toContain('0.0.0.0:8749');
  });

  it('ENTRYPOINT works: node dist/cli.js --help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: whatsgate-monitor <command>');
  });

  describe('HEALTHCHECK', () => {
    const line = runtime.find((l) => l.startsWith('HEALTHCHECK '));
    const cmd = JSON.parse(/CMD (\[.*\])$/.exec(line ?? '')?.[1] ?? '[]') as string[];
    const defaultUrl = /^ENV HEALTHCHECK_URL=(\S+)$/m.exec(runtime.join('\n'))?.[1];

    /** Runs the HEALTHCHECK command as Docker would, and returns its exit code. */
    async function probe(url: string): Promise<number> {
      expect(cmd.slice(0, 2)).toEqual(['node', '-e']);
      try {
        await run(process.execPath, cmd.slice(1), {
          env: { PATH: process.env['PATH'] ?? '', HEALTHCHECK_URL: url },
          timeout: 10_000,
        });
        return 0;
      } catch (err) {
        return (err as { code?: number }).code ?? -1;
      }
    }

    async function serve(status: number): Promise<{ url: string; close: () => Promise<void> }> {
      const server: Server = createServer((req, res) => {
        res.statusCode = req.url === '/healthz' ? status : 404;
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      return {
        url: `http://127.0.0.1:${port}/healthz`,
        close: () => new Promise((resolve) => server.close(() => resolve())),
      };
    }

    it('targets /healthz on 8749 by default', () => {
      expect(defaultUrl).toBe('http://127.0.0.1:8749/healthz');
    });

    it.each([
      [200, 0],
      [503, 1],
      [500, 1],
    ])('answers %i → exit %i against a real server', async (status, code) => {
      const server = await serve(status);
      try {
        expect(await probe(server.url)).toBe(code);
      } finally {
        await server.close();
      }
    });

    it('exits 1 when nothing listens', async () => {
      const server = await serve(200);
      await server.close();
      expect(await probe(server.url)).toBe(1);
    });
  });
});

describe('the npm package', () => {
  interface PackResult {
    files: { path: string }[];
  }

  it('npm pack ships dist, config, docs, LICENSE, README and CHANGELOG, and no tests', async () => {
    // --ignore-scripts: `prepare` would rebuild dist/ under the other tests' feet.
    const r = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
    const [pack] = JSON.parse(r.stdout) as PackResult[];
    const files = (pack?.files ?? []).map((f) => f.path);
    for (const path of [
      'LICENSE',
      'README.md',
      'CHANGELOG.md',
      'package.json',
      'docs/reference.md',
      'docs/operations.md',
      'dist/cli.js',
      'config/whatsgate-monitor.example.yml',
      'config/systemd/whatsgate-monitor.service',
    ]) {
      expect(files, path).toContain(path);
    }
    const tests = files.filter(
      (f) =>
        /\.test\.(ts|js)(\.map)?$/.test(f) ||
        f.includes('test-support/') ||
        f.startsWith('test/') ||
        f.startsWith('src/'),
    );
    expect(tests).toEqual([]);
  });

  it('has the MIT LICENSE package.json names, and a CHANGELOG the upgrade section points at', () => {
    const pkg = JSON.parse(read('package.json')) as { license: string; version: string };
    expect(pkg.license).toBe('MIT');
    expect(read('LICENSE')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} whatsgate-monitor contributors\n/);
    const changelog = read('CHANGELOG.md');
    expect(changelog).toContain('## Unreleased');
    expect(changelog).toContain(`## ${pkg.version}`);
    expect(read('docs/operations.md')).toContain('(../CHANGELOG.md)');
  });

  it('ships source maps that carry their sources (src/ is not in the package)', () => {
    const map = JSON.parse(read('dist/cli.js.map')) as { sources: string[]; sourcesContent?: string[] };
    expect(map.sourcesContent?.[0]).toContain('whatsgate-monitor');
    expect(map.sourcesContent).toHaveLength(map.sources.length);
  });

  it('documents an install that works without the registry (the package is not published)', () => {
    const ops = read('docs/operations.md');
    expect(ops).toContain('npm pack');
    expect(ops).toContain('npm install -g ./whatsgate-monitor-0.1.0.tgz');
    expect(ops).not.toMatch(/npm install -g whatsgate-monitor(\s|@)/);
  });
});

describe('npm run demo', () => {
  it('runs the built CLI and builds only when dist/ is missing or stale', async () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts['demo']).toBe('node scripts/build-if-stale.mjs && node dist/cli.js demo');
    const script = pathToFileURL(join(ROOT, 'scripts/build-if-stale.mjs')).href;
    const { isStale } = (await import(script)) as { isStale: (root: string) => boolean };
    const root = mkdtempSync(join(tmpdir(), 'wgm-stale-'));
    mkdirSync(join(root, 'src', 'x'), { recursive: true });
    for (const f of ['tsconfig.json', 'tsconfig.build.json', 'src/x/a.ts', 'src/x/a.test.ts']) {
      writeFileSync(join(root, f), '');
    }
    const at = (path: string, seconds: number): void => utimesSync(join(root, path), seconds, seconds);
    for (const f of ['tsconfig.json', 'tsconfig.build.json', 'src/x/a.ts']) at(f, 1_000);
    expect(isStale(root)).toBe(true); // no dist/cli.js
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist/cli.js'), '');
    at('dist/cli.js', 2_000);
    at('src/x/a.test.ts', 3_000); // tests are not built
    expect(isStale(root)).toBe(false);
    at('src/x/a.ts', 3_000);
    expect(isStale(root)).toBe(true);
  });

  it('names the demo ports in the README quick start', () => {
    const readme = read('README.md');
    for (const port of ['8748', '2525', '8749']) expect(readme).toContain(`**${port}**`);
  });
});
