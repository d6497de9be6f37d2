// What one cycle of an account collects for the cycle writer, and how the cycle ends.
//
// During the cycle each check counts its answer (for the account's verdict) and adds what it
// changed: a device row and its history row, alerts. Routine rows wait (routine-rows.ts). At the
// end (`endCycle`): the account's verdict (monitor/account-state.ts), then the time-driven events
// of every device — delivery reminders and what a silence held back first, then the device's own
// reminders and deferred alerts — and the whole batch goes to `commit` as one.

import type { Logger } from '../log.js';
import { observeAccountCycle, type AccountState } from '../monitor/account-state.js';
import { actsOnTime, tickDevice, type DeviceStep } from '../monitor/device-state.js';
import type { Observation, ProbeErrorReason } from '../monitor/model.js';
import type { Mutes } from '../monitor/mutes.js';
import type { MonitorAlert } from '../notify/events.js';
import type { AccountRow, DeliveryProblemChange, DeviceSave } from '../store/store.js';
import type { CycleCommit } from './cycle-writer.js';
import { tickDeliveryOf } from './delivery-steps.js';
import { applyDeviceStep, deviceRow, type DeviceRuntime } from './device-runtime.js';
import { isRoutineAccountStep, routineRowMayWait, takeRoutineAccountStep } from './routine-rows.js';

export class CycleTally {
  checks = 0;
  validAnswers = 0;
  unauthorized = false;
  lastError: { reason: ProbeErrorReason; message: string } | null = null;
  readonly saves: DeviceSave[] = [];
  readonly alerts: MonitorAlert[] = [];

  /** A check's answer, for the account's verdict. */
  count(observation: Observation): void {
    this.checks++;
    // not_found is a status: the gateway answered, so it counts as a valid answer here.
    if (observation.kind === 'status') {
      this.validAnswers++;
      return;
    }
    if (observation.reason === 'unauthorized') this.unauthorized = true;
    this.lastError = { reason: observation.reason, message: observation.message };
  }

  /** A device's row to write at this cycle's commit: from then on it is current (`mono`). */
  save(rt: DeviceRuntime, save: DeviceSave, mono: number): void {
    this.saves.push(save);
    rt.rowCommittedAt = mono;
    rt.rowBehind = false;
  }

  addAlerts(alerts: readonly MonitorAlert[]): void {
    for (const alert of alerts) this.alerts.push(alert);
  }

  /** Takes a device step: its row, status change and events into the batch. */
  apply(
    account: string,
    rt: DeviceRuntime,
    step: DeviceStep,
    log: Logger,
    mono: number,
    qrDataUrl: string | null = null,
    deliveryChanges: readonly DeliveryProblemChange[] = [],
  ): void {
    const { save, alerts } = applyDeviceStep(account, rt, step, log, qrDataUrl, deliveryChanges);
    this.save(rt, save, mono);
    this.addAlerts(alerts);
  }

  /** Every routine row still waiting, to be written now (a clean stop). */
  saveBehind(account: string, devices: Iterable<DeviceRuntime>, mono: number): void {
    for (const rt of devices) {
      if (rt.rowBehind) this.save(rt, { row: deviceRow(account, rt), change: null }, mono);
    }
  }
}

/** The account's row, as the poller keeps track of it (like a device's, routine-rows.ts). */
export interface AccountRuntime {
  state: AccountState;
  /** When its row was last handed to the cycle writer (monotonic); −∞ before the first. */
  rowCommittedAt: number;
  /** Moved since by routine cycles only: the stored row lags. */
  rowBehind: boolean;
}

export interface CycleEnd {
  readonly account: string;
  readonly accountRuntime: AccountRuntime;
  readonly devices: Iterable<DeviceRuntime>;
  readonly now: number;
  readonly mono: number;
  readonly mutes: Mutes;
  readonly log: Logger;
  /** The cycle was skipped: no verdict on the account (its checks did not run). */
  readonly skipped: boolean;
  readonly failureThreshold: number;
  readonly roundMs: () => number;
  readonly rateLimitedSince: () => number | null;
}

/**
 * After the account's cycle: the account's verdict (into `accountRuntime`), the time-driven
 * device events, then the batch: null when nothing is to be written.
 */
export function endCycle(t: CycleTally, end: CycleEnd): CycleCommit | null {
  const { account: name, now, mutes, log } = end;
  const rt = end.accountRuntime;
  const state = rt.state;
  let account: AccountRow | null = null;
  if (!end.skipped) {
    const step = observeAccountCycle(
      state,
      {
        now,
        checks: t.checks,
        validAnswers: t.validAnswers,
        unauthorized: t.unauthorized,
        lastError: t.lastError,
        rateLimitedSince: end.rateLimitedSince(),
      },
      {
        failureThreshold: end.failureThreshold,
        roundMs: end.roundMs(),
        muted: mutes.isAccountMuted(name),
      },
    );
    if (step.state !== state) {
      if (
        step.events.length === 0 &&
        isRoutineAccountStep(state, step.state) &&
        routineRowMayWait(rt.rowCommittedAt, end.mono)
      ) {
        // Only the last valid answer's time moved: memory moves on (in place), the row waits.
        takeRoutineAccountStep(state, step.state);
        rt.rowBehind = true;
      } else {
        rt.state = step.state;
        account = accountRow(name, rt, end.mono);
      }
    }
    for (const event of step.events) {
      log.warn({ event: event.type, reason: event.reason, err: event.message }, event.type);
      t.alerts.push({ kind: 'account', account: name, event });
    }
  }
  for (const rt of end.devices) {
    const muted = mutes.isMuted(name, rt.config.number);
    // Delivery reminders, and what a silence held back (SPEC §10), before the device's own.
    const delivery = tickDeliveryOf(name, rt, now, muted, log);
    if (delivery.save !== null) t.save(rt, delivery.save, end.mono);
    t.addAlerts(delivery.alerts);
    // A device that never answered, or is UP and told so, not flapping: time alone changes nothing.
    if (!actsOnTime(rt.state)) continue;
    const step = tickDevice(rt.state, { now, policy: rt.config.policy, muted });
    if (step.state !== rt.state || step.events.length > 0) t.apply(name, rt, step, log, end.mono);
  }
  const changed = t.saves.length > 0 || account !== null || t.alerts.length > 0;
  return changed ? { saves: t.saves, account, alerts: t.alerts } : null;
}

/** The account's row to write now: from then on it is current (`mono`). */
export function accountRow(name: string, rt: AccountRuntime, mono: number): AccountRow {
  rt.rowCommittedAt = mono;
  rt.rowBehind = false;
  // A copy: the state object moves on in place (routine steps) while the row waits to be written.
  return { account: name, reachable: rt.state.reachable, state: { ...rt.state } };
}
