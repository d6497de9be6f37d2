// The fleet as Prometheus sees it: the MetricsSource the exposition reads at each scrape.

import type {
  AccountMetricsView,
  ChannelPendingView,
  ChannelSendersView,
  DeviceMetricsView,
  MetricsSource,
  StoreMetricsView,
} from '../metrics/source.js';
import type { Fleet } from './fleet.js';
import { problems, type DeliveryState } from '../monitor/delivery.js';
import type { DeliveryMetricsView } from '../metrics/source.js';

/** The last reading and the problems that hold; null until the balance was read. */
export function deliveryView(state: DeliveryState): DeliveryMetricsView | null {
  const r = state.last;
  if (r === null) return null;
  return {
    pending: r.pending,
    successful: r.successful,
    failed: r.failed,
    remaining: r.remaining,
    problems: problems(state),
  };
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

  *devices(): Iterable<DeviceMetricsView> {
    for (const poller of this.#fleet.pollers.values()) {
      for (const rt of poller.devices.values()) {
        const s = rt.state;
        yield {
          account: poller.name,
          device: rt.config.number,
          name: rt.config.name,
          labels: rt.config.labels,
          status: s.status,
          // Never answered (a bad token, an unreachable gateway): not checked yet, not UP.
          up: s.status === null ? null : s.health === 'UP',
          probeSuccess: s.status === null ? null : s.lastProbeError === null,
          lastCheckAt: s.lastCheckAt,
          statusSince: s.statusSince,
          transitions: s.transitions,
          silenced: this.#fleet.mutes.isMuted(poller.name, rt.config.number),
          delivery: deliveryView(rt.delivery),
        };
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
