// The per-account families were prom-client metrics; written by us now, they must read exactly as
// prom-client wrote them. The reference here is prom-client itself, fed the same events, with the
// names and help texts taken from our own text.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PROBE_ERROR_REASONS } from '../monitor/model.js';
import type { ProbeErrorReason } from '../monitor/model.js';
import { AccountFamilies } from './account-block.js';
import { CHECK_DURATION_BUCKETS } from './metrics.js';
import type { AccountMetricsView } from './source.js';

type Event =
  | { kind: 'check'; account: string; seconds: number; reason: ProbeErrorReason | null }
  | { kind: 'delivery' | 'skipped' | 'forget' | 'ensure'; account: string };

const NAMES = ['main', 'eu "west"', 'back\\slash', 'new\nline', 'zürich 📱', 'a', 'b'];

/** A seeded sequence of what the poller and the daemon report. */
function events(seed: number, count: number): Event[] {
  let x = seed;
  const rnd = (): number => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  return Array.from({ length: count }, (): Event => {
    const account = pick(NAMES);
    const r = rnd();
    if (r < 0.6) {
      const seconds = pick([rnd() * 40, 0.025, 10, 30, 31, 0, Math.floor(rnd() * 10) / 10]);
      return { kind: 'check', account, seconds, reason: rnd() < 0.2 ? pick(PROBE_ERROR_REASONS) : null };
    }
    return { kind: pick(['delivery', 'skipped', 'skipped', 'ensure', 'forget'] as const), account };
  });
}

/** What metrics.ts did with prom-client before, for the same events. */
function promClientText(
  help: ReadonlyMap<string, string>,
  happened: readonly Event[],
  views: AccountMetricsView[],
) {
  const registry = new Registry();
  const def = { labelNames: ['account'] as const, registers: [registry] };
  const h = (name: string) => ({ name, help: help.get(name)!, ...def });
  const checks = new Counter(h('whatsgate_checks_total'));
  const deliveryChecks = new Counter(h('whatsgate_delivery_checks_total'));
  const deliveryInterval = new Gauge(h('whatsgate_account_delivery_interval_seconds'));
  const errors = new Counter({ ...h('whatsgate_check_errors_total'), labelNames: ['account', 'reason'] });
  const duration = new Histogram({
    ...h('whatsgate_check_duration_seconds'),
    buckets: [...CHECK_DURATION_BUCKETS],
  });
  const skipped = new Counter(h('whatsgate_poll_cycles_skipped_total'));
  const reachable = new Gauge(h('whatsgate_account_reachable'));
  const interval = new Gauge(h('whatsgate_account_interval_seconds'));
  const effective = new Gauge(h('whatsgate_account_effective_interval_seconds'));
  const cycle = new Gauge(h('whatsgate_poll_cycle_duration_seconds'));
  const known = new Set<string>();
  const ensure = (account: string): void => {
    if (known.has(account)) return;
    known.add(account);
    checks.inc({ account }, 0);
    deliveryChecks.inc({ account }, 0);
    for (const reason of PROBE_ERROR_REASONS) errors.inc({ account, reason }, 0);
    duration.zero({ account });
    skipped.inc({ account }, 0);
  };
  for (const e of happened) {
    if (e.kind === 'forget') {
      if (!known.delete(e.account)) continue;
      const account = e.account;
      checks.remove({ account });
      deliveryChecks.remove({ account });
      for (const reason of PROBE_ERROR_REASONS) errors.remove({ account, reason });
      duration.remove({ account });
      skipped.remove({ account });
      continue;
    }
    ensure(e.account);
    if (e.kind === 'check') {
      checks.inc({ account: e.account });
      duration.observe({ account: e.account }, e.seconds);
      if (e.reason !== null) errors.inc({ account: e.account, reason: e.reason });
    }
    if (e.kind === 'delivery') deliveryChecks.inc({ account: e.account });
    if (e.kind === 'skipped') skipped.inc({ account: e.account });
  }
  for (const v of views) {
    const labels = { account: v.account };
    reachable.set(labels, v.reachable ? 1 : 0);
    interval.set(labels, v.intervalMs / 1000);
    effective.set(labels, v.effectiveIntervalMs / 1000);
    if (v.lastCycleDurationMs !== null) cycle.set(labels, v.lastCycleDurationMs / 1000);
    if (v.deliveryIntervalMs != null) deliveryInterval.set(labels, v.deliveryIntervalMs / 1000);
  }
  return registry.metrics();
}

function ours(happened: readonly Event[], views: AccountMetricsView[]): string {
  const families = new AccountFamilies(CHECK_DURATION_BUCKETS);
  for (const e of happened) {
    if (e.kind === 'forget') families.forget(e.account);
    else if (e.kind === 'check') families.recordCheck(e.account, e.seconds, e.reason);
    else if (e.kind === 'delivery') families.ensure(e.account).deliveryChecks += 1;
    else if (e.kind === 'skipped') families.ensure(e.account).skipped += 1;
    else families.ensure(e.account);
  }
  return families.renderToString(views);
}

const views: AccountMetricsView[] = [
  {
    account: 'b',
    reachable: true,
    intervalMs: 60_000,
    effectiveIntervalMs: 61_234.5,
    lastCycleDurationMs: 4_321,
  },
  {
    account: 'eu "west"',
    reachable: false,
    intervalMs: 30_000,
    effectiveIntervalMs: 90_000,
    lastCycleDurationMs: null,
    deliveryIntervalMs: Number.POSITIVE_INFINITY,
  },
  {
    account: 'main',
    reachable: true,
    intervalMs: 60_000,
    effectiveIntervalMs: 60_000,
    lastCycleDurationMs: 1,
    deliveryIntervalMs: 300_000,
  },
  {
    account: 'zürich 📱',
    reachable: true,
    intervalMs: 1_000,
    effectiveIntervalMs: 1_000,
    lastCycleDurationMs: 0,
    deliveryIntervalMs: null,
  },
];

describe('AccountFamilies', () => {
  it.each([1, 2, 3, 42, 1234])(
    'writes what prom-client wrote for the same events (seed %i)',
    async (seed) => {
      const happened = events(seed, 400);
      const text = ours(happened, views);
      const help = new Map([...text.matchAll(/^# HELP (\S+) (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
      expect(help.size).toBe(10);
      // Ours ends each family with a blank line, as prom-client's "\n\n" join put one between them.
      expect(text).toBe(`${await promClientText(help, happened, views)}\n`);
    },
  );

  it('writes every family, empty, before any account is seen', async () => {
    const text = ours([], []);
    const help = new Map([...text.matchAll(/^# HELP (\S+) (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    expect(text).toBe(`${await promClientText(help, [], [])}\n`);
  });

  it('counts a call whose duration is not a number, then refuses it, as prom-client did', () => {
    const families = new AccountFamilies(CHECK_DURATION_BUCKETS);
    expect(() => families.recordCheck('main', Number.NaN, null)).toThrow(TypeError);
    expect(families.renderToString([])).toContain('whatsgate_checks_total{account="main"} 1\n');
    expect(families.renderToString([])).toContain(
      'whatsgate_check_duration_seconds_count{account="main"} 0\n',
    );
  });
});
