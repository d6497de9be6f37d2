// The snapshot is reused from one scrape to the next: whatever the fleet became meanwhile (a
// reload adding, removing, renaming or reordering devices), a reused one renders exactly what a
// fresh one does.
import { describe, expect, it } from 'vitest';
import { DeviceBlockRenderer, ONE_PIECE } from './device-block.js';
import { DeviceSnapshot } from './device-snapshot.js';
import type { DeviceMetricsView } from './source.js';
import { TextWriter } from './text-writer.js';
import { device, manyDevices, withDelivery } from './test-support/fixtures.js';

function render(renderer: DeviceBlockRenderer, snapshot: DeviceSnapshot): string {
  const out = new TextWriter();
  for (const _ of renderer.chunks(snapshot, out, ONE_PIECE));
  return out.toString();
}

const fleet = withDelivery(manyDevices(3000, 4));

describe('DeviceSnapshot', () => {
  it.each<[string, DeviceMetricsView[]]>([
    ['the same fleet again', fleet],
    ['fewer devices', fleet.slice(0, 1000)],
    ['more devices', [...fleet, ...withDelivery(manyDevices(5000, 2)).slice(3000)]],
    ['none', []],
    ['reordered', [...fleet].reverse()],
    ['an account renamed', fleet.map((d) => (d.account === 'acct-1' ? { ...d, account: 'acct-"one"' } : d))],
    ['a number changed in place', fleet.map((d, i) => (i === 1500 ? { ...d, device: '999' } : d))],
    ['a device renamed', fleet.map((d, i) => (i === 7 ? { ...d, name: 'New "name"' } : d))],
    ['labels replaced', fleet.map((d, i) => (i === 2999 ? { ...d, labels: { site: 'b\\c' } } : d))],
    ['statuses and readings changed', fleet.map((d) => ({ ...d, status: null, delivery: null, up: null }))],
  ])('renders, reused after a fill with %s, what a fresh snapshot renders', (_case, next) => {
    const renderer = new DeviceBlockRenderer();
    const reused = new DeviceSnapshot();
    reused.fill(fleet);
    render(renderer, reused);
    reused.fill(next);
    const fresh = new DeviceSnapshot();
    fresh.fill(next);
    expect(render(renderer, reused)).toBe(render(renderer, fresh));
    expect(render(renderer, fresh)).toBe(new DeviceBlockRenderer().renderToString(next));
  });

  it('copies each view as it comes, so a source may reuse one object', () => {
    const view = { ...device() };
    const list = [device({ device: '1', name: 'one' }), device({ device: '2', name: 'two', status: null })];
    function* reusing(): Generator<DeviceMetricsView> {
      for (const d of list) yield Object.assign(view, d);
    }
    const renderer = new DeviceBlockRenderer();
    expect(renderer.renderToString(reusing())).toBe(renderer.renderToString(list));
  });
});
