// Sources for tests: a mutable in-memory stand-in for the daemon's state.
import { DELIVERY_PROBLEMS } from '../../monitor/delivery.js';
import { DEVICE_STATUSES } from '../../monitor/model.js';
import type { AccountMetricsView, ChannelPendingView, DeviceMetricsView, MetricsSource } from '../source.js';

export interface FakeSource extends MetricsSource {
  deviceList: DeviceMetricsView[];
  accountList: AccountMetricsView[];
  pendingList: ChannelPendingView[];
  storeWritable: boolean;
  /** Holds the HA lease (SPEC §11); true by default. */
  leading: boolean;
}

export function fakeSource(
  devices: DeviceMetricsView[] = [],
  accounts: AccountMetricsView[] = [],
  pending: ChannelPendingView[] = [],
): FakeSource {
  return {
    deviceList: devices,
    accountList: accounts,
    pendingList: pending,
    storeWritable: true,
    leading: true,
    leader() {
      return this.leading;
    },
    // Generators, like a daemon mapping its state on the fly: iterable once per call.
    *devices() {
      yield* this.deviceList;
    },
    *accounts() {
      yield* this.accountList;
    },
    *notificationsPending() {
      yield* this.pendingList;
    },
    store() {
      return { writable: this.storeWritable };
    },
  };
}

export function device(overrides: Partial<DeviceMetricsView> = {}): DeviceMetricsView {
  return {
    account: 'main',
    device: '100000000',
    name: 'Sales phone',
    labels: {},
    status: 'connected',
    up: true,
    probeSuccess: true,
    lastCheckAt: 1_732_468_000_500,
    statusSince: 1_732_460_000_000,
    transitions: 2,
    silenced: false,
    ...overrides,
  };
}

export function account(overrides: Partial<AccountMetricsView> = {}): AccountMetricsView {
  return {
    account: 'main',
    reachable: true,
    intervalMs: 60_000,
    effectiveIntervalMs: 60_000,
    lastCycleDurationMs: 1_500,
    ...overrides,
  };
}

/** `n` devices over `accounts` accounts, covering every status, never-checked ones and odd names. */
export function manyDevices(n: number, accounts = 3): DeviceMetricsView[] {
  const list: DeviceMetricsView[] = [];
  for (let i = 0; i < n; i += 1) {
    const neverChecked = i % 41 === 0;
    list.push({
      account: `acct-${i % accounts}`,
      device: String(100_000_000 + i),
      name: i % 13 === 0 ? `Phone ${i} "lobby" \\ back\nroom — Zürich 📱` : `Phone ${i}`,
      labels: i % 2 === 0 ? { team: `team-${i % 5}`, site: 'hq' } : {},
      status: neverChecked ? null : (DEVICE_STATUSES[i % DEVICE_STATUSES.length] ?? 'unknown'),
      up: neverChecked ? null : i % 7 !== 0,
      probeSuccess: neverChecked ? null : i % 3 !== 0,
      lastCheckAt: neverChecked ? null : 1_732_468_000_000 + i * 250,
      statusSince: neverChecked ? null : 1_732_400_000_000 + i * 1000,
      transitions: i % 9,
      silenced: i % 11 === 0,
    });
  }
  return list;
}

/** `devices` with a balance reading (SPEC §10) on every third one, problems varying. */
export function withDelivery(devices: readonly DeviceMetricsView[]): DeviceMetricsView[] {
  return devices.map((d, i) =>
    i % 3 === 0
      ? {
          ...d,
          delivery: {
            pending: i % 50,
            successful: 1000 + i,
            failed: i % 7,
            remaining: i % 4 === 0 ? 0.5 : 5000 - i,
            problems: DELIVERY_PROBLEMS.filter((_, k) => (i >> k) & 1),
          },
        }
      : d,
  );
}
