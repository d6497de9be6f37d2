import { describe, expect, it } from 'vitest';
import type { HistoryRow } from '../store/store.js';
import { computeAudit, deviceKey } from './compute.js';
import { formatPercent, humanDuration, localTime } from '../report/format.js';
import { auditSubject, auditToJson, renderAuditText } from './render.js';
import { renderAuditHtml } from './render-html.js';
import { buildAuditMessage, buildAuditMessageInSlices } from './sender.js';

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.UTC(2026, 4, 10, 9, 0, 0);
const SINCE = NOW - 7 * D;

function row(device: string, at: number, from: HistoryRow['from'], to: HistoryRow['to']): HistoryRow {
  return { account: 'main', device, at, from, to, raw: null };
}

const report = computeAudit({
  devices: [
    {
      account: 'main',
      number: '100',
      name: 'Sales <phone>',
      delivery: { at: NOW - 60_000, remaining: 900, successful: 500, pending: 50, failed: 10 },
    },
    { account: 'main', number: '200', name: 'Old phone' },
    { account: 'main', number: '300', name: 'Ghost' },
    { account: 'main', number: '400', name: 'Gone' },
  ],
  history: [
    row('100', SINCE - D, null, 'connected'),
    row('100', SINCE + D, 'connected', 'disconnected'),
    row('100', SINCE + D + 90 * 60_000, 'disconnected', 'connected'),
    row('200', NOW - 20 * D, null, 'not_connected'),
    row('400', NOW - 30 * D, null, 'connected'),
    row('400', NOW - 2 * D, 'connected', 'deleted'),
  ],
  now: NOW,
  since: SINCE,
  staleAfterMs: 14 * D,
  notFound: new Set([deviceKey('main', '300')]),
  // Device 100: stalled 2 h in the period, then 30 min and still stalled (counts up to now).
  problemPeriods: [
    { account: 'main', device: '100', problem: 'stalled', startedAt: SINCE + H, endedAt: SINCE + 3 * H },
    { account: 'main', device: '100', problem: 'stalled', startedAt: NOW - H / 2, endedAt: null },
  ],
});

