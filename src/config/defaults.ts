// Every built-in default of SPEC §4, written once, as the file would spell it. The schema shows
// them to editors (`.meta({ default })`, descriptions), and conversion applies them.

import { parseDuration } from '../fields/duration.js';
import { CHANNEL_TIMEOUT } from '../fields/schema-kit.js';
import type { Policy } from './types.js';

export const DEFAULTS = {
  stateDir: '/var/lib/whatsgate-monitor',
  /** monitor.db in state_dir; `postgres://…` for replicas sharing one database. */
  store: 'sqlite',
  /** `ha.lease` with a PostgreSQL store: a dead leader is replaced within this. */
  haLease: '15s',
  listen: '127.0.0.1:8749',
  timezone: 'UTC',
  schedule: '*/10 * * * * *',
  logLevel: 'info',
  concurrency: 4,
  rateLimit: '30/min',
  channelTimeout: CHANNEL_TIMEOUT,
  staleAfter: '14d',
  retention: '90d',
  /** SPEC §8 grouping: how long the first event after a quiet spell waits for company. */
  groupWait: '30s',
  /** SPEC §8 grouping: the least time between two grouped messages of one channel. */
  groupInterval: '5m',
} as const;

/** The `defaults` cascade's base: what a key of `defaults`, an account and a device falls back to. */
export const POLICY_DEFAULTS = {
  interval: '60s',
  timeout: '10s',
  failure_threshold: 2,
  success_threshold: 1,
  repeat_interval: '4h',
  send_resolved: true,
  flap_threshold: 4,
  flap_window: '30m',
  reconnect: 'link',
  /** SPEC §10; each key cascades on its own (an account may set `delivery: {check: 1m}` only). */
  delivery: {
    check: '5m',
    stall_after: '15m',
    failed_ratio: 0.2,
    min_failed: 5,
    low_balance: 100,
  },
} as const;

/** Valid input only: a default or a value that passed the schema. */
export function durationMs(value: string | number): number {
  const parsed = parseDuration(value);
  if (parsed === null) throw new Error(`invariant: duration ${String(value)} validated by the schema`);
  return parsed;
}

export const DEFAULT_POLICY: Policy = {
  intervalMs: durationMs(POLICY_DEFAULTS.interval),
  timeoutMs: durationMs(POLICY_DEFAULTS.timeout),
  failureThreshold: POLICY_DEFAULTS.failure_threshold,
  successThreshold: POLICY_DEFAULTS.success_threshold,
  repeatIntervalMs: durationMs(POLICY_DEFAULTS.repeat_interval),
  sendResolved: POLICY_DEFAULTS.send_resolved,
  flapThreshold: POLICY_DEFAULTS.flap_threshold,
  flapWindowMs: durationMs(POLICY_DEFAULTS.flap_window),
  reconnect: POLICY_DEFAULTS.reconnect,
  delivery: {
    checkMs: durationMs(POLICY_DEFAULTS.delivery.check),
    stallAfterMs: durationMs(POLICY_DEFAULTS.delivery.stall_after),
    failedRatio: POLICY_DEFAULTS.delivery.failed_ratio,
    minFailed: POLICY_DEFAULTS.delivery.min_failed,
    lowBalance: POLICY_DEFAULTS.delivery.low_balance,
  },
};
