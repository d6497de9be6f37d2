// The fleet as Prometheus sees it: the MetricsSource the exposition reads at each scrape.
//
// `devices()` hands out one view object per scrape, updated in place for each device (the
// exporter copies each into its snapshot before asking for the next, as MetricsSource allows):
// a fresh object per device, plus one for its delivery reading and an array of its problems,
// would be up to 300,000 objects of garbage per scrape at 100,000 devices.

import type {
  AccountMetricsView,
  ChannelPendingView,
  ChannelSendersView,
  DeliveryMetricsView,
  DeviceMetricsView,
  MetricsSource,
  StoreMetricsView,
} from '../metrics/source.js';
import type { Fleet } from './fleet.js';
import { DELIVERY_PROBLEMS, type DeliveryProblem, type DeliveryState } from '../monitor/delivery.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The delivery part of a reused view: the last reading and the problems that hold. */
class DeliveryViewSlot implements DeliveryMetricsView {
  pending = 0;
  successful = 0;
  failed = 0;
  remaining = 0;
  readonly problems: DeliveryProblem[] = [];

  /** Reads `state` into this slot; false (slot untouched) until the balance was read. */
  read(state: DeliveryState): boolean {
    const r = state.last;
    if (r === null) return false;
    this.pending = r.pending;
    this.successful = r.successful;
    this.failed = r.failed;
    this.remaining = r.remaining;
    this.problems.length = 0;
    for (const p of DELIVERY_PROBLEMS) if (state.problemSince[p] !== null) this.problems.push(p);
    return true;
  }
}

export class FleetMetricsSource implements MetricsSource {
  readonly #fleet: Fleet;
  readonly #pending: () => Iterable<ChannelPendingView>;
  readonly #store: () => StoreMetricsView;
  readonly #senders: () => Iterable<ChannelSendersView>;
  readonly #leader: () => boolean;

  /** `leader`: whether this replica holds the HA lease now (SPEC §11); default always (no HA). */
  constructor(
    fleet: Fleet,
    pending: () => Iterable<ChannelPendingView>,
    store: () => StoreMetricsView,
    senders: () => Iterable<ChannelSendersView> = () => [],
    leader: () => boolean = () => true,
  ) {
    this.#fleet = fleet;
    this.#pending = pending;
    this.#store = store;
    this.#senders = senders;
    this.#leader = leader;
  }

  /** One view, updated in place: valid until the iteration goes on to the next device. */
  *devices(): Iterable<DeviceMetricsView> {
    const delivery = new DeliveryViewSlot();
    const view: Mutable<DeviceMetricsView> = {
      account: '',
      device: '',
      name: '',
      labels: {},
      status: null,
      up: null,
      probeSuccess: null,
      lastCheckAt: null,
      statusSince: null,
      transitions: 0,
      silenced: false,
      delivery: null,
    };
    for (const poller of this.#fleet.pollers.values()) {
      for (const rt of poller.devices.values()) {
        const s = rt.state;
        view.account = poller.name;
        view.device = rt.config.number;
        view.name = rt.config.name;
        view.labels = rt.config.labels;
        view.status = s.status;
        // Never answered (a bad token, an unreachable gateway): not checked yet, not UP.
        view.up = s.status === null ? null : s.health === 'UP';
        view.probeSuccess = s.status === null ? null : s.lastProbeError === null;
        view.lastCheckAt = s.lastCheckAt;
        view.statusSince = s.statusSince;
        view.transitions = s.transitions;
        view.silenced = this.#fleet.mutes.isMuted(poller.name, rt.config.number);
        view.delivery = delivery.read(rt.delivery) ? delivery : null;
        yield view;
      }
    }
  }

  *accounts(): Iterable<AccountMetricsView> {
    for (const poller of this.#fleet.pollers.values()) {
      yield {
        account: poller.name,
        reachable: poller.accountState.reachable,
        intervalMs: poller.config.policy.intervalMs,
        effectiveIntervalMs: poller.scheduler.effectiveIntervalMs,
        lastCycleDurationMs: poller.scheduler.lastCycleDurationMs ?? null,
        deliveryIntervalMs:
          poller.delivery.pace.devices === 0 ? null : poller.delivery.pace.effectiveIntervalMs,
      };
    }
  }

  notificationsPending(): Iterable<ChannelPendingView> {
    return this.#pending();
  }

  notificationSenders(): Iterable<ChannelSendersView> {
    return this.#senders();
  }

  store(): StoreMetricsView {
    return this.#store();
  }

  leader(): boolean {
    return this.#leader();
  }
}
