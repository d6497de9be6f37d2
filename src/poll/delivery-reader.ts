// The balance reads of one account (SPEC §10): which devices are read, at what pace, and the
// read itself on a slot the scheduler hands over when no status check wants it.
//
// Eligible: UP, last status `connected` (so never a DOWN or not_found device, nor one whose
// status is still unknown), and `delivery.check` not off. The pace comes from the spare budget
// (monitor/delivery-schedule.ts); when it stretches beyond the shortest `check` the account
// warns once, and again only after it had stopped stretching.
//
// What a reading means (the pure rules, alerts, the row) is the poller's business: `onReading`
// (delivery-steps.ts).

import { monotonicOf, type Clock } from '../monitor/clock.js';
import type { DeliveryReading } from '../monitor/delivery.js';
import {
  DeliveryReadQueue,
  type DeliveryPace,
  type DeliveryReadDevice,
} from '../monitor/delivery-schedule.js';
import type { Logger } from '../log.js';
import type { SpareWork } from './cycle.js';
import type { DeviceRuntime } from './device-runtime.js';
import type { MeteredGateway, Slot } from './metered-gateway.js';

export interface DeliveryReaderOptions {
  readonly account: string;
  readonly gateway: MeteredGateway;
  readonly clock: Clock;
  readonly log: Logger;
  /** The account's devices, in config order (the poller's live map). */
  readonly devices: ReadonlyMap<string, DeviceRuntime>;
  /** A reading arrived for a device (still configured). */
  readonly onReading: (rt: DeviceRuntime, reading: DeliveryReading) => void;
  /** Every balance call that reached the gateway (whatsgate_delivery_checks_total). */
  readonly onCall?: (account: string) => void;
}

/** Whether a device's balance is read now. */
export function readsDelivery(rt: DeviceRuntime): boolean {
  return (
    rt.config.policy.delivery.checkMs !== null && rt.state.health === 'UP' && rt.state.status === 'connected'
  );
}

export class DeliveryReader implements SpareWork {
  readonly #options: DeliveryReaderOptions;
  #queue = new DeliveryReadQueue();
  // What the queue was last built from, to rebuild only on change: the eligible devices' numbers
  // and `check`s in config order, every device's interval, the spacing (NaN: build at the next
  // refresh). Compared in place, not as joined keys: in the first round nearly every check changes
  // eligibility, and a key string of the whole account per check was the largest thing promoted
  // to the old space at 100,000 devices (issue 17).
  #numbers: string[] = [];
  #checks: number[] = [];
  #intervals: number[] = [];
  #spacingMs = Number.NaN;
  #warned = false;

  constructor(options: DeliveryReaderOptions) {
    this.#options = options;
  }

  get pace(): DeliveryPace {
    return this.#queue.pace;
  }

