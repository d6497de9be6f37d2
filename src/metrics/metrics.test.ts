import { Registry, register as globalRegistry } from 'prom-client';
import type { OpenMetricsContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PROBE_ERROR_REASONS } from '../monitor/model.js';
import { expositionText } from './exposition-stream.js';
import { Metrics } from './metrics.js';
import type { MetricsOptions } from './metrics.js';
import { account, device, fakeSource, manyDevices } from './test-support/fixtures.js';
import type { FakeSource } from './test-support/fixtures.js';
import { parseExposition, samplesOf } from './test-support/exposition-parser.js';
import type { Family } from './test-support/exposition-parser.js';

function setup(
  source: FakeSource = fakeSource([device()], [account()]),
  options: Partial<MetricsOptions> = {},
): { metrics: Metrics; source: FakeSource; scrape: () => Promise<Map<string, Family>> } {
  const metrics = new Metrics({ source, version: '1.2.3', processMetrics: false, ...options });
  return { metrics, source, scrape: async () => parseExposition(await metrics.render()) };
}

/** `{labels as JSON: value}` for one family, for compact assertions. */
function values(families: Map<string, Family>, name: string): Record<string, number> {
  return Object.fromEntries(samplesOf(families, name).map((s) => [JSON.stringify(s.labels), s.value]));
}

