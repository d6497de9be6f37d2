// A valid raw config (schema and cross-key checks passed) → the complete Config of types.ts:
// defaults applied (defaults.ts), durations in ms, secrets from what the checks read. Each
// channel type converts its own entry (its definition's `resolve`).

import { definitionOf } from '../notify/channels/index.js';
import { DEFAULT_POLICY, DEFAULTS, durationMs as ms } from './defaults.js';
import { parseRate } from '../fields/duration.js';
import { formatPath, type Path } from '../fields/errors.js';
import { normalizeDeviceNumber, parseListen, stripTrailingSlash } from '../fields/fields.js';
import type { RawConfig, RawPolicy } from './schema.js';
import { storeLocation } from './store.js';
import type { DeliveryRules } from '../monitor/delivery.js';
import type { Secrets } from '../fields/secrets.js';
import type {
  AccountConfig,
  ChannelConfig,
  Config,
  DeviceConfig,
  MaintenanceWindow,
  Policy,
  RouteConfig,
} from './types.js';

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
    delivery: cascadeDelivery(base.delivery, raw.delivery),
  };
}

function cascadeDelivery(base: DeliveryRules, raw: RawPolicy['delivery'] | undefined): DeliveryRules {
  if (raw === undefined) return base;
  return {
    checkMs: raw.check === undefined ? base.checkMs : raw.check === 'off' ? null : ms(raw.check),
    stallAfterMs: raw.stall_after === undefined ? base.stallAfterMs : ms(raw.stall_after),
    failedRatio: raw.failed_ratio ?? base.failedRatio,
    minFailed: raw.min_failed ?? base.minFailed,
    lowBalance: raw.low_balance ?? base.lowBalance,
  };
}

/**
 * One object per distinct policy (issue 17): 10,000 devices that inherit their account's policy
 * share its object instead of holding a copy each, and caches keyed by a policy (the delivery
 * rules' context) hold one entry per distinct policy.
 */
class PolicyInterner {
  readonly #seen = new Map<string, Policy>();

  intern(policy: Policy): Policy {
    const d = policy.delivery;
    const key = [
      policy.intervalMs,
      policy.timeoutMs,
      policy.failureThreshold,
      policy.successThreshold,
      policy.repeatIntervalMs,
      policy.sendResolved,
      policy.flapThreshold,
      policy.flapWindowMs,
      policy.reconnect,
      d.checkMs,
      d.stallAfterMs,
      d.failedRatio,
      d.minFailed,
      d.lowBalance,
    ].join('|');
    const seen = this.#seen.get(key);
    if (seen !== undefined) return seen;
    this.#seen.set(key, policy);
    return policy;
  }
}

// Devices without labels share one (frozen) empty object.
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

function labels(
  raw: Readonly<Record<string, string | number | boolean>> | undefined,
): Readonly<Record<string, string>> {
  if (raw === undefined) return NO_LABELS;
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
  const policies = new PolicyInterner();
  const defaults = policies.intern(cascadePolicy(DEFAULT_POLICY, raw.defaults ?? {}));

  const accounts = raw.accounts.map((account, i): AccountConfig => {
    const policy = policies.intern(cascadePolicy(defaults, account));
    const devices = account.devices.map((device): DeviceConfig => {
      const digits = number(device.number);
      return {
        number: digits,
        name: device.name ?? digits,
        labels: labels(device.labels),
        channels: device.channels ?? null,
        policy: policies.intern(cascadePolicy(policy, device)),
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
    const path: Path = ['notify', 'channels', name];
    channels[name] = definitionOf(channel.type).resolve(channel, {
      name,
      secret: (key) => secret([...path, key]),
      timeoutMs: (value) => ms(value ?? DEFAULTS.channelTimeout),
    }) as ChannelConfig;
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
  const stateDir = raw.state_dir ?? DEFAULTS.stateDir;
  // Inline or from store_file, as the checks read it (with ${VAR}s expanded).
  const store = storeLocation(secret(['store']) ?? DEFAULTS.store, stateDir);

  return {
    stateDir,
    store,
    ha: store.kind === 'postgres' ? { leaseMs: ms(raw.ha?.lease ?? DEFAULTS.haLease) } : null,
    listen,
    timezone: raw.timezone ?? DEFAULTS.timezone,
    schedule: raw.schedule ?? DEFAULTS.schedule,
    publicUrl: raw.public_url === undefined ? null : stripTrailingSlash(raw.public_url),
    logLevel: raw.log_level ?? DEFAULTS.logLevel,
    defaults,
    accounts,
    notify: {
      groupWaitMs: ms(raw.notify?.group_wait ?? DEFAULTS.groupWait),
      groupIntervalMs: ms(raw.notify?.group_interval ?? DEFAULTS.groupInterval),
      default: raw.notify?.default ?? [],
      routes,
      channels,
    },
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
