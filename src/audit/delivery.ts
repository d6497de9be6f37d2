// The audit's delivery health (SPEC §10, issue 13): per device, today's counts of the last balance
// reading and how long each delivery problem held within the audited period. Pure.

import type { DeliveryProblem, DeliveryReading } from '../monitor/delivery.js';
import type { DeliveryProblemPeriod } from '../store/store.js';

export interface DeliveryAudit {
  /** The last balance reading: the gateway's counts for its day. Null when never read. */
  readonly today: DeliveryReading | null;
  /** Time each problem held within the period; a problem still holding counts up to `now`. */
  readonly problemMs: Readonly<Record<DeliveryProblem, number>>;
}

/**
 * Sums the overlap of one device's problem periods with `[start, now)`. The store keeps at most
 * one open period per device and problem and never two overlapping ones, so a plain sum is exact.
 */
export function deliveryAudit(
  today: DeliveryReading | null,
  periods: readonly DeliveryProblemPeriod[],
  start: number,
  now: number,
): DeliveryAudit {
  const problemMs: Record<DeliveryProblem, number> = { stalled: 0, failing: 0, balance_low: 0 };
  for (const p of periods) {
    const from = Math.max(p.startedAt, start);
    const to = Math.min(p.endedAt ?? now, now);
    if (to > from) problemMs[p.problem] += to - from;
  }
  return { today, problemMs };
}

/** Hours, two decimals, for JSON. */
export function hours(ms: number): number {
  return Math.round(ms / 36_000) / 100;
}

/** `500/50/10 · 900 left` (sent/pending/failed, balance remaining); `–` until read. */
export function deliveryTodayCell(d: DeliveryAudit): string {
  const r = d.today;
  return r === null ? '–' : `${r.successful}/${r.pending}/${r.failed} · ${r.remaining} left`;
}

/** Hours stalled in the period, one decimal; `–` for none. */
export function stalledCell(d: DeliveryAudit): string {
  const ms = d.problemMs.stalled;
  if (ms <= 0) return '–';
  const h = Math.round(ms / 360_000) / 10;
  return h === 0 ? '<0.1' : h.toFixed(1);
}
