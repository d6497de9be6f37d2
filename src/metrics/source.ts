// What the exporter reads from the daemon at scrape time. The daemon implements this; the
// exporter never keeps its own copy of device state, so a device removed by a reload simply
// stops being listed and its series disappear with the next scrape.
import type { DeliveryProblem } from '../monitor/delivery.js';
import type { DeviceStatus } from '../monitor/model.js';

/** The last balance reading of a device (SPEC §10) and the delivery problems that hold. */
export interface DeliveryMetricsView {
  readonly pending: number;
  readonly successful: number;
  readonly failed: number;
  readonly remaining: number;
  readonly problems: readonly DeliveryProblem[];
}

/** One configured device as the state machine currently sees it. */
export interface DeviceMetricsView {
  readonly account: string;
  /** The device number, digits only. */
  readonly device: string;
  readonly name: string;
  /** The device's user labels from config; exported only on `whatsgate_device_info`. */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Last status seen; `null` until the first valid answer: then the device has no state-set,
   * `device_up` nor `probe_success` series — it is not checked yet, neither UP nor DOWN.
   */
  readonly status: DeviceStatus | null;
  /** The DOWN/UP verdict: `true` while UP; `null` until the first valid answer (series absent). */
  readonly up: boolean | null;
  /** Whether the last check got a valid answer; `null` until the first valid answer (series absent). */
  readonly probeSuccess: boolean | null;
  /** Epoch milliseconds of the last check (valid answer or probe error); `null` = never checked. */
  readonly lastCheckAt: number | null;
  /** Epoch milliseconds since which `status` holds; `null` when unknown. */
  readonly statusSince: number | null;
  /** Status changes seen so far; must never go down while the process runs. */
  readonly transitions: number;
  /** A silence or maintenance window holds now. */
  readonly silenced: boolean;
  /** Delivery health; absent or null until the balance was read (the series are absent then). */
  readonly delivery?: DeliveryMetricsView | null;
}

export interface AccountMetricsView {
  readonly account: string;
  /** `false` while `account.unreachable` holds. */
  readonly reachable: boolean;
  /** The interval the configuration asks for (the account's default `interval`). */
  readonly intervalMs: number;
  /** How often each device is really checked, given the budget. */
  readonly effectiveIntervalMs: number;
  /** Duration of the last full poll cycle; `null` before the first one ends (series absent). */
  readonly lastCycleDurationMs: number | null;
  /**
   * How often each device's balance is really read given the budget left after status checks
   * (SPEC §10); +Infinity when none is left; absent or null when no device is read.
   */
  readonly deliveryIntervalMs?: number | null;
}

export interface ChannelPendingView {
  readonly channel: string;
  /** Messages waiting in the outbox for this channel. */
  readonly pending: number;
}

export interface ChannelSendersView {
  readonly channel: string;
  /** Sender devices UP (whatsapp's `from`); 0: the channel's messages wait in the outbox. */
  readonly up: number;
}

export interface StoreMetricsView {
  /** False while writes to the database fail (poll results are held in memory meanwhile). */
  readonly writable: boolean;
}

/**
 * Pulled on every scrape, so implementations should be cheap: iterate in-memory state, no I/O.
 * `notificationsPending` may come from a cached count; channels it leaves out read 0.
 */
export interface MetricsSource {
  /**
   * Read once per scrape, each view before the next is asked for: an implementation may hand
   * out one object, updated in place (no garbage per device and scrape).
   */
  devices(): Iterable<DeviceMetricsView>;
  accounts(): Iterable<AccountMetricsView>;
  notificationsPending(): Iterable<ChannelPendingView>;
  /** Channels that send through monitored devices; absent or empty: no such series. */
  notificationSenders?(): Iterable<ChannelSendersView>;
  store(): StoreMetricsView;
  /**
   * Whether this replica holds the HA lease (SPEC §11); absent: always (no HA). False: only the
   * monitor's own series are exported — no device, account or notification series.
   */
  leader?(): boolean;
}