describe('Metrics', () => {
  it('exports every family of the contract with its type', async () => {
    const { scrape } = setup();
    const families = await scrape();
    const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
    expect(types).toEqual({
      whatsgate_device_info: 'gauge',
      whatsgate_device_status: 'gauge',
      whatsgate_device_up: 'gauge',
      whatsgate_device_probe_success: 'gauge',
      whatsgate_device_last_check_timestamp_seconds: 'gauge',
      whatsgate_device_status_since_timestamp_seconds: 'gauge',
      whatsgate_device_transitions_total: 'counter',
      whatsgate_device_silenced: 'gauge',
      whatsgate_device_messages_pending: 'gauge',
      whatsgate_device_messages_successful: 'gauge',
      whatsgate_device_messages_failed: 'gauge',
      whatsgate_device_balance_remaining: 'gauge',
      whatsgate_device_delivery_problem: 'gauge',
      whatsgate_checks_total: 'counter',
      whatsgate_delivery_checks_total: 'counter',
      whatsgate_account_delivery_interval_seconds: 'gauge',
      whatsgate_check_errors_total: 'counter',
      whatsgate_check_duration_seconds: 'histogram',
      whatsgate_account_reachable: 'gauge',
      whatsgate_account_interval_seconds: 'gauge',
      whatsgate_account_effective_interval_seconds: 'gauge',
      whatsgate_poll_cycle_duration_seconds: 'gauge',
      whatsgate_poll_cycles_skipped_total: 'counter',
      whatsgate_notifications_total: 'counter',
      whatsgate_notification_failures_total: 'counter',
      whatsgate_notifications_dropped_total: 'counter',
      whatsgate_notifications_pending: 'gauge',
      whatsgate_notification_senders_up: 'gauge',
      whatsgate_monitor_build_info: 'gauge',
      whatsgate_monitor_store_errors_total: 'counter',
      whatsgate_monitor_store_writable: 'gauge',
      whatsgate_monitor_leader: 'gauge',
    });
    expect(values(families, 'whatsgate_monitor_build_info')).toEqual({ '{"version":"1.2.3"}': 1 });
    expect(values(families, 'whatsgate_monitor_leader')).toEqual({ '{}': 1 });
  });

  it('exports only whatsgate_monitor_* on an HA standby, and everything again once it leads', async () => {
    const { metrics, source, scrape } = setup(
      fakeSource([device()], [account()], [{ channel: 'ops', pending: 2 }]),
      {
        channels: ['ops'],
      },
    );
    metrics.recordCheck('main', 0.1, 'ok');
    metrics.recordNotification('ops', 'sent');
    source.leading = false;
    let families = await scrape();
    expect([...families.keys()].sort()).toEqual([
      'whatsgate_monitor_build_info',
      'whatsgate_monitor_leader',
      'whatsgate_monitor_store_errors_total',
      'whatsgate_monitor_store_writable',
    ]);
    expect(values(families, 'whatsgate_monitor_leader')).toEqual({ '{}': 0 });
    source.leading = true;
    families = await scrape();
    expect(values(families, 'whatsgate_monitor_leader')).toEqual({ '{}': 1 });
    expect(values(families, 'whatsgate_device_up')).not.toEqual({});
    expect(values(families, 'whatsgate_notifications_pending')).toEqual({ '{"channel":"ops"}': 2 });
  });

  it('keeps process metrics on a standby', async () => {
    const { source, scrape } = setup(fakeSource([device()], [account()]), { processMetrics: true });
    source.leading = false;
    const families = await scrape();
    expect(families.has('process_cpu_seconds_total')).toBe(true);
    expect(families.has('whatsgate_device_up')).toBe(false);
  });

  it('exports the sender devices UP of the channels that have senders, and only theirs', async () => {
    const senders = [{ channel: 'wa', up: 2 }];
    const source = Object.assign(fakeSource([], [], [{ channel: 'ops', pending: 1 }]), {
      notificationSenders: () => senders,
    });
    const { scrape } = setup(source, { channels: ['ops', 'wa'] });
    expect(values(await scrape(), 'whatsgate_notification_senders_up')).toEqual({ '{"channel":"wa"}': 2 });
    senders[0] = { channel: 'wa', up: 0 };
    expect(values(await scrape(), 'whatsgate_notification_senders_up')).toEqual({ '{"channel":"wa"}': 0 });
    senders.length = 0;
    expect(values(await scrape(), 'whatsgate_notification_senders_up')).toEqual({});
  });

  it('says whether the database takes writes, and counts the writes it refused', async () => {
    const source = fakeSource();
    const { metrics, scrape } = setup(source);
    let families = await scrape();
    expect(values(families, 'whatsgate_monitor_store_writable')).toEqual({ '{}': 1 });
    expect(values(families, 'whatsgate_monitor_store_errors_total')).toEqual({ '{}': 0 });
    source.storeWritable = false;
    metrics.recordStoreError();
    metrics.recordStoreError();
    families = await scrape();
    expect(values(families, 'whatsgate_monitor_store_writable')).toEqual({ '{}': 0 });
    expect(values(families, 'whatsgate_monitor_store_errors_total')).toEqual({ '{}': 2 });
    source.storeWritable = true;
    families = await scrape();
    expect(values(families, 'whatsgate_monitor_store_writable')).toEqual({ '{}': 1 });
  });

  it('starts every configured account at zero, with all seven error reasons', async () => {
    const { scrape } = setup(fakeSource([], [account({ account: 'a' }), account({ account: 'b' })]));
    const families = await scrape();
    expect(values(families, 'whatsgate_checks_total')).toEqual({
      '{"account":"a"}': 0,
      '{"account":"b"}': 0,
    });
    const errors = samplesOf(families, 'whatsgate_check_errors_total');
    expect(errors).toHaveLength(2 * PROBE_ERROR_REASONS.length);
    expect(errors.every((s) => s.value === 0)).toBe(true);
    expect(new Set(errors.map((s) => s.labels['reason']))).toEqual(new Set(PROBE_ERROR_REASONS));
    expect(values(families, 'whatsgate_poll_cycles_skipped_total')).toEqual({
      '{"account":"a"}': 0,
      '{"account":"b"}': 0,
    });
    const counts = samplesOf(families, 'whatsgate_check_duration_seconds').filter((s) =>
      s.name.endsWith('_count'),
    );
    expect(counts.map((s) => s.value)).toEqual([0, 0]);
  });

  it('counts checks, errors by reason, durations and skipped cycles', async () => {
    const { metrics, scrape } = setup();
    metrics.recordCheck('main', 0.2, 'ok');
    metrics.recordCheck('main', 0.3, 'ok');
    metrics.recordCheck('main', 10.01, 'timeout');
    metrics.recordCheck('main', 0.05, 'rate_limited');
    metrics.recordCheck('main', 0.06, 'rate_limited');
    metrics.recordSkippedCycle('main');
    const families = await scrape();
    expect(values(families, 'whatsgate_checks_total')).toEqual({ '{"account":"main"}': 5 });
    const errors = values(families, 'whatsgate_check_errors_total');
    expect(errors['{"account":"main","reason":"timeout"}']).toBe(1);
    expect(errors['{"account":"main","reason":"rate_limited"}']).toBe(2);
    expect(errors['{"account":"main","reason":"http_5xx"}']).toBe(0);
    const hist = samplesOf(families, 'whatsgate_check_duration_seconds');
    const bucket = (le: string): number | undefined =>
      hist.find((s) => s.name.endsWith('_bucket') && s.labels['le'] === le)?.value;
    expect(bucket('0.1')).toBe(2);
    expect(bucket('10')).toBe(4); // a timeout lands above the timeout's own bucket
    expect(bucket('15')).toBe(5);
    expect(bucket('+Inf')).toBe(5);
    expect(hist.find((s) => s.name.endsWith('_sum'))?.value).toBeCloseTo(10.62, 6);
    expect(values(families, 'whatsgate_poll_cycles_skipped_total')).toEqual({ '{"account":"main"}': 1 });
  });

  it('pulls account gauges in seconds and omits a cycle duration not yet known', async () => {
    const source = fakeSource(
      [],
      [
        account({ account: 'a', reachable: false, effectiveIntervalMs: 95_500, lastCycleDurationMs: null }),
        account({ account: 'b', intervalMs: 30_000, lastCycleDurationMs: 2_250 }),
      ],
    );
    const families = await setup(source).scrape();
    expect(values(families, 'whatsgate_account_reachable')).toEqual({
      '{"account":"a"}': 0,
      '{"account":"b"}': 1,
    });
    expect(values(families, 'whatsgate_account_effective_interval_seconds')).toEqual({
      '{"account":"a"}': 95.5,
      '{"account":"b"}': 60,
    });
    expect(values(families, 'whatsgate_account_interval_seconds')).toEqual({
      '{"account":"a"}': 60,
      '{"account":"b"}': 30,
    });
    expect(values(families, 'whatsgate_poll_cycle_duration_seconds')).toEqual({ '{"account":"b"}': 2.25 });
  });

  it('removes an account the source no longer lists, counters included', async () => {
    const { metrics, source, scrape } = setup(
      fakeSource([], [account({ account: 'a' }), account({ account: 'b' })]),
    );
    metrics.recordCheck('b', 0.1, 'timeout');
    expect((await scrape()).get('whatsgate_checks_total')?.samples).toHaveLength(2);
    source.accountList = [account({ account: 'a' })];
    const text = await metrics.render();
    expect(text).not.toContain('account="b"');
    expect(values(parseExposition(text), 'whatsgate_checks_total')).toEqual({ '{"account":"a"}': 0 });
  });

  it('forgetAccount removes the series at once; a later check starts from zero', async () => {
    const { metrics, source } = setup(fakeSource([], [account({ account: 'a' })]));
    metrics.recordCheck('a', 0.1, 'connection');
    metrics.forgetAccount('a');
    source.accountList = [];
    expect(await metrics.render()).not.toContain('account="a"');
    source.accountList = [account({ account: 'a' })];
    metrics.recordCheck('a', 0.1, 'ok');
    const families = parseExposition(await metrics.render());
    expect(values(families, 'whatsgate_checks_total')).toEqual({ '{"account":"a"}': 1 });
    expect(values(families, 'whatsgate_check_errors_total')['{"account":"a","reason":"connection"}']).toBe(0);
  });

  it('removes a device the source drops, with all of its series', async () => {
    const { metrics, source } = setup(
      fakeSource([device({ device: '1' }), device({ device: '2' })], [account()]),
    );
    expect(await metrics.render()).toContain('device="1"');
    source.deviceList = [device({ device: '2' })];
    const text = await metrics.render();
    expect(text).not.toContain('device="1"');
    expect(samplesOf(parseExposition(text), 'whatsgate_device_status')).toHaveLength(6);
  });

  it('counts notification attempts, failures and drops per channel', async () => {
    const { metrics, scrape } = setup(fakeSource(), { channels: ['ops', 'sales'] });
    metrics.recordNotification('ops', 'sent');
    metrics.recordNotification('ops', 'failed');
    metrics.recordNotification('ops', 'failed');
    metrics.recordNotification('ops', 'dropped');
    const families = await scrape();
    expect(values(families, 'whatsgate_notifications_total')).toEqual({
      '{"channel":"ops"}': 3,
      '{"channel":"sales"}': 0,
    });
    expect(values(families, 'whatsgate_notification_failures_total')).toEqual({
      '{"channel":"ops"}': 2,
      '{"channel":"sales"}': 0,
    });
    expect(values(families, 'whatsgate_notifications_dropped_total')).toEqual({
      '{"channel":"ops"}': 1,
      '{"channel":"sales"}': 0,
    });
  });

  it('exports pending per configured channel, 0 when the source has no figure', async () => {
    const source = fakeSource([], [], [{ channel: 'ops', pending: 4 }]);
    const { metrics, scrape } = setup(source, { channels: ['ops', 'am'] });
    expect(values(await scrape(), 'whatsgate_notifications_pending')).toEqual({
      '{"channel":"ops"}': 4,
      '{"channel":"am"}': 0,
    });
    source.pendingList = [];
    metrics.setChannels(['am']);
    expect(values(await scrape(), 'whatsgate_notifications_pending')).toEqual({ '{"channel":"am"}': 0 });
  });

  it('setChannels keeps counts of kept channels, drops removed ones, starts new ones at 0', async () => {
    const { metrics, scrape } = setup(fakeSource(), { channels: ['ops', 'sales'] });
    metrics.recordNotification('ops', 'sent');
    metrics.recordNotification('sales', 'sent');
    metrics.setChannels(['ops', 'am']);
    const families = await scrape();
    expect(values(families, 'whatsgate_notifications_total')).toEqual({
      '{"channel":"ops"}': 1,
      '{"channel":"am"}': 0,
    });
    expect(values(families, 'whatsgate_notifications_dropped_total')).toEqual({
      '{"channel":"ops"}': 0,
      '{"channel":"am"}': 0,
    });
  });

  it('uses a registry of its own, never the global one', async () => {
    const before = (await globalRegistry.metrics()).length;
    const { metrics } = setup(fakeSource(), { processMetrics: true });
    expect(metrics.registry).not.toBe(globalRegistry);
    expect(await globalRegistry.metrics()).toHaveLength(before);
    expect(globalRegistry.getSingleMetric('whatsgate_checks_total')).toBeUndefined();
  });

  it('writes into a registry passed in, and its other metrics come out once', async () => {
    const registry = new Registry();
    const { metrics } = setup(fakeSource([device()], [account()]), { registry });
    expect(metrics.registry).toBe(registry);
    expect(registry.getSingleMetric('whatsgate_notifications_total')).toBeDefined();
    const families = parseExposition(await metrics.render());
    expect(families.has('whatsgate_device_up')).toBe(true);
  });

  it('refuses an OpenMetrics registry, whose format the device block does not speak', () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    // The type parameter forbids this; a caller without types could still do it.
    const untyped = registry as unknown as Registry;
    expect(() => new Metrics({ source: fakeSource(), version: 'x', registry: untyped })).toThrow(TypeError);
  });

  it('includes process metrics without the gauges that promtool rejects', async () => {
    const { metrics } = setup(fakeSource(), { processMetrics: true });
    const families = parseExposition(await metrics.render());
    expect(families.has('process_cpu_seconds_total')).toBe(true);
    expect(families.has('nodejs_heap_size_used_bytes')).toBe(true);
    for (const [name, family] of families) {
      if (family.type !== 'counter') expect(name).not.toMatch(/_total$/);
    }
    expect(metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('renders 1,000 devices plus everything else as one strictly valid exposition', async () => {
    const devices = manyDevices(1000, 4);
    const accounts = ['acct-0', 'acct-1', 'acct-2', 'acct-3'].map((a) => account({ account: a }));
    const { metrics } = setup(fakeSource(devices, accounts, [{ channel: 'ops', pending: 2 }]), {
      channels: ['ops'],
      processMetrics: true,
    });
    for (const d of devices.slice(0, 50))
      metrics.recordCheck(d.account, 0.12, d.probeSuccess ? 'ok' : 'timeout');
    const families = parseExposition(await metrics.render());
    expect(samplesOf(families, 'whatsgate_device_info')).toHaveLength(1000);
    // six state-set series per device that answered at least once
    expect(samplesOf(families, 'whatsgate_device_status')).toHaveLength(
      6 * devices.filter((d) => d.status !== null).length,
    );
    expect(values(families, 'whatsgate_checks_total')['{"account":"acct-0"}']).toBe(13);
  });

  it('lends an exposition fixed when made, untouched by changes and scrapes while it is out', async () => {
    const { metrics, source } = setup(fakeSource([device({ device: '1' })], [account()]));
    const expected = await metrics.render();
    const text = await metrics.withExposition(async (exposition) => {
      source.deviceList = [device({ device: '2' })];
      const meanwhile = await metrics.render();
      expect(meanwhile).toContain('device="2"');
      // Still the first scrape's devices: the overlapping one took another snapshot.
      return expositionText(exposition);
    });
    expect(text).toBe(expected);
  });

  it('refuses to write an exposition twice, or once its loan is over', async () => {
    const { metrics } = setup();
    const kept = await metrics.withExposition(async (exposition) => {
      await expositionText(exposition);
      await expect(expositionText(exposition)).rejects.toThrow('written once');
      return exposition;
    });
    const late = await metrics.withExposition((exposition) => exposition);
    await expect(expositionText(kept)).rejects.toThrow('written once');
    await expect(expositionText(late)).rejects.toThrow('while lent');
  });

  it('passes on an error from the borrower and keeps working', async () => {
    const { metrics } = setup();
    await expect(
      metrics.withExposition(() => {
        throw new Error('client went away');
      }),
    ).rejects.toThrow('client went away');
    expect(parseExposition(await metrics.render()).has('whatsgate_device_up')).toBe(true);
  });

  it('serves concurrent scrapes identical, complete texts', async () => {
    const { metrics } = setup(fakeSource(manyDevices(300), [account()]));
    const [a, b, c] = await Promise.all([metrics.render(), metrics.render(), metrics.render()]);
    expect(b).toBe(a);
    expect(c).toBe(a);
    parseExposition(a);
  });
});
