// The demo's delivery drill (SPEC §10): background customer traffic on every device, and the
// first device — whose link never changes — stalling for a while every few minutes: it stays
// "connected" while its messages pile up pending, which only delivery health can see.
// A pure function of time since the demo started, like the simulator's flap script.

export const STALL_DRILL = {
  /** Position in the demo's device list: #0, the baseline whose status never changes. */
  deviceIndex: 0,
  /** Stalls from here … */
  stallAtMs: 30_000,
  /** … until here (80 s: past stall_after, so device.stalled, then device.delivery_recovered). */
  normalAtMs: 110_000,
  periodMs: 180_000,
  /** Customer messages a minute per connected device, so there is something to send. */
  trafficPerMinute: 6,
} as const;

export type DrillMode = 'stall' | 'normal';

/** What the drill device should be doing `elapsedMs` after the demo started. */
export function drillModeAt(elapsedMs: number): DrillMode {
  const t = elapsedMs % STALL_DRILL.periodMs;
  return t >= STALL_DRILL.stallAtMs && t < STALL_DRILL.normalAtMs ? 'stall' : 'normal';
}
