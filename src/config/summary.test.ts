import { describe, expect, it } from 'vitest';
import { plannedSpacingMs } from '../monitor/budget.js';
import { DueQueue } from '../monitor/due-queue.js';
import { parseConfig } from './load.js';
import { accountBudget, configWarnings, summarizeConfig } from './summary.js';
import { patched, yamlOf, type Patch } from './test-support/fixtures.js';
import type { Config } from './types.js';

function config(patches: readonly Patch[] = []): Config {
  return parseConfig(yamlOf(patched(patches)), { env: {} });
}

function devices(count: number): { number: string }[] {
  return Array.from({ length: count }, (_, i) => ({ number: String(100_000_000 + i) }));
}

describe('summarizeConfig', () => {
  it('lists accounts, devices per account, channels, schedule, listen and state_dir', () => {
    const text = summarizeConfig(
      config([
        [
          'accounts.1',
          { name: 'backup', base_url: 'http://user:pw@127.0.0.1:8080/api', token: 't', devices: devices(3) },
        ],
      ]),
      { source: '/etc/whatsgate-monitor/config.yml' },
    );
    expect(text).toContain('Config OK: /etc/whatsgate-monitor/config.yml');
    expect(text).toContain('Accounts: 2, devices: 5');
    expect(text).toContain(
      'main: 2 devices, https://acme.whatsgate.net/api, rate 30/min, concurrency 4, interval 1m',
    );
    expect(text).toContain('backup: 3 devices, http://***@127.0.0.1:8080/api');
    expect(text).not.toContain('pw');
    expect(text).toContain('Channels: ops (webhook); default: ops; routes: 0');
    expect(text).toContain('Schedule: */10 * * * * * (timezone UTC)');
    expect(text).toContain('Listen: 127.0.0.1:8749');
    expect(text).toContain('State dir: /var/lib/whatsgate-monitor');
    expect(text).not.toContain('Warnings');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('shows the range of intervals when devices differ', () => {
    const text = summarizeConfig(config([['accounts.0.devices.0.interval', '30s']]));
    expect(text).toContain('interval 30s–1m');
  });

  it('ends with the warnings', () => {
    const text = summarizeConfig(config([['listen', '0.0.0.0:8749']]));
    expect(text).toMatch(/Warnings \(1\):\n {2}- listen 0\.0\.0\.0:8749 is reachable from other hosts/);
  });
});

describe('configWarnings', () => {
  it('has none for a sensible config', () => {
    expect(configWarnings(config())).toEqual([]);
  });

  it.each([
    [
      'a schedule slower than the shortest interval',
      [['schedule', '0 * * * *']],
      'waits up to 1h between ticks, but the shortest interval is 1m',
    ],
    [
      'more devices than the rate allows at their interval',
      [['accounts.0.devices', devices(45)]],
      'account main: 45 devices at their intervals need 45/min but rate_limit is 30/min (a quarter kept for QR codes and other calls): each device will be checked about every 1m59s instead of 1m',
    ],
    ['a rate above the gateway limit', [['accounts.0.rate_limit', '2/s']], "exceeds the gateway's 60/min"],
    ['an account without devices', [['accounts.0.devices', []]], 'account main has no devices'],
    [
      'a schedule that ticks on 29 February only',
      [['schedule', '0 0 29 2 *']],
      'schedule "0 0 29 2 *" waits up to 1461d (about 4 years) between ticks',
    ],
    [
      'a timeout as long as the interval',
      [['defaults.timeout', '1m']],
      'timeout is not shorter than interval for 2 devices',
    ],
    ['no channels', [['notify', undefined]], 'no notification channels are configured'],
    ['no default channels', [['notify.default', []]], 'notify.default is empty'],
    ['an audit with nowhere to go', [['audit.schedule', '0 9 * * 1']], 'audit.channels is empty'],
    ['an open listen address', [['listen', ':8749']], 'without web.basic_auth'],
  ] as [string, Patch[], string][])('warns about %s', (_what, patches, warning) => {
    const warnings = configWarnings(config(patches));
    expect(warnings.some((w) => w.includes(warning))).toBe(true);
  });

  it('does not warn about an open listen address behind basic auth', () => {
    const hash = '$2y$10$abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234';
    const warnings = configWarnings(
      config([
        ['listen', '0.0.0.0:8749'],
        ['web.basic_auth', { user: 'ops', password_hash: hash }],
      ]),
    );
    expect(warnings).toEqual([]);
  });
});

describe('accountBudget', () => {
  it.each([
    [30, '60s', 30, 1],
    [60, '60s', 60, 2],
    [10, '10s', 60, 2],
    [5, '5m', 1, 1],
  ])('%d devices every %s with 30/min need %d/min, stretch ×%d', (count, interval, needed, stretch) => {
    const account = config([
      ['accounts.0.devices', devices(count)],
      ['accounts.0.interval', interval],
    ]).accounts[0]!;
    const budget = accountBudget(account);
    expect(budget.neededPerMinute).toBeCloseTo(needed, 10);
    expect(budget.stretch).toBeCloseTo(stretch, 10);
  });
});

describe('check-config and the daemon announce the same effective interval', () => {
  it.each([
    // 3 devices every 2 s at 25/min: a quarter (6) kept for out-of-band calls leaves 19 checks
    // a minute, spacing (60 s + 1 s margin) / 19 = 3.211 s, so each is checked every 9.6 s —
    // check-config and the daemon both say 10s
    [3, '2s', '25/min', 10, '10s'],
    [45, '1m', '30/min', 119, '1m59s'],
    [7, '10s', '29/min', 19, '19s'],
  ])('%d devices every %s at %s: about every %is', (count, interval, rate, seconds, text) => {
    const c = config([
      ['accounts.0.devices', devices(count)],
      ['accounts.0.rate_limit', rate],
      ['defaults.interval', interval],
    ]);
    const account = c.accounts[0]!;
    // what the daemon's scheduler plans and warns with
    const plan = new DueQueue().apply(
      account.devices.map((d) => ({ number: d.number, intervalMs: d.policy.intervalMs })),
      plannedSpacingMs(account.rateLimitPerMinute),
      0,
    );
    expect(Math.round(plan.effectiveIntervalMs / 1000)).toBe(seconds);
    expect(configWarnings(c).join('\n')).toContain(`checked about every ${text} instead of`);
  });
});
