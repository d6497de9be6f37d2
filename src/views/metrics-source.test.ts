import { describe, expect, it } from 'vitest';
import { DeviceBlockRenderer } from '../metrics/device-block.js';
import type { DeviceMetricsView } from '../metrics/source.js';
import { initialDeliveryState, type DeliveryState } from '../monitor/delivery.js';
import { initialDeviceState } from '../monitor/device-state.js';
import type { DeviceState } from '../monitor/device-state.js';
import { Mutes } from '../monitor/mutes.js';
import type { AccountPoller } from '../poll/account-poller.js';
import type { Fleet } from './fleet.js';
import { FleetMetricsSource } from './metrics-source.js';

const NOW = 1_700_000_000_000;

interface FakeDevice {
  readonly number: string;
  readonly state: DeviceState;
  readonly delivery?: DeliveryState;
  readonly labels?: Record<string, string>;
}

/** What FleetMetricsSource reads of an AccountPoller. */
function fakePoller(name: string, devices: readonly FakeDevice[]): AccountPoller {
  const poller = {
    name,
    devices: new Map(
      devices.map((d) => [
        d.number,
        {
          config: { number: d.number, name: `Phone ${d.number}`, labels: d.labels ?? {} },
          state: d.state,
          delivery: d.delivery ?? initialDeliveryState(),
        },
      ]),
    ),
  };
  return poller as unknown as AccountPoller;
}

function checked(overrides: Partial<DeviceState>): DeviceState {
  return {
    ...initialDeviceState(),
    status: 'connected',
    statusSince: NOW - 60_000,
    lastCheckAt: NOW - 1_000,
    transitions: 3,
    ...overrides,
  };
}

const stalled: DeliveryState = {
  ...initialDeliveryState(),
  last: { at: NOW - 5_000, remaining: 80, successful: 500, pending: 50, failed: 10 },
  problemSince: { stalled: NOW - 600_000, failing: null, balance_low: NOW - 60_000 },
};
const healthy: DeliveryState = {
  ...initialDeliveryState(),
  last: { at: NOW - 5_000, remaining: 900, successful: 20, pending: 0, failed: 0 },
};

function fleet(): Fleet {
  const mutes = new Mutes();
  mutes.refresh([], [{ devices: new Set(['300']), until: NOW + 60_000 }], NOW);
  return {
    pollers: new Map([
      [
        'main',
        fakePoller('main', [
          { number: '100', state: checked({}), delivery: stalled, labels: { team: 'sales' } },
          { number: '101', state: initialDeviceState() },
          {
            number: '102',
            state: checked({
              status: 'disconnected',
              health: 'DOWN',
              lastProbeError: { reason: 'timeout', message: 'timed out', at: NOW },
            }),
          },
        ]),
      ],
      ['eu', fakePoller('eu', [{ number: '300', state: checked({}), delivery: healthy }])],
    ]),
    mutes,
  };
}

function copy(d: DeviceMetricsView): DeviceMetricsView {
  return { ...d, delivery: d.delivery ? { ...d.delivery, problems: [...d.delivery.problems] } : null };
}

describe('FleetMetricsSource', () => {
  it('maps every device the way the exporter expects', () => {
    const source = new FleetMetricsSource(
      fleet(),
      () => [],
      () => ({ writable: true }),
    );
    // Copied as they come, as the exporter's snapshot does: the source reuses its view object.
    const copies = Array.from(source.devices(), copy);
    expect(copies.map((d) => [d.account, d.device, d.status, d.up, d.probeSuccess, d.silenced])).toEqual([
      ['main', '100', 'connected', true, true, false],
      ['main', '101', null, null, null, false],
      ['main', '102', 'disconnected', false, false, false],
      ['eu', '300', 'connected', true, true, true],
    ]);
    expect(copies[0]?.delivery).toEqual({
      pending: 50,
      successful: 500,
      failed: 10,
      remaining: 80,
      problems: ['stalled', 'balance_low'],
    });
    expect(copies[1]?.delivery).toBeNull();
    expect(copies[3]?.delivery?.problems).toEqual([]);
    expect(copies[0]?.labels).toEqual({ team: 'sales' });
  });

  it('hands out one object, updated in place, and exports the same text as distinct views would', () => {
    const source = new FleetMetricsSource(
      fleet(),
      () => [],
      () => ({ writable: true }),
    );
    const seen = new Set<DeviceMetricsView>();
    const distinct: DeviceMetricsView[] = [];
    for (const d of source.devices()) {
      seen.add(d);
      distinct.push(copy(d));
    }
    expect(seen.size).toBe(1);

    const renderer = new DeviceBlockRenderer();
    expect(renderer.renderToString(source.devices())).toBe(renderer.renderToString(distinct));
  });
});
