// What one status check does to its device (SPEC §3): the state machine's step, the QR code
// attached to a DOWN (`reconnect: qr`), the delivery problems a DOWN ends, and the row — written at
// the tick when the step changed anything, held back when the answer only repeated
// (routine-rows.ts). The poller (account-poller.ts) calls it with the answer of the gateway and
// follows up on what it reports: a device the gateway stopped or started knowing is rescheduled,
// one whose balance is now read or no longer read changes the read list.

import type { ConnectResult } from '../gateway/client.js';
import type { Logger } from '../log.js';
import type { Clock } from '../monitor/clock.js';
import { needsConfirmation, observeDevice } from '../monitor/device-state.js';
import type { Observation } from '../monitor/model.js';
import type { Mutes } from '../monitor/mutes.js';
import type { CycleTally } from './cycle-tally.js';
import { readsDelivery } from './delivery-reader.js';
import { endDeliveryAtDown } from './delivery-steps.js';
import type { DeviceRuntime } from './device-runtime.js';
import type { ConnectThrottled } from './metered-gateway.js';
import { isRoutineStep, routineRowMayWait, takeRoutineStep } from './routine-rows.js';

// How long the QR code of a `reconnect: qr` DOWN may wait for the budget and the call.
const QR_FOR_DOWN_MS = 60_000;

export interface CheckContext {
  readonly account: string;
  readonly clock: Clock;
  readonly mutes: Mutes;
  readonly log: Logger;
  /** `reconnect: qr`: the QR code to attach to the device.down, or null when none came. */
  readonly qrForDown: (device: string) => Promise<string | null>;
}

export interface CheckTaken {
  /** The state machine wants the device confirmed soon. */
  readonly recheckSoon: boolean;
  /** The device's status became, or stopped being, not_found: its interval changed. */
  readonly notFoundChanged: boolean;
  /** Whether its balance is read changed (delivery-reader.ts). */
  readonly deliveryChanged: boolean;
}

/**
 * Feeds one answer to the device's state machine and puts what it changed into the tally
 * `tally()` gives once nothing is awaited any more: while a DOWN waits for its QR code, a tick
 * skipped meanwhile ends the cycle's tally and starts the next, and a step put into the ended one
 * would be lost with its alert.
 */
export async function takeCheck(
  ctx: CheckContext,
  rt: DeviceRuntime,
  observation: Observation,
  tally: () => CycleTally,
): Promise<CheckTaken> {
  const { account, clock } = ctx;
  const device = rt.config.number;
  const before = rt.state;
  const readBefore = readsDelivery(rt);
  const step = observeDevice(before, observation, {
    now: clock.now(),
    policy: rt.config.policy,
    muted: ctx.mutes.isMuted(account, device),
  });
  // `reconnect: qr` (SPEC §3): one /connect at DOWN, its QR code attached to the device.down.
  let qrDataUrl: string | null = null;
  if (rt.config.policy.reconnect === 'qr' && step.events.some((e) => e.type === 'device.down')) {
    qrDataUrl = await ctx.qrForDown(device);
  }
  const ended = step.state.health === 'DOWN' ? endDeliveryAtDown(account, rt, clock.now()) : [];
  const mono = clock.monotonic();
  if (
    step.change === null &&
    step.events.length === 0 &&
    ended.length === 0 &&
    isRoutineStep(before, step.state) &&
    routineRowMayWait(rt.rowCommittedAt, mono)
  ) {
    // The same answer again: memory moves on (in place), the row waits.
    takeRoutineStep(rt.state, step.state);
    rt.rowBehind = true;
  } else {
    tally().apply(account, rt, step, ctx.log, mono, qrDataUrl, ended);
  }
  if (step.change !== null) {
    ctx.log.info(
      { device, from: step.change.from, to: step.change.to, raw: step.change.raw },
      'status changed',
    );
  }
  return {
    recheckSoon: needsConfirmation(step.state),
    notFoundChanged: (before.status === 'not_found') !== (step.state.status === 'not_found'),
    deliveryChanged: readsDelivery(rt) !== readBefore,
  };
}

/** `reconnect: qr` (SPEC §3): the QR code attached to a device.down; null when none came. */
export async function qrForDown(
  poller: {
    readonly name: string;
    connect(device: string, signal: AbortSignal): Promise<ConnectResult | ConnectThrottled | null>;
  },
  log: Logger,
  device: string,
): Promise<string | null> {
  const result = await poller.connect(device, AbortSignal.timeout(QR_FOR_DOWN_MS));
  if (result?.kind === 'qr') return result.dataUrl;
  log.warn(
    {
      component: 'notify',
      account: poller.name,
      device,
      result: result === null ? 'cancelled' : result.kind,
    },
    'no QR code for the down alert',
  );
  return null;
}
