// The checks that span keys (references, uniqueness, either-or pairs, secret files), then the
// conversion of a valid raw config into the complete Config of types.ts.
//
// The checks read the raw tree defensively instead of zod's output, so they run — and report —
// even when zod found problems elsewhere: all errors at once (SPEC §4).

import { isAbsolute, resolve as resolvePath } from 'node:path';
import { formatPath, type IssueList, type Path } from './errors.js';
import { parseDuration, parseRate } from './duration.js';
import {
  normalizeDeviceNumber,
  parseListen,
  secretProblem,
  stripTrailingSlash,
  webhookSecretProblem,
} from './fields.js';
import type { RawConfig, RawPolicy } from './schema.js';
import type {
  AccountConfig,
  ChannelConfig,
  Config,
  DeviceConfig,
  MaintenanceWindow,
  Policy,
  RouteConfig,
  SmtpSettings,
} from './types.js';

/** Built-in values of SPEC §4 for everything the file may leave out. */
export const DEFAULT_POLICY: Policy = {
  intervalMs: 60_000,
  timeoutMs: 10_000,
  failureThreshold: 2,
  successThreshold: 1,
  repeatIntervalMs: 4 * 3_600_000,
  sendResolved: true,
  flapThreshold: 4,
  flapWindowMs: 30 * 60_000,
  reconnect: 'link',
};

export const DEFAULTS = {
  stateDir: '/var/lib/whatsgate-monitor',
  listen: '127.0.0.1:8749',
  timezone: 'UTC',
  schedule: '*/10 * * * * *',
  logLevel: 'info',
  concurrency: 4,
  rateLimit: '30/min',
  channelTimeout: '10s',
  staleAfter: '14d',
  retention: '90d',
} as const;

export interface SecretSource {
  readonly readFile: (path: string) => string;
  /** Relative `*_file` paths are taken from here (the config file's folder). */
  readonly baseDir: string;
}

/** Resolved secrets by the path of their inline key (`accounts[0].token`). */
export type Secrets = ReadonlyMap<string, string>;

// --- cross-key checks -------------------------------------------------------------------------

type Tree = Record<string, unknown>;

function record(value: unknown): Tree | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Tree) : null;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function deviceNumberOf(value: unknown): string | null {
  return typeof value === 'string' || typeof value === 'number' ? normalizeDeviceNumber(value) : null;
}

