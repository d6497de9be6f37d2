// The contract's own checks (SPEC §7, §9): `promtool check metrics` reports nothing on a real
// render, and the shipped alert rules load and pass their `promtool test rules` suite.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEVICE_STATUSES, PROBE_ERROR_REASONS } from '../monitor/model.js';
import { Metrics } from './metrics.js';
import { account, device, fakeSource, manyDevices } from './test-support/fixtures.js';
import { needPromtool, promtool } from './test-support/promtool.js';

const RULES = fileURLToPath(new URL('../../config/prometheus/alerts.yml', import.meta.url));
const RULE_TESTS = fileURLToPath(new URL('../../config/prometheus/alerts.test.yml', import.meta.url));

async function realRender(): Promise<string> {
  const devices = [
    ...DEVICE_STATUSES.map((status, i) =>
      device({ device: String(100 + i), name: `Phone ${status}`, status, up: status === 'connected' }),
    ),
    device({
      device: '150',
      name: 'Stalled phone',
      delivery: {
        pending: 50,
        successful: 500,
        failed: 10,
        remaining: 80,
        problems: ['stalled', 'balance_low'],
      },
    }),
    device({
      device: '200',
      name: 'Never "checked"\\ yet\nreally',
      labels: { team: 'ops', 'odd-key': 'x' },
      status: null,
      probeSuccess: null,
      lastCheckAt: null,
      statusSince: null,
      transitions: 0,
    }),
    device({ account: 'eu', device: '300', status: 'disconnected', probeSuccess: false, silenced: true }),
  ];
  const metrics = new Metrics({
    source: fakeSource(
      devices,
      [
        account({ deliveryIntervalMs: 300_000 }),
        account({
          account: 'eu',
          reachable: false,
          lastCycleDurationMs: null,
          deliveryIntervalMs: Number.POSITIVE_INFINITY,
        }),
      ],
      [{ channel: 'ops', pending: 3 }],
    ),
    version: '0.1.0',
    channels: ['ops', 'sales'],
  });
  for (const reason of PROBE_ERROR_REASONS) metrics.recordCheck('eu', 0.4, reason);
  metrics.recordCheck('main', 0.08, 'ok');
  metrics.recordDeliveryCheck('main');
  metrics.recordSkippedCycle('main');
  metrics.recordNotification('ops', 'sent');
  metrics.recordNotification('ops', 'failed');
  metrics.recordNotification('sales', 'dropped');
  return metrics.render();
}

describe('promtool', () => {
  it('check metrics reports nothing on a render with devices of every status', async (ctx) => {
    needPromtool(ctx);
    const result = promtool(['check', 'metrics'], await realRender());
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('check metrics reports nothing on 1,000 devices with odd names and labels', async (ctx) => {
    needPromtool(ctx);
    const devices = manyDevices(1000);
    const metrics = new Metrics({
      source: fakeSource(
        devices,
        [0, 1, 2].map((i) => account({ account: `acct-${i}` })),
      ),
      version: '0.1.0',
    });
    const result = promtool(['check', 'metrics'], await metrics.render());
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('check metrics would catch what it is there for', (ctx) => {
    needPromtool(ctx);
    // Guards the two tests above against a promtool that silently accepts everything.
    const result = promtool(['check', 'metrics'], '# HELP x_total t\n# TYPE x_total gauge\nx_total 1\n');
    expect(result.stdout + result.stderr).toMatch(/non-counter metrics should not have "_total" suffix/);
  });

  it('check rules accepts config/prometheus/alerts.yml', (ctx) => {
    needPromtool(ctx);
    const result = promtool(['check', 'rules', RULES]);
    expect(result.stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('test rules passes config/prometheus/alerts.test.yml', (ctx) => {
    needPromtool(ctx);
    const result = promtool(['test', 'rules', RULE_TESTS]);
    expect(result.stdout + result.stderr).toMatch(/SUCCESS/);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });
});
