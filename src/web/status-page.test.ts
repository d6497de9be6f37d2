import { describe, expect, it } from 'vitest';
import { renderStatusPage, renderStatusPageBytes } from './status-page.js';
import { buildStatusView, type StatusDeviceFacts, type StatusPageData } from './status-view.js';

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.UTC(2026, 4, 10, 9, 0, 0);

function device(number: string, over: Partial<StatusDeviceFacts> = {}): StatusDeviceFacts {
  return {
    account: 'main',
    number,
    name: `Phone ${number}`,
    status: 'connected',
    statusRaw: 'connected',
    health: 'UP',
    statusSince: NOW - 10 * D,
    lastCheckAt: NOW - 5_000,
    probeError: null,
    silencedUntil: null,
    ...over,
  };
}

const data: StatusPageData = {
  now: NOW,
  timeZone: 'UTC',
  version: '0.1.0',
  accounts: [{ name: 'main', reachable: true, problem: null, problemSince: null }],
  // The uptimes and changes as views/pages.ts reads them from the store (its test checks them).
  devices: [
    { ...device('100', { name: 'Sales <b>phone</b>' }), uptime24h: 1, uptime7d: 1, recentChanges: [] },
    {
      ...device('200', { status: 'disconnected', health: 'DOWN', statusSince: NOW - 6 * H }),
      uptime24h: 0.75,
      uptime7d: (7 * D - 8 * H) / (7 * D),
      recentChanges: [
        { at: NOW - 6 * H, from: 'connected', to: 'disconnected' },
        { at: NOW - 3 * D + 2 * H, from: 'disconnected', to: 'connected' },
        { at: NOW - 3 * D, from: 'connected', to: 'disconnected' },
        { at: NOW - 4 * D, from: 'connected', to: 'connected' },
      ],
    },
    device('300', { status: null, statusRaw: null, statusSince: null, lastCheckAt: null }),
    {
      ...device('400', {
        status: 'unknown',
        statusRaw: 'qr pending',
        probeError: 'timeout: no answer in 10000 ms',
      }),
      uptime24h: 0,
      uptime7d: 0,
      recentChanges: [{ at: NOW - 12 * H, from: null, to: 'unknown' }],
    },
  ],
};

describe('buildStatusView', () => {
  const view = buildStatusView(data, { relinkAvailable: true });

  it('puts DOWN devices first, then unchecked, then the rest', () => {
    expect(view.devices.map((d) => d.number)).toEqual(['200', '300', '400', '100']);
    expect(view.counts).toEqual({ total: 4, down: 1, up: 2, unchecked: 1 });
  });

  it('shows the uptimes it is given; none known reads as null', () => {
    const byNumber = new Map(view.devices.map((d) => [d.number, d]));
    expect(byNumber.get('200')).toMatchObject({ uptime24h: 0.75, uptime7d: (7 * D - 8 * H) / (7 * D) });
    expect(byNumber.get('300')).toMatchObject({ uptime24h: null, uptime7d: null, recentChanges: [] });
  });

  it('lists at most three last changes, newest first, and offers re-linking for devices not connected', () => {
    const d200 = view.devices[0];
    expect(d200?.recentChanges.map((c) => c.to)).toEqual(['disconnected', 'connected', 'disconnected']);
    expect(view.devices.map((d) => [d.number, d.relink])).toEqual([
      ['200', true],
      ['300', false],
      ['400', true],
      ['100', false],
    ]);
    expect(buildStatusView(data, { relinkAvailable: false }).devices.some((d) => d.relink)).toBe(false);
  });
});

