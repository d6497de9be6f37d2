// The delivery-health series of SPEC §10: gauges of the last reading, the problem state set,
// the balance-read counter and the effective delivery interval — absent until there is a value.

import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';
import { account, device, fakeSource } from './test-support/fixtures.js';

async function render(devices: Parameters<typeof fakeSource>[0], accounts = [account()]): Promise<string> {
  const metrics = new Metrics({ source: fakeSource(devices, accounts, []), version: '0.1.0' });
  metrics.recordDeliveryCheck('main');
  metrics.recordDeliveryCheck('main');
  return metrics.render();
}

const lines = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));

describe('delivery metrics', () => {
  it('exports the last reading and every problem as a state set', async () => {
    const text = await render([
      device({
        device: '1',
        delivery: {
          pending: 50,
          successful: 500,
          failed: 10,
          remaining: 80,
          problems: ['stalled', 'balance_low'],
        },
      }),
    ]);
    expect(lines(text, 'whatsgate_device_messages_pending')).toEqual([
      'whatsgate_device_messages_pending{account="main",device="1"} 50',
    ]);
    expect(lines(text, 'whatsgate_device_messages_successful')).toEqual([
      'whatsgate_device_messages_successful{account="main",device="1"} 500',
    ]);
    expect(lines(text, 'whatsgate_device_messages_failed')).toEqual([
      'whatsgate_device_messages_failed{account="main",device="1"} 10',
    ]);
    expect(lines(text, 'whatsgate_device_balance_remaining')).toEqual([
      'whatsgate_device_balance_remaining{account="main",device="1"} 80',
    ]);
    expect(lines(text, 'whatsgate_device_delivery_problem')).toEqual([
      'whatsgate_device_delivery_problem{account="main",device="1",problem="stalled"} 1',
      'whatsgate_device_delivery_problem{account="main",device="1",problem="failing"} 0',
      'whatsgate_device_delivery_problem{account="main",device="1",problem="balance_low"} 1',
    ]);
    expect(text).toContain('whatsgate_delivery_checks_total{account="main"} 2');
  });

  it('writes no delivery series for a device not read yet', async () => {
    const text = await render([device({ device: '1' }), device({ device: '2', delivery: null })]);
    for (const name of ['whatsgate_device_messages_pending', 'whatsgate_device_delivery_problem']) {
      expect(lines(text, name)).toEqual([]);
      // The family is still announced, so the rules' metric names always resolve.
      expect(text).toContain(`# TYPE ${name} gauge`);
    }
  });

  it('exports the effective delivery interval, +Inf when no budget is left, absent when nothing is read', async () => {
    const text = await render(
      [],
      [
        account({ account: 'a', deliveryIntervalMs: 300_000 }),
        account({ account: 'b', deliveryIntervalMs: Number.POSITIVE_INFINITY }),
        account({ account: 'c', deliveryIntervalMs: null }),
      ],
    );
    expect(lines(text, 'whatsgate_account_delivery_interval_seconds')).toEqual([
      'whatsgate_account_delivery_interval_seconds{account="a"} 300',
      'whatsgate_account_delivery_interval_seconds{account="b"} +Inf',
    ]);
  });
});
