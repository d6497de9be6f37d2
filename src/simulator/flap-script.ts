// The simulator's `--flap` script: scripted status changes, a pure function of time since the
// simulator started, so a demo shows drops and recoveries within a few minutes and a test with
// an injected clock sees exactly the same thing every run.
//
// Devices are named by their position in the initial list (0 = `--first`). Every 180 s:
//   #1  disconnected   20 s → 60 s    (a 40 s drop: long enough to be confirmed DOWN, then UP)
//   #2  disconnected  100 s → 140 s
//   #4  not initialized 150 s → 170 s (a gateway that lost its session for a moment)
// Once, at 45 s:
//   #3  not connected, until someone scans its QR code (the re-link drill)
// #0 never changes: the baseline that shows the monitor is not just flapping everything.
// Rules naming a device that does not exist (fewer devices, or deleted) are skipped.

export const FLAP_PERIOD_MS = 180_000;

export interface FlapRule {
  /** Position in the simulator's initial device list. */
  readonly deviceIndex: number;
  /** Raw gateway text the device answers with from `atMs` on. */
  readonly status: string;
  /** Offset from the simulator's start (first occurrence). */
  readonly atMs: number;
  /** Repeats every `periodMs` when set; otherwise happens once. */
  readonly periodMs?: number;
}

export const FLAP_SCRIPT: readonly FlapRule[] = [
  { deviceIndex: 1, status: 'disconnected', atMs: 20_000, periodMs: FLAP_PERIOD_MS },
  { deviceIndex: 1, status: 'connected', atMs: 60_000, periodMs: FLAP_PERIOD_MS },
  { deviceIndex: 3, status: 'not connected', atMs: 45_000 },
  { deviceIndex: 2, status: 'disconnected', atMs: 100_000, periodMs: FLAP_PERIOD_MS },
  { deviceIndex: 2, status: 'connected', atMs: 140_000, periodMs: FLAP_PERIOD_MS },
  { deviceIndex: 4, status: 'not initialized', atMs: 150_000, periodMs: FLAP_PERIOD_MS },
  { deviceIndex: 4, status: 'connected', atMs: 170_000, periodMs: FLAP_PERIOD_MS },
];

export interface FlapEvent {
  readonly atMs: number;
  readonly deviceIndex: number;
  readonly status: string;
}

/**
 * The script's events with `fromMs < atMs <= toMs`, in time order. After a long gap only the
 * last two periods of repeating rules are replayed: earlier ones are overwritten by them anyway.
 */
export function dueFlapEvents(
  fromMs: number,
  toMs: number,
  script: readonly FlapRule[] = FLAP_SCRIPT,
): FlapEvent[] {
  const events: Array<FlapEvent & { readonly order: number }> = [];
  script.forEach((rule, order) => {
    if (rule.periodMs === undefined) {
      if (rule.atMs > fromMs && rule.atMs <= toMs) events.push({ ...pick(rule), order });
      return;
    }
    const lo = Math.max(fromMs, toMs - 2 * rule.periodMs);
    let k = Math.max(0, Math.floor((lo - rule.atMs) / rule.periodMs));
    for (let at = rule.atMs + k * rule.periodMs; at <= toMs; k += 1, at = rule.atMs + k * rule.periodMs) {
      if (at > lo) events.push({ atMs: at, deviceIndex: rule.deviceIndex, status: rule.status, order });
    }
  });
  events.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
  return events.map(({ atMs, deviceIndex, status }) => ({ atMs, deviceIndex, status }));
}

function pick(rule: FlapRule): FlapEvent {
  return { atMs: rule.atMs, deviceIndex: rule.deviceIndex, status: rule.status };
}
