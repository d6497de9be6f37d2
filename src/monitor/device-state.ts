// The DOWN/UP state machine of one device and the alert policy on top of it (SPEC §3).
//
// Pure: no I/O, no clock (`now` comes in), no imports but types. Every state is a plain
// JSON value — the store keeps it as JSON and restores it at start, so a restart neither
// repeats an alert already decided nor misses one.
//
// Two layers live in one state:
// - what the device IS: status, health (DOWN/UP with hysteresis), flapping. Muting never
//   touches this layer, so history, metrics and flap detection are the same muted or not.
// - what receivers were TOLD: `downNotified`, `lastDownNotificationAt`, `flapNotified`.
//   Whenever notifications are allowed (not muted, not paused by flapping) one rule closes the
//   gap between the two: DOWN but not told → device.down; UP but told DOWN → device.up.
//   Normal transitions, the deferred alert after a silence and the reconciliation after
//   flapping are all that one rule, so they cannot disagree.
//   A device DOWN because the gateway does not know it (`not_found`) is told once, as
//   device.not_found instead of device.down, and gets no reminders: nothing changes by waiting.
//
// Over 350 lines: the two layers and the one rule closing their gap are one state machine;
// split, the rule would live in two places.

import type { Policy } from '../config/types.js';
import type { DeviceStatus, EventType, Health, Observation, ProbeErrorReason } from './model.js';

export interface ProbeErrorRecord {
  readonly reason: ProbeErrorReason;
  readonly message: string;
  readonly at: number;
}

export interface DeviceState {
  /** null until the first status is observed. */
  readonly status: DeviceStatus | null;
  /** The gateway's text, verbatim (the detail behind `unknown`). */
  readonly statusRaw: string | null;
  /** When the current status began. */
  readonly statusSince: number | null;
  /** The status the current one replaced. */
  readonly previousStatus: DeviceStatus | null;
  /** Changes between two statuses; the first status ever (from null) is not counted. */
  readonly transitions: number;
  /** Last check, status or probe error. */
  readonly lastCheckAt: number | null;
  /** Set by a probe error, cleared by a status: probe_success = lastCheckAt set and this null. */
  readonly lastProbeError: ProbeErrorRecord | null;

  /** Presumed UP until `failureThreshold` unhealthy statuses say otherwise. */
  readonly health: Health;
  /** Statuses other than `connected` in a row; probe errors are skipped, not counted. */
  readonly consecutiveUnhealthy: number;
  /** `connected` statuses in a row; probe errors are skipped, not counted. */
  readonly consecutiveHealthy: number;
  /** First status of the current unhealthy run (null while the last status is `connected`). */
  readonly unhealthySince: number | null;
  /** While DOWN: when the outage began (the first unhealthy status of the confirming run). */
  readonly downSince: number | null;
  /** Last DOWN/UP transition. */
  readonly healthChangedAt: number | null;
  /** Times of recent DOWN/UP transitions (at most `flapThreshold`, newest last). */
  readonly recentHealthChanges: readonly number[];
  /** `flapThreshold` transitions within `flapWindowMs`, not yet stable for `flapWindowMs`. */
  readonly flapping: boolean;

  /** A device.down went out and no device.up (or silent resolution) since. */
  readonly downNotified: boolean;
  /** The `downSince` that device.down carried; device.up repeats it. */
  readonly notifiedDownSince: number | null;
  /** Last device.down or device.reminder sent; reminders count from here. */
  readonly lastDownNotificationAt: number | null;
  /** The device.flapping of the current flapping episode went out. */
  readonly flapNotified: boolean;
  /** A device.not_found went out in the current outage (cleared with it). */
  readonly notFoundNotified: boolean;
}

export interface DeviceContext {
  readonly now: number;
  readonly policy: Policy;
  /** A silence or maintenance window holds (decided by the caller). */
  readonly muted: boolean;
}

export interface StatusChange {
  readonly from: DeviceStatus | null;
  readonly to: DeviceStatus;
  readonly at: number;
  readonly raw: string;
}

export type DeviceEventType = Extract<EventType, `device.${string}`>;

export interface DeviceEvent {
  readonly type: DeviceEventType;
  readonly at: number;
  /** The current status. */
  readonly status: DeviceStatus;
  /** The status the current one replaced. */
  readonly previousStatus: DeviceStatus | null;
  /** When the current status began. */
  readonly since: number;
  /** When the outage began: on device.down, device.reminder, device.up, and device.flapping while DOWN. */
  readonly downSince?: number;
  /**
   * On device.up: when the device turned UP, i.e. when the outage ended. Later than `at` never;
   * earlier when the device.up was held back (flapping, a silence) and sent once that ended.
   */
  readonly upAt?: number;
}

