// What the poll cycles decided and the store has not taken yet, coalesced: a device's or an
// account's newest row supersedes its earlier ones (the row is the current picture, so only the
// last one matters), while every history row and every alert is kept, in the order decided
// (each is an event that happened once and must be written and queued exactly once).
//
// Bound: one row per device and per account (the fleet's size), and at most MAX_HELD_HISTORY
// history rows and MAX_HELD_ALERTS alerts. Those two grow only with status changes (a few per
// outage per device), so the caps are reached only after a store has failed for a long time
// under heavy flapping; past them the oldest are dropped and counted, so a store that never
// comes back costs a fixed amount of memory (~100 k history rows ≈ 30 MB, 20 k alerts ≈ 20 MB
// without QR codes) rather than the process.

import type { MonitorAlert } from '../notify/events.js';
import type { AccountRow, DeliveryProblemChange, DeviceRow, DeviceSave, HistoryRow } from '../store/store.js';

export const MAX_HELD_HISTORY = 100_000;
export const MAX_HELD_ALERTS = 20_000;

/** One account cycle's changes, as the poller commits them. */
export interface HeldCommit {
  readonly saves: readonly DeviceSave[];
  readonly account: AccountRow | null;
  readonly alerts: readonly MonitorAlert[];
}

export interface HeldLimits {
  readonly maxHistory: number;
  readonly maxAlerts: number;
}

export class HeldWrites {
  readonly #limits: HeldLimits;
  /** Newest row per device, keyed `account\ndevice`. */
  readonly #devices = new Map<string, DeviceRow>();
  readonly #accounts = new Map<string, AccountRow>();
  #history: HistoryRow[] = [];
  /** Delivery problems begun or ended, in the order decided (few: one per problem's edge). */
  #deliveryChanges: DeliveryProblemChange[] = [];
  #alerts: MonitorAlert[] = [];
  /** Account cycles merged in since the last clear(). */
  #cycles = 0;
  /** History rows and alerts dropped past the caps since the last clear(). */
  #droppedHistory = 0;
  #droppedAlerts = 0;

  constructor(limits: HeldLimits = { maxHistory: MAX_HELD_HISTORY, maxAlerts: MAX_HELD_ALERTS }) {
    this.#limits = limits;
  }

  get empty(): boolean {
    return this.#cycles === 0;
  }
  get cycles(): number {
    return this.#cycles;
  }
  get history(): readonly HistoryRow[] {
    return this.#history;
  }
  get deliveryChanges(): readonly DeliveryProblemChange[] {
    return this.#deliveryChanges;
  }
  get alerts(): readonly MonitorAlert[] {
    return this.#alerts;
  }
  get devices(): readonly DeviceRow[] {
    return [...this.#devices.values()];
  }
  get accounts(): readonly AccountRow[] {
    return [...this.#accounts.values()];
  }
  get dropped(): { readonly history: number; readonly alerts: number } {
    return { history: this.#droppedHistory, alerts: this.#droppedAlerts };
  }

  add(commit: HeldCommit): void {
    this.#cycles++;
    for (const { row, change, deliveryChanges } of commit.saves) {
      const key = `${row.account}\n${row.device}`;
      // Delete first so the Map's order follows the latest write (not needed for correctness:
      // rows are upserts; it keeps the written order close to the decided one).
      this.#devices.delete(key);
      this.#devices.set(key, row);
      if (change !== null) this.#history.push(change);
      if (deliveryChanges !== undefined) this.#deliveryChanges.push(...deliveryChanges);
    }
    if (commit.account !== null) this.#accounts.set(commit.account.account, commit.account);
    this.#alerts.push(...commit.alerts);
    this.#trim();
  }

  /**
   * Appends what `later` holds after what this holds, as if its commits had been added here in
   * their order (a failed write's batch taking back what was added while it was being written).
   */
  absorb(later: HeldWrites): void {
    if (later.empty) return;
    this.#cycles += later.#cycles;
    for (const [key, row] of later.#devices) {
      this.#devices.delete(key);
      this.#devices.set(key, row);
    }
    for (const [key, row] of later.#accounts) this.#accounts.set(key, row);
    // concat, not push(...): spread arguments overflow the stack at ~100 k elements.
    this.#history = this.#history.concat(later.#history);
    this.#deliveryChanges = this.#deliveryChanges.concat(later.#deliveryChanges);
    this.#alerts = this.#alerts.concat(later.#alerts);
    this.#droppedHistory += later.#droppedHistory;
    this.#droppedAlerts += later.#droppedAlerts;
    this.#trim();
  }

  clear(): void {
    this.#devices.clear();
    this.#accounts.clear();
    this.#history = [];
    this.#deliveryChanges = [];
    this.#alerts = [];
    this.#cycles = 0;
    this.#droppedHistory = 0;
    this.#droppedAlerts = 0;
  }

  #trim(): void {
    const extraHistory = this.#history.length - this.#limits.maxHistory;
    if (extraHistory > 0) {
      this.#history.splice(0, extraHistory);
      this.#droppedHistory += extraHistory;
    }
    const extraDelivery = this.#deliveryChanges.length - this.#limits.maxHistory;
    if (extraDelivery > 0) {
      this.#deliveryChanges.splice(0, extraDelivery);
      this.#droppedHistory += extraDelivery;
    }
    const extraAlerts = this.#alerts.length - this.#limits.maxAlerts;
    if (extraAlerts > 0) {
      this.#alerts.splice(0, extraAlerts);
      this.#droppedAlerts += extraAlerts;
    }
  }
}