export function checkAcrossKeys(root: unknown, issues: IssueList, source: SecretSource): Secrets {
  const secrets = new Map<string, string>();
  const top = record(root) ?? {};
  const notify = record(top['notify']);
  const channelsTree =
    notify === null ? {} : notify['channels'] === undefined ? {} : record(notify['channels']);
  // When notify.channels itself is malformed zod says so; guessing at references would only add noise.
  const channelNames = channelsTree === null ? null : Object.keys(channelsTree);

  const checkRefs = (value: unknown, path: Path): void => {
    if (channelNames === null) return;
    list(value).forEach((name, i) => {
      if (typeof name === 'string' && !channelNames.includes(name)) {
        const known =
          channelNames.length === 0
            ? 'no channels are configured under notify.channels'
            : `configured: ${channelNames.join(', ')}`;
        issues.add([...path, i], `unknown channel "${name}" (${known})`);
      }
    });
  };

  const readSecret = (owner: Tree, path: Path, key: string, required: boolean): string | undefined => {
    const fileKey = `${key}_file`;
    const inline = owner[key];
    const file = owner[fileKey];
    if (inline !== undefined && file !== undefined) {
      issues.add([...path, fileKey], `set either ${key} or ${fileKey}, not both`);
      return undefined;
    }
    if (inline === undefined && file === undefined) {
      if (required) issues.add([...path, key], `required (or ${fileKey})`);
      return undefined;
    }
    let value: string;
    let where: Path;
    let suffix = '';
    if (inline !== undefined) {
      if (typeof inline !== 'string') return undefined;
      value = inline;
      where = [...path, key];
    } else {
      if (typeof file !== 'string' || file === '') return undefined;
      const filePath = isAbsolute(file) ? file : resolvePath(source.baseDir, file);
      where = [...path, fileKey];
      try {
        value = source.readFile(filePath).replace(/\r?\n$/, '');
      } catch (err) {
        issues.add(where, `cannot read ${filePath}: ${describeFsError(err)}`);
        return undefined;
      }
      suffix = ` (in ${filePath})`;
    }
    const problem = secretProblem(value);
    if (problem !== null) {
      issues.add(where, `${problem}${suffix}`);
      return undefined;
    }
    secrets.set(formatPath([...path, key]), value);
    return value;
  };

  // Accounts and devices.
  const accountNames = new Map<string, number>();
  const allNumbers = new Set<string>();
  list(top['accounts']).forEach((item, i) => {
    const account = record(item);
    if (account === null) return;
    const path: Path = ['accounts', i];
    const name = account['name'];
    if (typeof name === 'string') {
      const first = accountNames.get(name);
      if (first === undefined) accountNames.set(name, i);
      else issues.add([...path, 'name'], `duplicate account name "${name}" (also accounts[${first}])`);
    }
    const hasSubdomain = account['subdomain'] !== undefined;
    const hasBaseUrl = account['base_url'] !== undefined;
    if (hasSubdomain && hasBaseUrl)
      issues.add([...path, 'base_url'], 'set either subdomain or base_url, not both');
    if (!hasSubdomain && !hasBaseUrl) issues.add([...path, 'subdomain'], 'required (or base_url)');
    readSecret(account, path, 'token', true);

    const numbers = new Map<string, number>();
    list(account['devices']).forEach((entry, k) => {
      const device = record(entry);
      if (device === null) return;
      const number = deviceNumberOf(device['number']);
      if (number !== null) {
        const first = numbers.get(number);
        if (first === undefined) numbers.set(number, k);
        else
          issues.add(
            [...path, 'devices', k, 'number'],
            `duplicate device ${number} (also devices[${first}])`,
          );
        allNumbers.add(number);
      }
      checkRefs(device['channels'], [...path, 'devices', k, 'channels']);
    });
  });

  // Notification channels and their references.
  if (notify !== null) {
    checkRefs(notify['default'], ['notify', 'default']);
    list(notify['routes']).forEach((route, r) => {
      checkRefs(record(route)?.['channels'], ['notify', 'routes', r, 'channels']);
    });
  }
  for (const [name, value] of Object.entries(channelsTree ?? {})) {
    const channel = record(value);
    if (channel === null) continue;
    const path: Path = ['notify', 'channels', name];
    if (channel['type'] === 'email') checkEmail(channel, path);
    if (channel['type'] === 'webhook') {
      const secret = readSecret(channel, path, 'secret', false);
      const problem = secret === undefined ? null : webhookSecretProblem(secret);
      if (problem !== null)
        issues.add([...path, channel['secret'] === undefined ? 'secret_file' : 'secret'], problem);
    }
  }

  function checkEmail(channel: Tree, path: Path): void {
    const direct = ['host', 'port', 'secure', 'user', 'password', 'password_file'];
    if (channel['smtp'] !== undefined) {
      for (const key of direct) {
        if (channel[key] !== undefined) {
          issues.add([...path, key], 'not allowed together with smtp (put it in the smtp URL, or drop smtp)');
        }
      }
      return;
    }
    if (channel['host'] === undefined) issues.add([...path, 'smtp'], 'required (or host)');
    const hasPassword = channel['password'] !== undefined || channel['password_file'] !== undefined;
    if (channel['user'] !== undefined && !hasPassword)
      issues.add([...path, 'password'], 'required with user (or password_file)');
    if (channel['user'] === undefined && hasPassword)
      issues.add([...path, 'user'], 'required with a password');
    readSecret(channel, path, 'password', false);
  }

  const audit = record(top['audit']);
  if (audit !== null) checkRefs(audit['channels'], ['audit', 'channels']);

  list(top['maintenance']).forEach((item, w) => {
    const devices = record(item)?.['devices'];
    list(devices).forEach((entry, k) => {
      const number = deviceNumberOf(entry);
      if (number !== null && !allNumbers.has(number)) {
        issues.add(['maintenance', w, 'devices', k], `${number} is not a configured device`);
      }
    });
  });

  return secrets;
}

export function describeFsError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return typeof code === 'string' ? code : 'unreadable';
  }
}

// --- conversion -------------------------------------------------------------------------------

/** Valid input only: every value here already passed the schema and the checks above. */
function ms(value: string | number): number {
  const parsed = parseDuration(value);
  if (parsed === null) throw new Error('invariant: duration validated by the schema');
  return parsed;
}

export function cascadePolicy(base: Policy, raw: Partial<RawPolicy>): Policy {
  return {
    intervalMs: raw.interval === undefined ? base.intervalMs : ms(raw.interval),
    timeoutMs: raw.timeout === undefined ? base.timeoutMs : ms(raw.timeout),
    failureThreshold: raw.failure_threshold ?? base.failureThreshold,
    successThreshold: raw.success_threshold ?? base.successThreshold,
    repeatIntervalMs: raw.repeat_interval === undefined ? base.repeatIntervalMs : ms(raw.repeat_interval),
    sendResolved: raw.send_resolved ?? base.sendResolved,
    flapThreshold: raw.flap_threshold ?? base.flapThreshold,
    flapWindowMs: raw.flap_window === undefined ? base.flapWindowMs : ms(raw.flap_window),
    reconnect: raw.reconnect ?? base.reconnect,
  };
}