  /**
   * Rebuilds the read list and the pace when eligibility, a `check` or the status side of the
   * budget changed. Cheap when nothing did: called after every status check.
   */
  refresh(): void {
    const spacingMs = this.#options.gateway.plannedSpacingMs;
    if (this.#unchanged(spacingMs)) return;
    const eligible: DeliveryReadDevice[] = [];
    const numbers: string[] = [];
    const checks: number[] = [];
    const intervals: number[] = [];
    for (const rt of this.#options.devices.values()) {
      intervals.push(rt.config.policy.intervalMs);
      if (!readsDelivery(rt)) continue;
      const checkMs = rt.config.policy.delivery.checkMs!;
      const last = rt.delivery.last;
      numbers.push(rt.config.number);
      checks.push(checkMs);
      // Readings carry wall times (stored, shown); the schedule runs on the monotonic clock.
      eligible.push(
        last === null
          ? { number: rt.config.number, checkMs }
          : { number: rt.config.number, checkMs, lastReadAt: monotonicOf(this.#options.clock, last.at) },
      );
    }
    this.#numbers = numbers;
    this.#checks = checks;
    this.#intervals = intervals;
    this.#spacingMs = spacingMs;
    const pace = this.#queue.apply(eligible, intervals, spacingMs);
    this.#warnIfStretched(eligible, pace);
  }

  /**
   * Forgets every device's last read and rebuilds from the devices' delivery states (their last
   * reading): a state reloaded from the store. Only between cycles, like AccountScheduler.restore.
   */
  reset(): void {
    this.#queue = new DeliveryReadQueue();
    this.#spacingMs = Number.NaN;
    this.refresh();
  }

  nextDueAt(): number | null {
    return this.#queue.nextDueAt();
  }

  async run(slot: Slot, signal: AbortSignal): Promise<{ ran: boolean; rateLimited: boolean }> {
    const { account, gateway, clock, log } = this.#options;
    const device = this.#queue.take(slot.at);
    if (device === null) return { ran: false, rateLimited: false };
    const rt = this.#find(device);
    const timeoutMs = rt?.config.policy.timeoutMs;
    let called = false;
    try {
      const result = await gateway.balance(
        device,
        slot,
        timeoutMs === undefined ? { signal } : { signal, timeoutMs },
      );
      // Cut short by a stop: nothing to learn from it.
      if (signal.aborted) return { ran: true, rateLimited: false };
      called = true;
      this.#options.onCall?.(account);
      if (result.kind === 'reading') {
        const current = this.#find(device);
        // Removed by a reload, or gone DOWN while the read was in flight: the reading is stale.
        if (current !== undefined && readsDelivery(current)) {
          const { kind: _kind, ...counts } = result;
          this.#options.onReading(current, { at: clock.now(), ...counts });
        }
        return { ran: true, rateLimited: false };
      }
      // A missed reading is just no reading (SPEC §10): the next one is one interval later.
      log.debug(
        result.kind === 'not_found'
          ? { device, result: 'not_found', err: result.message }
          : { device, reason: result.reason, err: result.message },
        'balance not read',
      );
      return { ran: true, rateLimited: result.kind === 'probe_error' && result.reason === 'rate_limited' };
    } finally {
      this.#queue.finish(device, slot.at, called);
    }
  }

  /** Whether the devices and the spacing are still what the queue was last built from. */
  #unchanged(spacingMs: number): boolean {
    if (spacingMs !== this.#spacingMs) return false;
    const intervals = this.#intervals;
    const numbers = this.#numbers;
    const checks = this.#checks;
    let i = 0;
    let e = 0;
    for (const rt of this.#options.devices.values()) {
      if (i >= intervals.length || rt.config.policy.intervalMs !== intervals[i]) return false;
      i++;
      if (!readsDelivery(rt)) continue;
      if (
        e >= numbers.length ||
        rt.config.number !== numbers[e] ||
        rt.config.policy.delivery.checkMs !== checks[e]
      ) {
        return false;
      }
      e++;
    }
    return i === intervals.length && e === numbers.length;
  }

  #find(device: string): DeviceRuntime | undefined {
    return this.#options.devices.get(device);
  }

  #warnIfStretched(eligible: readonly DeliveryReadDevice[], pace: DeliveryPace): void {
    if (!pace.stretched) {
      this.#warned = false;
      return;
    }
    if (this.#warned) return;
    this.#warned = true;
    const shortest = Math.min(...eligible.map((d) => d.checkMs));
    const effective = Number.isFinite(pace.effectiveIntervalMs)
      ? `every ${Math.round(pace.effectiveIntervalMs / 1000)}s`
      : 'not at all (status checks take the whole budget)';
    this.#options.log.warn(
      {
        devices: pace.devices,
        spare_per_minute: Math.round(pace.sparePerMinute * 100) / 100,
        check_s: shortest / 1000,
      },
      `account ${this.#options.account}: the budget left after status checks cannot read ${pace.devices} ` +
        `devices' balance every ${Math.round(shortest / 1000)}s; they are read ${effective}`,
    );
  }
}
