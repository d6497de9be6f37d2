// Gathers what the audit needs from the config and the daemon's database — each device's figures
// from the history's rollups (audit/rollup.ts), not from its rows. Used by the `audit` command and
// by the daemon's scheduled audit, so both report the same thing.

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Config } from '../config/types.js';
import { deliveryFromStoredState } from '../report/delivery.js';
import type { Store } from '../store/store.js';
import { computeAudit, deviceKey, type AuditDevice, type AuditReport, type Period } from './compute.js';
import { auditFromRollups } from './rollup.js';
import { readRunsUpTo } from './runs.js';

/** A device's status counts as known for this long after its last check, at least. */
export const MIN_CHECK_GRACE_MS = 5 * 60_000;
/** …or for this many of its intervals (the budget may stretch the interval). */
export const CHECK_GRACE_INTERVALS = 3;

const NOT_FOUND = /device not found/i;

/** How long gathering the devices runs before it lets the event loop go. */
const SLICE_MS = 10;

export interface AuditOptions {
  readonly now: number;
  readonly since: number;
  /**
   * When the daemon ran. Default: what the daemon recorded (`readRunsUpTo`). The daemon itself
   * passes its records plus the current run up to `now`.
   */
  readonly runningPeriods?: readonly Period[];
}

/** `store` null: no database yet — every device is reported without data. */
export async function auditFromStore(
  store: Store | null,
  config: Config,
  options: AuditOptions,
): Promise<AuditReport> {
  const { now, since } = options;
  const staleAfterMs = config.audit.staleAfterMs;
  const stored = store === null ? [] : await store.getDevices();
  const rows = new Map(stored.map((r) => [deviceKey(r.account, r.device), r]));
  const notFound = new Set<string>();
  const devices: AuditDevice[] = [];
  // An account at a time, letting the event loop go between them once a slice took SLICE_MS:
  // 10,000 devices' stored states take tens of milliseconds (the daemon polls on that loop).
  await yieldToLoop();
  let sliceStart = performance.now();
  for (const account of config.accounts) {
    if (performance.now() - sliceStart >= SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
    for (const d of account.devices) {
      const key = deviceKey(account.name, d.number);
      const row = rows.get(key);
      // The status not_found; in rows written before it existed, the gateway's words as a probe error.
      if (row?.status === 'not_found' || (row?.probeError != null && NOT_FOUND.test(row.probeError))) {
        notFound.add(key);
      }
      const grace = Math.max(MIN_CHECK_GRACE_MS, CHECK_GRACE_INTERVALS * d.policy.intervalMs);
      devices.push({
        account: account.name,
        number: d.number,
        name: d.name,
        observedUntil: row?.lastCheckAt == null ? null : row.lastCheckAt + grace,
        delivery: row === undefined ? null : deliveryFromStoredState(row.state).last,
      });
    }
  }
  const runningPeriods = options.runningPeriods ?? (store === null ? [] : await readRunsUpTo(store, now));
  const input = { devices, runningPeriods, now, since, staleAfterMs, notFound };
  // No database yet: every device without data.
  if (store === null) return computeAudit({ ...input, history: [] });
  const problemPeriods = await store.problemPeriods(since);
  return auditFromRollups(store, { ...input, problemPeriods });
}