describe('audit rendering', () => {
  it('renders a readable text table with the findings and their commands', () => {
    const text = renderAuditText(report, 'UTC');
    expect(text).toContain('WhatsGate device audit — 2026-05-03 09:00 to 2026-05-10 09:00 (7d, UTC)');
    expect(text).toMatch(
      /^DEVICE\s+ACCOUNT\s+NAME\s+STATUS\s+UPTIME\s+OUTAGES\s+DOWNTIME\s+LONGEST\s+OBSERVED\s+DELIVERY TODAY\s+STALLED H$/m,
    );
    expect(text).toMatch(
      /^100\s+main\s+Sales <phone>\s+connected\s+99\.10 %\s+1\s+1h 30m\s+1h 30m\s+100 %\s+500\/50\/10 · 900 left\s+2\.5$/m,
    );
    // Never read, never stalled: dashes.
    expect(text).toMatch(/^200\s+main\s+Old phone\s.*\s–\s+–$/m);
    expect(text).toContain('DELIVERY TODAY: sent/pending/failed');
    expect(text).toContain(
      'Old phone (200, account main): not connected for 20d (never connected since 2026-04-20 09:00): unused? consider deleting',
    );
    expect(text).toContain('      whatsgate-monitor delete 200\n');
    expect(text).toContain('Ghost (300, account main): unknown to the gateway ("device not found!")');
    expect(text).toContain(
      'Gone (400, account main): deleted at the gateway on 2026-05-08 09:00: remove it from the config',
    );
    expect(text).toContain('no record of when it ran');
  });

  it('escapes names in HTML; inline styles, and one <style> with the narrow-screen media query only', () => {
    const html = renderAuditHtml(report, 'UTC');
    expect(html).toContain('Sales &lt;phone&gt;');
    expect(html).toMatch(/<th[^>]*>Delivery today<\/th><th[^>]*>Stalled h<\/th>/);
    expect(html).toContain('data-label="Delivery today"');
    expect(html).toMatch(/>500\/50\/10 · 900 left<\/td><td data-label="Stalled h"[^>]*>2\.5<\/td>/);
    expect(html).not.toContain('<phone>');
    expect(html).not.toMatch(/<link|<script/);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? '');
    expect(styles).toHaveLength(1);
    expect(styles[0]).toMatch(/^@media only screen and \(max-width:480px\)\{[\s\S]*\}$/);
    expect(html).toMatch(
      /<code style="[^"]*">whatsgate-monitor delete 200<\/code> \(on the monitor’s host\)/,
    );
  });

  it('gives scripts snake_case JSON with ISO times and seconds', () => {
    const json = auditToJson(report, 'Europe/Berlin');
    expect(json.since).toBe('2026-05-03T11:00:00+02:00');
    expect(json.period).toBe('7d');
    expect(json.stale_after).toBe('14d');
    expect(json.summary).toMatchObject({ devices: 4, stale: 1, not_found: 1, deleted: 1, outages: 2 });
    const sales = json.devices[0];
    expect(sales).toMatchObject({
      device: '100',
      status: 'connected',
      uptime_percent: 99.1,
      outages: 1,
      outage_seconds: 5400,
      longest_outage: { start: '2026-05-04T11:00:00+02:00', end: '2026-05-04T12:30:00+02:00', seconds: 5400 },
      action: null,
    });
    expect(sales?.delivery).toEqual({
      successful: 500,
      pending: 50,
      failed: 10,
      remaining: 900,
      stalled_hours: 2.5,
      failing_hours: 0,
      balance_low_hours: 0,
    });
    expect(json.devices[1]?.delivery).toEqual({
      successful: null,
      pending: null,
      failed: null,
      remaining: null,
      stalled_hours: 0,
      failing_hours: 0,
      balance_low_hours: 0,
    });
    expect(json.devices[1]).toMatchObject({ stale: true, never_connected: true });
    expect(json.devices[1]?.action).toContain('whatsgate-monitor delete 200');
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('builds the message a notifier sends', () => {
    const m = buildAuditMessage(report, 'UTC');
    expect(m.subject).toBe(auditSubject(report));
    expect(m.subject).toMatch(
      /^\[whatsgate\] Audit: 4 devices, uptime \d+\.\d\d %, 1 stale, 1 unknown to the gateway, 1 deleted$/,
    );
    expect(m.text).toContain('Needs attention:');
    expect(m.html).toContain('<table');
    expect(m.json.devices).toHaveLength(4);
  });
});

describe('formatters', () => {
  it.each([
    [0, '0s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [H, '1h'],
    [H + 12 * 60_000, '1h 12m'],
    [D, '1d'],
    [2 * D + 4 * H + 59 * 60_000, '2d 4h'],
  ])('humanDuration(%i) = %s', (ms, text) => expect(humanDuration(ms)).toBe(text));

  it.each([
    [null, '–'],
    [1, '100 %'],
    [0.99999, '99.99 %'],
    [0.5, '50.00 %'],
    [0, '0.00 %'],
  ])('formatPercent(%s) = %s, rounded down', (f, text) => expect(formatPercent(f)).toBe(text));

  it('prints local times in the zone', () => {
    expect(localTime(NOW, 'Europe/Berlin')).toBe('2026-05-10 11:00');
  });
});

describe('buildAuditMessageInSlices', () => {
  it('is the message buildAuditMessage makes, the event loop let go between its parts', async () => {
    let turns = 0;
    const letGo = (): Promise<void> => {
      turns++;
      return Promise.resolve();
    };
    // Slices of 0 ms: the loop is let go at every step, after each device of each part at least.
    const message = await buildAuditMessageInSlices(report, 'Europe/Berlin', letGo, 0);
    expect(message).toEqual(buildAuditMessage(report, 'Europe/Berlin'));
    expect(turns).toBeGreaterThanOrEqual(3 * report.devices.length);
    expect(await buildAuditMessageInSlices(report, 'Europe/Berlin')).toEqual(
      buildAuditMessage(report, 'Europe/Berlin'),
    );
  });
});