export interface DeviceStep {
  readonly state: DeviceState;
  readonly change: StatusChange | null;
  readonly events: DeviceEvent[];
}

export function initialDeviceState(): DeviceState {
  return {
    status: null,
    statusRaw: null,
    statusSince: null,
    previousStatus: null,
    transitions: 0,
    lastCheckAt: null,
    lastProbeError: null,
    health: 'UP',
    consecutiveUnhealthy: 0,
    consecutiveHealthy: 0,
    unhealthySince: null,
    downSince: null,
    healthChangedAt: null,
    recentHealthChanges: [],
    flapping: false,
    downNotified: false,
    notifiedDownSince: null,
    lastDownNotificationAt: null,
    flapNotified: false,
    notFoundNotified: false,
  };
}

/** Applies one check's outcome, then whatever notifications time and state call for. */
export function observeDevice(state: DeviceState, obs: Observation, ctx: DeviceContext): DeviceStep {
  // The common case — connected again, UP, nothing held back or to settle — in one copy: the
  // rules below would take the same step through four (issue 17: a copy per rule per check).
  if (
    obs.kind === 'status' &&
    obs.status === 'connected' &&
    state.status === 'connected' &&
    state.health === 'UP' &&
    !state.flapping &&
    !state.downNotified
  ) {
    return {
      state: {
        ...state,
        statusRaw: obs.raw,
        lastCheckAt: ctx.now,
        lastProbeError: null,
        consecutiveHealthy: state.consecutiveHealthy + 1,
        consecutiveUnhealthy: 0,
        unhealthySince: null,
      },
      change: null,
      events: [],
    };
  }
  return observeDeviceByRules(state, obs, ctx);
}

/**
 * observeDevice without the shortcut for the common case: every rule, in order. The same step
 * (the property tests hold the two equal); exported for them.
 */
export function observeDeviceByRules(state: DeviceState, obs: Observation, ctx: DeviceContext): DeviceStep {
  const { now, policy } = ctx;
  // Settle flapping first: if the device has been stable long enough, this observation
  // belongs to a new episode and must be judged as such.
  let s = endFlappingIfStable(state, ctx);

  if (obs.kind === 'probe_error') {
    s = { ...s, lastCheckAt: now, lastProbeError: { reason: obs.reason, message: obs.message, at: now } };
    return notify(s, null, ctx);
  }

  let change: StatusChange | null = null;
  if (obs.status !== s.status) {
    change = { from: s.status, to: obs.status, at: now, raw: obs.raw };
    s = {
      ...s,
      status: obs.status,
      statusSince: now,
      previousStatus: s.status,
      transitions: s.status === null ? s.transitions : s.transitions + 1,
    };
  }
  s = { ...s, statusRaw: obs.raw, lastCheckAt: now, lastProbeError: null };

  if (obs.status === 'connected') {
    s = { ...s, consecutiveHealthy: s.consecutiveHealthy + 1, consecutiveUnhealthy: 0, unhealthySince: null };
    if (s.health === 'DOWN' && s.consecutiveHealthy >= policy.successThreshold) {
      s = changeHealth({ ...s, health: 'UP', downSince: null }, ctx);
    }
  } else {
    s = {
      ...s,
      consecutiveUnhealthy: s.consecutiveUnhealthy + 1,
      consecutiveHealthy: 0,
      unhealthySince: s.unhealthySince ?? now,
    };
    if (s.health === 'UP' && s.consecutiveUnhealthy >= policy.failureThreshold) {
      s = changeHealth({ ...s, health: 'DOWN', downSince: s.unhealthySince ?? now }, ctx);
    }
  }
  return notify(s, change, ctx);
}

/**
 * Time passing without an observation: due reminders, the device.down held back by a silence,
 * the reconciliation when flapping ends. Never changes the status. Returns the very same state
 * object when nothing happened, so callers can skip persisting it.
 */
export function tickDevice(state: DeviceState, ctx: DeviceContext): DeviceStep {
  if (state.status === null) return { state, change: null, events: [] };
  return notify(endFlappingIfStable(state, ctx), null, ctx);
}

/**
 * Whether time alone can change anything for the device (tickDevice): it has a status and is
 * DOWN, or told DOWN, or flapping. For every other state tickDevice returns the very state and
 * no event, so a caller ticking thousands of devices may skip those.
 */
export function actsOnTime(state: DeviceState): boolean {
  return state.status !== null && (state.health === 'DOWN' || state.downNotified || state.flapping);
}