describe('renderStatusPage', () => {
  const html = renderStatusPage(buildStatusView(data, { relinkAvailable: true }), 'NONCE');

  it('is a self-contained, phone-ready page; it refreshes by script, with a pause control', () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<meta name="viewport" content="width=device-width,initial-scale=1">');
    // No meta refresh (axe: critical, WCAG 2.2.1): a script reloads, the reader can pause it.
    expect(html).not.toContain('http-equiv="refresh"');
    expect(html).toContain('<span id="refresh-note" data-seconds="30">');
    expect(html).toContain('<button type="button" id="refresh-pause" aria-pressed="false" hidden>');
    expect(html).toContain('<noscript><a href="./">refresh</a></noscript>');
    expect(html).toContain('<style nonce="NONCE">');
    expect(html).toContain('@media (max-width:880px)');
    // The one script is inline, with the nonce; nothing is loaded from elsewhere.
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script nonce="NONCE">']);
    expect(html).not.toMatch(/<link\b|src="http|url\(/);
  });

  it('shows each device, DOWN ones marked, with escaped names', () => {
    expect(html).toContain('Sales &lt;b&gt;phone&lt;/b&gt;');
    expect(html).not.toContain('<b>phone</b>');
    expect(html).toMatch(/<tr class="down" data-device="200" data-state="DOWN">/);
    expect(html).toContain('<span class="badge down">DOWN</span>');
    expect(html).toContain('<title>1 DOWN · WhatsGate devices</title>');
    expect(html).toContain('not checked yet');
    expect(html).toContain('(“qr pending”)');
    expect(html).toContain('last check failed: timeout: no answer in 10000 ms');
    expect(html).toContain('<a class="relink" href="reconnect/200">');
    expect(html).toContain('75.00 %');
  });

  it('puts account problems on top', () => {
    const bad = renderStatusPage(
      buildStatusView(
        {
          ...data,
          accounts: [
            {
              name: 'main',
              reachable: false,
              problem: 'unauthorized: HTTP 403: "invalid Access-Token"',
              problemSince: NOW - H,
            },
          ],
        },
        { relinkAvailable: false },
      ),
      'N',
    );
    const alert = bad.indexOf('Account main unreachable');
    expect(alert).toBeGreaterThan(0);
    expect(alert).toBeLessThan(bad.indexOf('<table'));
    expect(bad).toContain('&quot;invalid Access-Token&quot;');
  });

  it("writes each time in the zone with the header's offset, saying its own only across a DST change", () => {
    // 2026-03-29: Berlin went from +01:00 to +02:00 at 01:00 UTC.
    const now = Date.UTC(2026, 2, 30, 9, 0, 0);
    const page = renderStatusPage(
      buildStatusView(
        {
          ...data,
          now,
          timeZone: 'Europe/Berlin',
          devices: [
            {
              ...device('500', { statusSince: now - 2 * H }),
              recentChanges: [
                { at: now - 2 * H, from: 'disconnected', to: 'connected' },
                { at: Date.UTC(2026, 2, 28, 12, 0, 0), from: 'connected', to: 'disconnected' },
              ],
            },
          ],
        },
        { relinkAvailable: false },
      ),
      'N',
    );
    expect(page).toContain('as of 2026-03-30 11:00 (+02:00)');
    expect(page).toContain('since <time datetime="2026-03-30T07:00Z">2026-03-30 09:00</time></div>');
    expect(page).toContain('<time datetime="2026-03-30T07:00Z">03-30 09:00</time> disconnected');
    expect(page).toContain('<time datetime="2026-03-28T12:00Z">03-28 13:00</time> (+01:00) connected');
  });

  it("labels a phone card's lines from the style sheet, one rule per column rather than per cell", () => {
    expect(html).toContain('td:nth-child(2)::before{content:"Status"}');
    expect(html).toContain('td:nth-child(7)::before{content:"Last changes"}');
    expect(html).not.toContain('data-label');
  });

  it('says so when no device is configured', () => {
    const empty = renderStatusPage(
      buildStatusView({ ...data, devices: [] }, { relinkAvailable: false }),
      'N',
    );
    expect(empty).toContain('No devices configured.');
  });
});

describe('renderStatusPageBytes', () => {
  it('is the same page in UTF-8, the rows rendered in slices that let the event loop go', async () => {
    const many: StatusPageData = {
      ...data,
      devices: Array.from({ length: 300 }, (_, i) => ({
        ...device(String(100_000 + i), { name: `Téléphone ${i} → 📱` }),
        uptime24h: i / 300,
        recentChanges: [{ at: NOW - i * 1_000, from: 'connected', to: 'disconnected' }],
      })),
    };
    const view = buildStatusView(many, { relinkAvailable: true });
    let slices = 0;
    const letGo = (): Promise<void> => {
      slices++;
      return Promise.resolve();
    };
    // A slice of 0 ms: every batch of 50 rows is a slice of its own.
    const bytes = await renderStatusPageBytes(view, 'N', { letGo, sliceMs: 0 });
    expect(bytes.toString('utf8')).toBe(renderStatusPage(view, 'N'));
    expect(slices).toBe(6);
    for (const few of [data, { ...data, devices: [] }]) {
      const small = buildStatusView(few, { relinkAvailable: true });
      expect((await renderStatusPageBytes(small, 'N')).toString('utf8')).toBe(renderStatusPage(small, 'N'));
    }
  });
});
