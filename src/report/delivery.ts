// Delivery health (SPEC §10) as the views show it — `status`, `status --json`, `/api/v1/devices`,
// the status page: today's counts of the last reading and the problems that hold, read from the
// device state as the store keeps it (the `delivery` part of the row's state JSON).

import {
  DELIVERY_PROBLEMS,
  initialDeliveryState,
  problems,
  type DeliveryProblem,
  type DeliveryState,
} from '../monitor/delivery.js';
import { isoOrNull } from './time.js';

/** How the status page, `status` and the messages name a problem in words. */
export const PROBLEM_WORDS: Readonly<Record<DeliveryProblem, string>> = {
  stalled: 'messages stuck pending',
  failing: 'messages failing',
  balance_low: 'balance low',
};

/** The `delivery` part of a stored device state; anything not of its shape starts afresh. */
export function deliveryFromStoredState(value: unknown): DeliveryState {
  const init = initialDeliveryState();
  if (typeof value !== 'object' || value === null) return init;
  const d = (value as { delivery?: unknown }).delivery;
  if (typeof d !== 'object' || d === null) return init;
  const v = d as Partial<DeliveryState>;
  const table = (t: unknown): boolean =>
    typeof t === 'object' && t !== null && DELIVERY_PROBLEMS.every((p) => p in t);
  if (!('last' in v) || !table(v.problemSince) || !table(v.told)) return init;
  return { ...init, ...v };
}

/** `delivery` of `status --json` and `/api/v1/devices`; null until the balance was read. */
export interface DeliveryReport {
  readonly pending: number;
  readonly successful: number;
  readonly failed: number;
  readonly remaining: number;
  /** The problem that holds, or null; with several at once, a list of them (fixed order). */
  readonly problem: DeliveryProblem | DeliveryProblem[] | null;
  readonly checked_at: string;
}

export function deliveryReport(state: DeliveryState, timeZone: string): DeliveryReport | null {
  const r = state.last;
  if (r === null) return null;
  const holding = problems(state);
  return {
    pending: r.pending,
    successful: r.successful,
    failed: r.failed,
    remaining: r.remaining,
    problem: holding.length === 0 ? null : holding.length === 1 ? holding[0]! : holding,
    checked_at: isoOrNull(r.at, timeZone)!,
  };
}

/** `500 sent · 50 pending · 10 failed`, and the problems in words; `—` until read. */
export function deliveryWords(state: DeliveryState): { counts: string; problem: string | null } {
  const r = state.last;
  if (r === null) return { counts: '—', problem: null };
  const holding = problems(state);
  return {
    counts: `${r.successful} sent · ${r.pending} pending · ${r.failed} failed`,
    problem: holding.length === 0 ? null : holding.map((p) => PROBLEM_WORDS[p]).join(', '),
  };
}