function labels(
  raw: Readonly<Record<string, string | number | boolean>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw ?? {})) out[key] = String(value);
  return out;
}

function number(value: string | number): string {
  const digits = normalizeDeviceNumber(value);
  if (digits === null) throw new Error('invariant: device number validated by the schema');
  return digits;
}

export function buildConfig(raw: RawConfig, secrets: Secrets): Config {
  const secret = (path: Path): string | null => secrets.get(formatPath(path)) ?? null;
  const defaults = cascadePolicy(DEFAULT_POLICY, raw.defaults ?? {});

  const accounts = raw.accounts.map((account, i): AccountConfig => {
    const policy = cascadePolicy(defaults, account);
    const devices = account.devices.map((device): DeviceConfig => {
      const digits = number(device.number);
      return {
        number: digits,
        name: device.name ?? digits,
        labels: labels(device.labels),
        channels: device.channels ?? null,
        policy: cascadePolicy(policy, device),
      };
    });
    const token = secret(['accounts', i, 'token']);
    if (token === null) throw new Error('invariant: token checked before conversion');
    return {
      name: account.name,
      baseUrl:
        account.subdomain !== undefined
          ? `https://${account.subdomain.toLowerCase()}.whatsgate.net/api`
          : stripTrailingSlash(account.base_url ?? ''),
      token,
      concurrency: account.concurrency ?? DEFAULTS.concurrency,
      rateLimitPerMinute: parseRate(account.rate_limit ?? DEFAULTS.rateLimit) ?? 30,
      policy,
      devices,
    };
  });

  const channels: Record<string, ChannelConfig> = {};
  for (const [name, channel] of Object.entries(raw.notify?.channels ?? {})) {
    const timeoutMs = ms(channel.timeout ?? DEFAULTS.channelTimeout);
    const path: Path = ['notify', 'channels', name];
    switch (channel.type) {
      case 'email': {
        const smtp: SmtpSettings =
          channel.smtp !== undefined
            ? {
                url: channel.smtp,
                host: null,
                port: null,
                secure: channel.smtp.startsWith('smtps:'),
                user: null,
                password: null,
              }
            : {
                url: null,
                host: channel.host ?? null,
                port: channel.port ?? (channel.secure === true ? 465 : 587),
                secure: channel.secure ?? channel.port === 465,
                user: channel.user ?? null,
                password: secret([...path, 'password']),
              };
        const to = typeof channel.to === 'string' ? [channel.to] : channel.to;
        channels[name] = { type: 'email', name, smtp, from: channel.from, to, timeoutMs };
        break;
      }
      case 'webhook':
        channels[name] = {
          type: 'webhook',
          name,
          url: channel.url,
          secret: secret([...path, 'secret']),
          headers: { ...channel.headers },
          timeoutMs,
        };
        break;
      case 'alertmanager': {
        const urls = typeof channel.url === 'string' ? [channel.url] : channel.url;
        channels[name] = { type: 'alertmanager', name, urls: urls.map(stripTrailingSlash), timeoutMs };
        break;
      }
    }
  }

  const routes = (raw.notify?.routes ?? []).map((route): RouteConfig => ({
    match: labels(route.match),
    channels: route.channels,
  }));

  const maintenance = (raw.maintenance ?? []).map((window): MaintenanceWindow => ({
    devices: window.devices === 'all' ? 'all' : [...new Set(window.devices.map(number))],
    schedule: window.schedule,
    durationMs: ms(window.duration),
  }));

  const listen = parseListen(raw.listen ?? DEFAULTS.listen);
  if (typeof listen === 'string') throw new Error('invariant: listen validated by the schema');
  const basicAuth = raw.web?.basic_auth;

  return {
    stateDir: raw.state_dir ?? DEFAULTS.stateDir,
    listen,
    timezone: raw.timezone ?? DEFAULTS.timezone,
    schedule: raw.schedule ?? DEFAULTS.schedule,
    publicUrl: raw.public_url === undefined ? null : stripTrailingSlash(raw.public_url),
    logLevel: raw.log_level ?? DEFAULTS.logLevel,
    defaults,
    accounts,
    notify: { default: raw.notify?.default ?? [], routes, channels },
    audit: {
      schedule: raw.audit?.schedule ?? null,
      channels: raw.audit?.channels ?? [],
      staleAfterMs: ms(raw.audit?.stale_after ?? DEFAULTS.staleAfter),
    },
    maintenance,
    retentionMs: ms(raw.retention ?? DEFAULTS.retention),
    web: {
      basicAuth:
        basicAuth === undefined ? null : { user: basicAuth.user, passwordHash: basicAuth.password_hash },
    },
  };
}
