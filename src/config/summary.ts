// What `check-config` prints, and the warnings `run` should log: a valid config can still be
// one that will not do what the operator meant.

import { formatDuration, formatRate } from '../fields/duration.js';
import { cronLongestGapMs, formatListen, isLoopbackHost } from '../fields/fields.js';
import { plannedSpacingMs } from '../monitor/budget.js';
import { deliveryPace } from '../monitor/delivery-schedule.js';
import { effectiveIntervalMs } from '../monitor/round.js';
import { renewEveryMs, worstFailoverMs } from '../monitor/lease.js';
import { describeStore } from './store.js';
import type { AccountConfig, Config } from './types.js';

/** The gateway's own limit, shared with the customer's message sending (SPEC §2). */
const GATEWAY_LIMIT_PER_MINUTE = 60;

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** Credentials in a base URL stay out of the summary. */
function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.username === '' && url.password === '') return text;
    url.username = '***';
    url.password = '';
    return url.toString().replace(/\/+$/, '');
  } catch {
    return text;
  }
}

function deviceIntervals(account: AccountConfig): number[] {
  return account.devices.length > 0
    ? account.devices.map((d) => d.policy.intervalMs)
    : [account.policy.intervalMs];
}

function intervalText(account: AccountConfig): string {
  const intervals = deviceIntervals(account);
  const min = Math.min(...intervals);
  const max = Math.max(...intervals);
  return min === max ? formatDuration(min) : `${formatDuration(min)}–${formatDuration(max)}`;
}

/**
 * Checks per minute an account needs to see each device once per interval, and the interval
 * its fastest device will really get once checks are spread within `rate_limit`.
 */
export function accountBudget(account: AccountConfig): { neededPerMinute: number; stretch: number } {
  const neededPerMinute = account.devices.reduce((sum, d) => sum + 60_000 / d.policy.intervalMs, 0);
  return { neededPerMinute, stretch: Math.max(1, neededPerMinute / account.rateLimitPerMinute) };
}

/**
 * How often an account's devices are really read, with every device UP (the most balance reads
 * there can be): status every max(interval, N·60/R), balance every max(check, N_up·60/S), S the
 * spare left between status checks (monitor/delivery-schedule.ts, README "Budget arithmetic").
 */
export function readsText(account: AccountConfig): string {
  // The scheduler's spacing: the out-of-band share set aside (monitor/budget.ts).
  const spacingMs = plannedSpacingMs(account.rateLimitPerMinute);
  const intervals = account.devices.map((d) => d.policy.intervalMs);
  if (intervals.length === 0) return 'no devices';
  const status = effectiveIntervalMs(intervals, account.rateLimitPerMinute);
  const checks = account.devices.flatMap((d) =>
    d.policy.delivery.checkMs === null ? [] : [d.policy.delivery.checkMs],
  );
  const statusText = `status every ${formatDuration(Math.ceil(status / 1000) * 1000)}`;
  if (checks.length === 0) return `${statusText}; balance not read (delivery check: off)`;
  const pace = deliveryPace(checks, intervals, spacingMs);
  if (!Number.isFinite(pace.effectiveIntervalMs))
    return `${statusText}; balance never (status checks leave no room in rate_limit)`;
  const balance = `balance every ${formatDuration(Math.ceil(pace.effectiveIntervalMs / 1000) * 1000)}`;
  return `${statusText}; ${balance} (${plural(checks.length, 'device')} UP, ${formatRate(Math.round(pace.sparePerMinute * 10) / 10)} spare)`;
}

/** The longest wait between ticks in words: "0 0 29 2 *" waits 4 years, not "every 1d". */
export function describeLongestGap(gapMs: number): string {
  if (!Number.isFinite(gapMs)) return 'never ticks';
  const years = gapMs / (365.25 * 86_400_000);
  const rough = years >= 1.5 ? ` (about ${Math.round(years)} years)` : '';
  return `waits up to ${formatDuration(gapMs)}${rough} between ticks`;
}

