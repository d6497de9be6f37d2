// The fleet as the views see it: every account poller (config order) and the mutes, read at
// request time. Nothing here changes what it reads. On an HA standby (SPEC §11) the pollers do not
// poll: they mirror the store (`load`), so a view reads them the same way, but never makes them
// call the gateway (pages.ts asks `canPoll` first).

import type { Mutes } from '../monitor/mutes.js';
import type { AccountPoller } from '../poll/account-poller.js';
import type { DeliveryState } from '../monitor/delivery.js';
import type { DeviceRow } from '../store/store.js';

export interface Fleet {
  readonly pollers: ReadonlyMap<string, AccountPoller>;
  readonly mutes: Mutes;
}

/**
 * A device's current row plus what the views add: its name, how long it is muted, and when
 * `delete` deleted it (null unless the gateway has not known it since).
 */
export type DeviceFacts = Omit<DeviceRow, 'device' | 'state' | 'transitions'> & {
  readonly number: string;
  readonly name: string;
  readonly silencedUntil: number | null;
  /** Delivery health (SPEC §10): the last reading and the problems that hold. */
  readonly delivery: DeliveryState;
  readonly deletedAt: number | null;
};

/**
 * Every configured device as the state machine sees it, in config order. `deleted` is
 * `report/devices.ts`'s deletedIndex of `store.deletedDevices()`.
 */
export function deviceFacts(fleet: Fleet, deleted: ReadonlyMap<string, number> = new Map()): DeviceFacts[] {
  const out: DeviceFacts[] = [];
  // Field by field, not rest and spread: at 10,000 devices the generic copy is most of the API's time.
  for (const p of fleet.pollers.values()) {
    for (const row of p.rows()) {
      const rt = p.devices.get(row.device);
      out.push({
        account: row.account,
        status: row.status,
        statusRaw: row.statusRaw,
        health: row.health,
        statusSince: row.statusSince,
        lastCheckAt: row.lastCheckAt,
        probeError: row.probeError,
        number: row.device,
        name: rt?.config.name ?? row.device,
        silencedUntil: fleet.mutes.mutedUntil(p.name, row.device),
        delivery: rt!.delivery,
        deletedAt: deleted.get(`${p.name}\0${row.device}`) ?? null,
      });
    }
  }
  return out;
}

/** The first account that has the device configured. */
export function pollerOf(fleet: Fleet, device: string): AccountPoller | undefined {
  for (const p of fleet.pollers.values()) if (p.devices.has(device)) return p;
  return undefined;
}

/**
 * Per account: its configured devices and how many are DOWN now — the mass-outage line of a
 * grouped notification ("12 of 40 devices of account main down so far").
 */
export function accountFleet(fleet: Fleet): Record<string, { devicesTotal: number; devicesDown: number }> {
  const out: Record<string, { devicesTotal: number; devicesDown: number }> = {};
  for (const p of fleet.pollers.values()) {
    out[p.name] = {
      devicesTotal: p.devices.size,
      devicesDown: p.rows().filter((r) => r.health === 'DOWN').length,
    };
  }
  return out;
}
