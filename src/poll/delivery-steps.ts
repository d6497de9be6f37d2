// The delivery rules (SPEC §10, monitor/delivery.ts) as the poller takes their steps on one device:
// a balance reading, the cycle's end, the device going DOWN. Each step moves `rt.delivery` and
// says what to keep: the device's row (its state JSON carries the delivery state), the problem
// periods that began or ended (the audit's "hours stalled"), and the alerts. Which devices are
// read, and when, is delivery-reader.ts.

import type { Policy } from '../config/types.js';
import type { Logger } from '../log.js';
import {
  deviceWentDown,
  DELIVERY_PROBLEMS,
  isFreshDelivery,
  observeReading,
  tickDelivery,
  type DeliveryContext,
  type DeliveryEvent,
  type DeliveryPolicy,
  type DeliveryReading,
  type DeliveryState,
} from '../monitor/delivery.js';
import type { DeviceAlert } from '../notify/events.js';
import type { DeliveryProblemChange, DeviceSave } from '../store/store.js';
import { deviceRow, withDeliveryChanges, type DeviceRuntime } from './device-runtime.js';

/** What a step leaves to commit: the row to save (null when nothing changed) and the alerts. */
export interface DeliveryStep {
  readonly save: DeviceSave | null;
  readonly alerts: readonly DeviceAlert[];
}

const NOTHING: DeliveryStep = { save: null, alerts: [] };

/** A balance reading through the rules: the row always (the reading is in its state). */
export function takeReading(
  account: string,
  rt: DeviceRuntime,
  reading: DeliveryReading,
  muted: boolean,
  log: Logger,
): DeliveryStep {
  const step = observeReading(rt.delivery, reading, deliveryContext(rt, reading.at, muted));
  const changes = deliveryProblemChanges(account, rt.config.number, rt.delivery, step.state, reading.at);
  rt.delivery = step.state;
  return {
    save: withDeliveryChanges({ row: deviceRow(account, rt), change: null }, changes),
    alerts: deliveryAlerts(account, rt, step.events, log),
  };
}

/** The cycle's end: reminders, and what a silence held back (before the device's own events). */
export function tickDeliveryOf(
  account: string,
  rt: DeviceRuntime,
  now: number,
  muted: boolean,
  log: Logger,
): DeliveryStep {
  // Every device at every cycle's end: most have nothing to tick (never read, or not yet).
  if (isFreshDelivery(rt.delivery)) return NOTHING;
  const step = tickDelivery(rt.delivery, deliveryContext(rt, now, muted));
  if (step.state === rt.delivery && step.events.length === 0) return NOTHING;
  const changes = deliveryProblemChanges(account, rt.config.number, rt.delivery, step.state, now);
  rt.delivery = step.state;
  return {
    save: withDeliveryChanges({ row: deviceRow(account, rt), change: null }, changes),
    alerts: deliveryAlerts(account, rt, step.events, log),
  };
}

/**
 * The device went DOWN: its delivery problems end silently (device.down says enough). Returns the
 * periods closed, for the save of the status change.
 */
export function endDeliveryAtDown(account: string, rt: DeviceRuntime, now: number): DeliveryProblemChange[] {
  const before = rt.delivery;
  rt.delivery = deviceWentDown(before);
  return deliveryProblemChanges(account, rt.config.number, before, rt.delivery, now);
}

// Each distinct policy's delivery rules with its alert policy, made once (config shares policies).
const deliveryPolicies = new WeakMap<Policy, DeliveryPolicy>();

/** The delivery rules' context for a device: its `delivery` policy and the shared alert policy. */
export function deliveryContext(rt: DeviceRuntime, now: number, muted: boolean): DeliveryContext {
  const { policy } = rt.config;
  let rules = deliveryPolicies.get(policy);
  if (rules === undefined) {
    rules = {
      ...policy.delivery,
      repeatIntervalMs: policy.repeatIntervalMs,
      sendResolved: policy.sendResolved,
    };
    deliveryPolicies.set(policy, rules);
  }
  return { now, muted, policy: rules };
}

/** Delivery events as device alerts: routed, grouped, silenced and queued like device.down. */
export function deliveryAlerts(
  account: string,
  rt: DeviceRuntime,
  events: readonly DeliveryEvent[],
  log: Logger,
): DeviceAlert[] {
  return events.map((event) => {
    log.info(
      {
        device: rt.config.number,
        event: event.type,
        problem: event.problem,
        reminder: event.reminder === true,
      },
      event.type,
    );
    return {
      kind: 'device',
      account,
      device: { number: rt.config.number, name: rt.config.name, labels: rt.config.labels },
      channels: rt.config.channels,
      event,
    };
  });
}

/**
 * The delivery problems that began or ended in one step of the delivery rules, for the store's
 * problem periods: a problem that began opens a period at the `since` the rules gave it (for a
 * stall, the first reading of the wait); one that ended closes it at `at`, the step's time. A
 * problem whose `since` changed ended and began again.
 */
export function deliveryProblemChanges(
  account: string,
  device: string,
  before: DeliveryState,
  after: DeliveryState,
  at: number,
): DeliveryProblemChange[] {
  const out: DeliveryProblemChange[] = [];
  if (before === after) return out;
  for (const problem of DELIVERY_PROBLEMS) {
    const was = before.problemSince[problem];
    const is = after.problemSince[problem];
    if (was === is) continue;
    if (was !== null) out.push({ account, device, problem, kind: 'ended', at });
    if (is !== null) out.push({ account, device, problem, kind: 'started', at: is });
  }
  return out;
}
