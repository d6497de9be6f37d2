import { describe, expect, it } from 'vitest';
import { DEVICE_STATUSES } from '../monitor/model.js';
import type { DeviceStatus } from '../monitor/model.js';
import { DeviceBlockRenderer, ONE_PIECE } from './device-block.js';
import type { DeviceMetricsView } from './source.js';
import { TextWriter } from './text-writer.js';
import { device, manyDevices } from './test-support/fixtures.js';
import { parseExposition, samplesOf } from './test-support/exposition-parser.js';

const render = (devices: Iterable<DeviceMetricsView>): string =>
  new DeviceBlockRenderer().renderToString(devices);

/** One scrape as /metrics makes it: the renderer's snapshot (and its caches) reused after. */
function scrape(renderer: DeviceBlockRenderer, devices: Iterable<DeviceMetricsView>): string {
  const block = renderer.block(devices);
  const out = new TextWriter();
  for (const _ of block.chunks(out, ONE_PIECE));
  block.recycle();
  return out.toString();
}

describe('DeviceBlockRenderer', () => {
  it('renders the exact text for a small fixture', () => {
    const text = render([
      device({ labels: { team: 'sales', floor: '2' } }),
      device({
        account: 'eu "west"',
        device: '200000000',
        name: 'Back\\office "2"\nspare',
        labels: { 'cost-center': 'a\\b', name: 'ignored', team: 'x"y' },
        status: null,
        up: null,
        probeSuccess: null,
        lastCheckAt: null,
        statusSince: null,
        transitions: 0,
        silenced: true,
      }),
    ]);
    expect(text).toBe(
      `
# HELP whatsgate_device_info Always 1: the name and user labels of a configured device, to join with * on(account,device) group_left(name).
# TYPE whatsgate_device_info gauge
whatsgate_device_info{account="main",device="100000000",name="Sales phone",team="sales",floor="2"} 1
whatsgate_device_info{account="eu \\"west\\"",device="200000000",name="Back\\\\office \\"2\\"\\nspare",cost_center="a\\\\b",team="x\\"y"} 1

# HELP whatsgate_device_status State set: 1 for the current status, 0 for the others; all 0 until the first valid answer.
# TYPE whatsgate_device_status gauge
whatsgate_device_status{account="main",device="100000000",status="connected"} 1
whatsgate_device_status{account="main",device="100000000",status="disconnected"} 0
whatsgate_device_status{account="main",device="100000000",status="not_connected"} 0
whatsgate_device_status{account="main",device="100000000",status="not_initialized"} 0
whatsgate_device_status{account="main",device="100000000",status="not_found"} 0
whatsgate_device_status{account="main",device="100000000",status="unknown"} 0

# HELP whatsgate_device_up 1 while the device is UP, 0 while DOWN (after thresholds).
# TYPE whatsgate_device_up gauge
whatsgate_device_up{account="main",device="100000000"} 1

# HELP whatsgate_device_probe_success 1 when the last check got a valid answer, 0 on a probe error; absent before the first check.
# TYPE whatsgate_device_probe_success gauge
whatsgate_device_probe_success{account="main",device="100000000"} 1

# HELP whatsgate_device_last_check_timestamp_seconds Unix time of the last check of the device; absent before the first check.
# TYPE whatsgate_device_last_check_timestamp_seconds gauge
whatsgate_device_last_check_timestamp_seconds{account="main",device="100000000"} 1732468000.5

# HELP whatsgate_device_status_since_timestamp_seconds Unix time since which the current status holds; absent while unknown.
# TYPE whatsgate_device_status_since_timestamp_seconds gauge
whatsgate_device_status_since_timestamp_seconds{account="main",device="100000000"} 1732460000

# HELP whatsgate_device_transitions_total Status changes of the device.
# TYPE whatsgate_device_transitions_total counter
whatsgate_device_transitions_total{account="main",device="100000000"} 2
whatsgate_device_transitions_total{account="eu \\"west\\"",device="200000000"} 0

# HELP whatsgate_device_silenced 1 while a silence or maintenance window mutes notifications for the device.
# TYPE whatsgate_device_silenced gauge
whatsgate_device_silenced{account="main",device="100000000"} 0
whatsgate_device_silenced{account="eu \\"west\\"",device="200000000"} 1

# HELP whatsgate_device_messages_pending Messages waiting to be sent, as the gateway's last balance reading reported; absent until read.
# TYPE whatsgate_device_messages_pending gauge

# HELP whatsgate_device_messages_successful Messages sent today (the gateway's day), as last read; absent until read.
# TYPE whatsgate_device_messages_successful gauge

# HELP whatsgate_device_messages_failed Messages failed today (the gateway's day), as last read; absent until read.
# TYPE whatsgate_device_messages_failed gauge

# HELP whatsgate_device_balance_remaining Messages left in the balance, as last read; absent until read.
# TYPE whatsgate_device_balance_remaining gauge

# HELP whatsgate_device_delivery_problem State set: 1 for each delivery problem that holds (stalled, failing, balance_low), else 0; absent until read.
# TYPE whatsgate_device_delivery_problem gauge
`,
    );
  });

  it('round-trips escaped values through a strict parser', () => {
    const name = 'Back\\office "2"\nspare — Zürich 📱';
    const families = parseExposition(render([device({ name, labels: { note: '"\\\n' } })]));
    expect(samplesOf(families, 'whatsgate_device_info')[0]?.labels).toEqual({
      account: 'main',
      device: '100000000',
      name,
      note: '"\\\n',
    });
  });

  it.each(DEVICE_STATUSES.map((s) => [s]))('sets exactly one status series to 1 for %s', (status) => {
    const families = parseExposition(render([device({ status })]));
    const values = Object.fromEntries(
      samplesOf(families, 'whatsgate_device_status').map((s) => [s.labels['status'], s.value]),
    );
    expect(values).toEqual(Object.fromEntries(DEVICE_STATUSES.map((s) => [s, s === status ? 1 : 0])));
  });

  it('gives a device not checked yet no status, up or probe series: neither UP nor DOWN', () => {
    const families = parseExposition(
      render([device({ status: null, up: null, probeSuccess: null, lastCheckAt: null, statusSince: null })]),
    );
    for (const name of [
      'whatsgate_device_status',
      'whatsgate_device_up',
      'whatsgate_device_probe_success',
      'whatsgate_device_last_check_timestamp_seconds',
      'whatsgate_device_status_since_timestamp_seconds',
    ]) {
      expect(samplesOf(families, name)).toEqual([]);
    }
    for (const name of ['whatsgate_device_info', 'whatsgate_device_transitions_total']) {
      expect(samplesOf(families, name)).toHaveLength(1);
    }
  });

  it('a device checked but never answered (bad token) has a last check and nothing else', () => {
    const families = parseExposition(
      render([
        device({ status: null, up: null, probeSuccess: null, lastCheckAt: 1_000_000, statusSince: null }),
      ]),
    );
    expect(samplesOf(families, 'whatsgate_device_up')).toEqual([]);
    expect(samplesOf(families, 'whatsgate_device_last_check_timestamp_seconds')).toHaveLength(1);
  });

  it('renders a probe error as probe_success 0 while keeping the last status', () => {
    const families = parseExposition(render([device({ status: 'disconnected', probeSuccess: false })]));
    expect(samplesOf(families, 'whatsgate_device_probe_success')[0]?.value).toBe(0);
    expect(samplesOf(families, 'whatsgate_device_status').find((s) => s.value === 1)?.labels['status']).toBe(
      'disconnected',
    );
  });

  it('drops user labels that collide, after sanitising, with fixed or earlier labels', () => {
    const families = parseExposition(
      render([device({ labels: { account: 'x', device: 'y', name: 'z', 'a-b': '1', a_b: '2', '9x': '3' } })]),
    );
    expect(samplesOf(families, 'whatsgate_device_info')[0]?.labels).toEqual({
      account: 'main',
      device: '100000000',
      name: 'Sales phone',
      a_b: '1',
      label_9x: '3',
    });
  });

  it('lists exactly the devices the source lists on each render', () => {
    const renderer = new DeviceBlockRenderer();
    const a = device({ device: '1' });
    const b = device({ device: '2' });
    const devicesIn = (text: string): string[] =>
      samplesOf(parseExposition(text), 'whatsgate_device_up').map((s) => s.labels['device'] ?? '');
    expect(devicesIn(renderer.renderToString([a, b]))).toEqual(['1', '2']);
    const after = renderer.renderToString([b]);
    expect(devicesIn(after)).toEqual(['2']);
    expect(after).not.toContain('device="1"');
    expect(devicesIn(renderer.renderToString([]))).toEqual([]);
  });

  it('keeps every family header when there are no devices', () => {
    const families = parseExposition(render([]));
    expect([...families.keys()]).toHaveLength(13);
  });

  it('renders 1,000 varied devices that a strict parser accepts, 13 series each at most', () => {
    const devices = manyDevices(1000);
    const families = parseExposition(render(devices));
    const neverChecked = devices.filter((d) => d.lastCheckAt === null).length;
    const total = [...families.values()].reduce((n, f) => n + f.samples.length, 0);
    // not checked yet: no status (6), up, probe, last check nor since series
    expect(total).toBe(1000 * 13 - neverChecked * 10);
    const connected = samplesOf(families, 'whatsgate_device_status').filter(
      (s) => s.labels['status'] === 'connected' && s.value === 1,
    ).length;
    expect(connected).toBe(devices.filter((d) => d.status === ('connected' satisfies DeviceStatus)).length);
  });

  it('does not iterate the source more than once', () => {
    let iterations = 0;
    const source = {
      *[Symbol.iterator]() {
        iterations += 1;
        yield device();
      },
    };
    render(source);
    expect(iterations).toBe(1);
  });

  it.each<[string, (d: DeviceMetricsView) => DeviceMetricsView]>([
    ['renamed', (d) => ({ ...d, name: 'Renamed "desk"' })],
    ['given other labels', (d) => ({ ...d, labels: { team: 'night' } })],
    ['renamed with the same labels object', (d) => ({ ...d, name: 'Café' })],
  ])('shows a device %s between scrapes, though the info text is cached', (_case, change) => {
    const renderer = new DeviceBlockRenderer();
    const labels = { team: 'day' };
    const before = [device({ device: '1', labels }), device({ device: '2', name: 'Other', labels })];
    scrape(renderer, before);
    expect(scrape(renderer, before)).toBe(render(before));
    const after = [change(before[0]!), before[1]!];
    const text = scrape(renderer, after);
    expect(text).toBe(render(after));
    expect(text).not.toBe(render(before));
  });
});
