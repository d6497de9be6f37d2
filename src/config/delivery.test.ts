// The `delivery:` section (SPEC §10): defaults, the key-by-key cascade, `check: off`, bounds.

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../fields/errors.js';
import { parseConfig } from './load.js';
import { summarizeConfig } from './summary.js';
import { patched, yamlOf, type Patch } from './test-support/fixtures.js';
import type { Config } from './types.js';

function parse(patches: Patch[]): Config {
  return parseConfig(yamlOf(patched(patches)), { env: {} });
}

function problem(patches: Patch[]): { path: string; message: string } {
  try {
    parse(patches);
  } catch (err) {
    if (err instanceof ConfigError) {
      const [first] = err.issues;
      if (first !== undefined) return { path: first.path, message: first.message };
    }
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('delivery config', () => {
  it('defaults to SPEC §10 values', () => {
    expect(parse([]).defaults.delivery).toEqual({
      checkMs: 300_000,
      stallAfterMs: 900_000,
      failedRatio: 0.2,
      minFailed: 5,
      lowBalance: 100,
    });
  });

  it('cascades defaults → account → device, key by key; check: off and low_balance: 0', () => {
    const config = parse([
      ['defaults.delivery', { check: '2m', min_failed: 3 }],
      ['accounts.0.delivery', { stall_after: '30m', low_balance: 0 }],
      ['accounts.0.devices.0.delivery', { check: 'off', failed_ratio: 0.5 }],
    ]);
    expect(config.defaults.delivery).toMatchObject({ checkMs: 120_000, minFailed: 3, lowBalance: 100 });
    const account = config.accounts[0]!;
    expect(account.policy.delivery).toEqual({
      checkMs: 120_000,
      stallAfterMs: 1_800_000,
      failedRatio: 0.2,
      minFailed: 3,
      lowBalance: 0,
    });
    expect(account.devices[0]!.policy.delivery).toEqual({
      checkMs: null,
      stallAfterMs: 1_800_000,
      failedRatio: 0.5,
      minFailed: 3,
      lowBalance: 0,
    });
    expect(account.devices[1]!.policy.delivery).toEqual(account.policy.delivery);
  });

  it.each([
    ['check 0', 'defaults.delivery.check', 0, 'defaults.delivery.check'],
    ['check without unit', 'defaults.delivery.check', '5', 'defaults.delivery.check'],
    ['check on', 'accounts.0.delivery.check', 'on', 'accounts[0].delivery.check'],
    ['stall_after 0s', 'defaults.delivery.stall_after', '0s', 'defaults.delivery.stall_after'],
    ['failed_ratio 0', 'defaults.delivery.failed_ratio', 0, 'defaults.delivery.failed_ratio'],
    ['failed_ratio 1.5', 'defaults.delivery.failed_ratio', 1.5, 'defaults.delivery.failed_ratio'],
    ['min_failed 0', 'defaults.delivery.min_failed', 0, 'defaults.delivery.min_failed'],
    ['min_failed 2.5', 'defaults.delivery.min_failed', 2.5, 'defaults.delivery.min_failed'],
    [
      'low_balance -1',
      'accounts.0.devices.0.delivery.low_balance',
      -1,
      'accounts[0].devices[0].delivery.low_balance',
    ],
    ['unknown key', 'defaults.delivery.stall', '1m', 'defaults.delivery.stall'],
  ])('refuses %s, naming %s', (_what, key, value, path) => {
    expect(problem([[key, value]]).path).toBe(path);
  });
});

describe('check-config: how often status and balance are read', () => {
  const devices = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ number: String(491500000000 + i), name: `Phone ${i}` }));

  it.each([
    // N devices at interval, rate R, check → the line check-config prints
    // At 30/min the scheduler plans one call every 2.62 s (a quarter of the budget is kept for
    // out-of-band calls, plus the transit margin): one read fits in a 6 s gap.
    [10, '60s', '30/min', '5m', 'status every 1m; balance every 5m (10 devices UP, 10/min spare)'],
    [10, '60s', '30/min', '10s', 'status every 1m; balance every 1m (10 devices UP, 10/min spare)'],
    [
      10,
      '30s',
      '30/min',
      '5m',
      'status every 30s; balance never (status checks leave no room in rate_limit)',
    ],
    [
      40,
      '60s',
      '30/min',
      '5m',
      'status every 1m45s; balance never (status checks leave no room in rate_limit)',
    ],
    [10, '60s', '30/min', 'off', 'status every 1m; balance not read (delivery check: off)'],
  ])('%i devices every %s at %s, check %s', (n, interval, rate, check, line) => {
    const config = parse([
      ['accounts.0.devices', devices(n)],
      ['accounts.0.rate_limit', rate],
      ['accounts.0.interval', interval],
      ['accounts.0.delivery', { check }],
    ]);
    expect(summarizeConfig(config)).toContain(`    reads: ${line}\n`);
  });
});