/** A run of statuses that has not yet flipped the health: worth re-checking before routine work. */
export function needsConfirmation(state: DeviceState): boolean {
  return state.health === 'UP' ? state.consecutiveUnhealthy > 0 : state.consecutiveHealthy > 0;
}

function flapDetectionOn(policy: Policy): boolean {
  // Config validation should forbid these; treating them as "off" beats dividing the world by zero.
  return policy.flapThreshold > 0 && policy.flapWindowMs > 0;
}

/** Records a DOWN/UP transition already applied to `s.health` and starts flapping when due. */
function changeHealth(s: DeviceState, ctx: DeviceContext): DeviceState {
  const { now, policy } = ctx;
  if (!flapDetectionOn(policy)) return { ...s, healthChangedAt: now, recentHealthChanges: [] };
  const recent = [...s.recentHealthChanges.filter((t) => now - t < policy.flapWindowMs), now].slice(
    -policy.flapThreshold,
  );
  const startsFlapping = !s.flapping && recent.length >= policy.flapThreshold;
  return {
    ...s,
    healthChangedAt: now,
    recentHealthChanges: recent,
    flapping: s.flapping || startsFlapping,
    flapNotified: startsFlapping ? false : s.flapNotified,
  };
}

function endFlappingIfStable(s: DeviceState, ctx: DeviceContext): DeviceState {
  if (!s.flapping) return s;
  const stable =
    !flapDetectionOn(ctx.policy) ||
    s.healthChangedAt === null ||
    ctx.now - s.healthChangedAt >= ctx.policy.flapWindowMs;
  if (!stable) return s;
  // The old transitions are all older than the window by now; dropping them keeps the next
  // episode from being counted on top of this one.
  return { ...s, flapping: false, flapNotified: false, recentHealthChanges: [] };
}

/** Closes the gap between what the device is and what receivers were told, when allowed. */
function notify(s: DeviceState, change: StatusChange | null, ctx: DeviceContext): DeviceStep {
  const { now, policy } = ctx;
  if (ctx.muted || s.status === null || s.statusSince === null) return { state: s, change, events: [] };

  if (s.flapping) {
    if (s.flapNotified) return { state: s, change, events: [] };
    const downSince = s.health === 'DOWN' ? s.downSince : null;
    return {
      state: { ...s, flapNotified: true },
      change,
      events: [deviceEvent('device.flapping', s.status, s.previousStatus, s.statusSince, now, downSince)],
    };
  }

  if (s.health === 'DOWN') {
    if (s.status === 'not_found') {
      if (s.notFoundNotified) return { state: s, change, events: [] };
      return {
        state: {
          ...s,
          downNotified: true,
          notifiedDownSince: s.downNotified ? s.notifiedDownSince : s.downSince,
          lastDownNotificationAt: now,
          notFoundNotified: true,
        },
        change,
        events: [
          deviceEvent('device.not_found', s.status, s.previousStatus, s.statusSince, now, s.downSince),
        ],
      };
    }
    if (!s.downNotified) {
      return {
        state: { ...s, downNotified: true, notifiedDownSince: s.downSince, lastDownNotificationAt: now },
        change,
        events: [deviceEvent('device.down', s.status, s.previousStatus, s.statusSince, now, s.downSince)],
      };
    }
    const last = s.lastDownNotificationAt;
    // Reminders due while muted or flapping are not queued: the first allowed moment sends
    // one, and the cadence restarts from it.
    if (policy.repeatIntervalMs > 0 && last !== null && now - last >= policy.repeatIntervalMs) {
      return {
        state: { ...s, lastDownNotificationAt: now },
        change,
        events: [deviceEvent('device.reminder', s.status, s.previousStatus, s.statusSince, now, s.downSince)],
      };
    }
    return { state: s, change, events: [] };
  }

  if (s.downNotified) {
    const resolved = {
      ...s,
      downNotified: false,
      notifiedDownSince: null,
      lastDownNotificationAt: null,
      notFoundNotified: false,
    };
    // The outage ended when the device turned UP, which is earlier than now when this device.up
    // was held back by flapping or a silence.
    const upAt = s.healthChangedAt ?? now;
    const events = policy.sendResolved
      ? [
          {
            ...deviceEvent('device.up', s.status, s.previousStatus, s.statusSince, now, s.notifiedDownSince),
            upAt,
          },
        ]
      : [];
    return { state: resolved, change, events };
  }
  return { state: s, change, events: [] };
}

function deviceEvent(
  type: DeviceEventType,
  status: DeviceStatus,
  previousStatus: DeviceStatus | null,
  since: number,
  at: number,
  downSince: number | null,
): DeviceEvent {
  const event: DeviceEvent = { type, at, status, previousStatus, since };
  return downSince === null ? event : { ...event, downSince };
}