export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const allIntervals = config.accounts.flatMap(deviceIntervals);
  const shortest = Math.min(...allIntervals);
  const gap = cronLongestGapMs(config.schedule);
  if (gap > shortest) {
    warnings.push(
      `schedule "${config.schedule}" ${describeLongestGap(gap)}, but the shortest interval is ${formatDuration(shortest)}: devices will be checked less often than configured`,
    );
  }

  for (const account of config.accounts) {
    const name = `account ${account.name}`;
    if (account.devices.length === 0) warnings.push(`${name} has no devices`);
    if (account.rateLimitPerMinute > GATEWAY_LIMIT_PER_MINUTE) {
      warnings.push(
        `${name}: rate_limit ${formatRate(account.rateLimitPerMinute)} exceeds the gateway's ${GATEWAY_LIMIT_PER_MINUTE}/min, which is shared with message sending: expect 429 answers`,
      );
    }
    const { neededPerMinute } = accountBudget(account);
    const fastest = Math.min(...deviceIntervals(account));
    // The daemon's own computation (the due queue's stretch floor), so both say the same.
    const effective = effectiveIntervalMs(
      account.devices.map((d) => d.policy.intervalMs),
      account.rateLimitPerMinute,
    );
    if (account.devices.length > 0 && effective > fastest) {
      warnings.push(
        `${name}: ${plural(account.devices.length, 'device')} at their intervals need ${formatRate(neededPerMinute)} but rate_limit is ${formatRate(account.rateLimitPerMinute)} (a quarter kept for QR codes and other calls): each device will be checked about every ${formatDuration(Math.round(effective / 1000) * 1000)} instead of ${formatDuration(fastest)}`,
      );
    }
    const slow = account.devices.filter((d) => d.policy.timeoutMs >= d.policy.intervalMs);
    if (slow.length > 0) {
      warnings.push(`${name}: timeout is not shorter than interval for ${plural(slow.length, 'device')}`);
    }
  }

  const channelCount = Object.keys(config.notify.channels).length;
  if (channelCount === 0) {
    warnings.push('no notification channels are configured: alerts show only in metrics and the status page');
  } else if (config.notify.default.length === 0) {
    warnings.push('notify.default is empty: events that no route or device claims are not sent anywhere');
  }
  if (config.audit.schedule !== null && config.audit.channels.length === 0) {
    warnings.push('audit.schedule is set but audit.channels is empty: the report is not sent anywhere');
  }
  if (!isLoopbackHost(config.listen.host) && config.web.basicAuth === null) {
    warnings.push(
      `listen ${formatListen(config.listen)} is reachable from other hosts without web.basic_auth: the status page and API are open, and /reconnect (QR codes) is not served`,
    );
  }
  return warnings;
}

/** Which store, and with PostgreSQL the lease: never the URL's user, password or query. */
function storeText(config: Config): string {
  const store = describeStore(config.store);
  if (config.ha === null) return `${store} (one process)`;
  const lease = config.ha.leaseMs;
  const every = formatDuration(Math.round(renewEveryMs(lease)));
  const failover = formatDuration(Math.ceil(worstFailoverMs(lease) / 1000) * 1000);
  return `${store}; HA lease ${formatDuration(lease)}, renewed every ${every}: a leader that dies is replaced within ${failover}`;
}

/** How many devices the config monitors, over all accounts. */
export function deviceCount(config: Pick<Config, 'accounts'>): number {
  return config.accounts.reduce((sum, a) => sum + a.devices.length, 0);
}

/** A few lines a person reads after `check-config`: what will be monitored, and how. */
export function summarizeConfig(config: Config, options: { source?: string } = {}): string {
  const lines: string[] = [];
  lines.push(options.source === undefined ? 'Config OK' : `Config OK: ${options.source}`);
  const devices = deviceCount(config);
  lines.push(`Accounts: ${config.accounts.length}, devices: ${devices}`);
  for (const account of config.accounts) {
    lines.push(
      `  ${account.name}: ${plural(account.devices.length, 'device')}, ${redactUrl(account.baseUrl)}, rate ${formatRate(account.rateLimitPerMinute)}, concurrency ${account.concurrency}, interval ${intervalText(account)}`,
    );
    lines.push(`    reads: ${readsText(account)}`);
  }
  const channels = Object.values(config.notify.channels);
  lines.push(
    channels.length === 0
      ? 'Channels: none'
      : `Channels: ${channels.map((c) => `${c.name} (${c.type})`).join(', ')}; default: ${config.notify.default.join(', ') || 'none'}; routes: ${config.notify.routes.length}`,
  );
  lines.push(`Schedule: ${config.schedule} (timezone ${config.timezone})`);
  lines.push(`Listen: ${formatListen(config.listen)}${config.web.basicAuth === null ? '' : ' (basic auth)'}`);
  lines.push(`State dir: ${config.stateDir}`);
  lines.push(`Store: ${storeText(config)}`);
  lines.push(`Public URL: ${config.publicUrl ?? 'not set'}`);
  lines.push(
    config.audit.schedule === null
      ? `Audit: no scheduled report; stale after ${formatDuration(config.audit.staleAfterMs)}`
      : `Audit: ${config.audit.schedule} to ${config.audit.channels.join(', ') || 'no channel'}; stale after ${formatDuration(config.audit.staleAfterMs)}`,
  );
  lines.push(`Maintenance windows: ${config.maintenance.length}`);
  lines.push(`Retention: ${formatDuration(config.retentionMs)}`);
  const warnings = configWarnings(config);
  if (warnings.length > 0) {
    lines.push(`Warnings (${warnings.length}):`);
    for (const warning of warnings) lines.push(`  - ${warning}`);
  }
  return `${lines.join('\n')}\n`;
}
