// Delivery health in the views (SPEC §10): the API/status --json shape, the words, the status
// page column, and reading it back from a stored row's state.

import { describe, expect, it } from 'vitest';
import { initialDeliveryState, type DeliveryState } from '../monitor/delivery.js';
import { renderStatusPage } from '../web/status-page.js';
import { buildStatusView } from '../web/status-view.js';
import { deliveryFromStoredState, deliveryReport, deliveryWords } from './delivery.js';
import { deviceReport } from './devices.js';

const AT = Date.UTC(2026, 4, 10, 9, 0, 0);

function state(problemSince: Partial<DeliveryState['problemSince']> = {}): DeliveryState {
  const init = initialDeliveryState();
  return {
    ...init,
    last: { at: AT, remaining: 80, successful: 500, pending: 50, failed: 10 },
    problemSince: { ...init.problemSince, ...problemSince },
  };
}

describe('deliveryReport', () => {
  it('is null until the balance was read', () => {
    expect(deliveryReport(initialDeliveryState(), 'UTC')).toBeNull();
  });

  it.each([
    [{}, null],
    [{ stalled: AT - 1 }, 'stalled'],
    [{ stalled: AT - 1, balance_low: AT }, ['stalled', 'balance_low']],
    [{ balance_low: AT, failing: AT }, ['failing', 'balance_low']],
  ] as const)('problems %j → problem %j', (since, problem) => {
    expect(deliveryReport(state(since), 'Europe/Berlin')).toEqual({
      pending: 50,
      successful: 500,
      failed: 10,
      remaining: 80,
      problem,
      checked_at: '2026-05-10T11:00:00+02:00',
    });
  });

  it('rides in every device report, null for a device never read', () => {
    const base = {
      account: 'main',
      device: '1',
      name: 'One',
      status: 'connected' as const,
      health: 'UP' as const,
      statusSince: null,
      lastCheckAt: null,
      probeError: null,
      silencedUntil: null,
      statusRaw: 'connected',
      deletedAt: null,
    };
    expect(deviceReport(base, 'UTC').delivery).toBeNull();
    expect(deviceReport({ ...base, delivery: state({ failing: AT }) }, 'UTC').delivery).toMatchObject({
      problem: 'failing',
    });
  });
});

describe('deliveryFromStoredState', () => {
  it('reads the delivery part of a stored row state back, and starts afresh on anything else', () => {
    const s = state({ stalled: AT });
    expect(deliveryFromStoredState(JSON.parse(JSON.stringify({ health: 'UP', delivery: s })))).toEqual(s);
    for (const bad of [null, 'x', { health: 'UP' }, { delivery: { last: null } }, { delivery: 3 }]) {
      expect(deliveryFromStoredState(bad)).toEqual(initialDeliveryState());
    }
  });
});

describe('the status page delivery column', () => {
  it("shows today's sent / pending / failed and the problem in words; – before the first reading", () => {
    expect(deliveryWords(state({ stalled: AT }))).toEqual({
      counts: '500 sent · 50 pending · 10 failed',
      problem: 'messages stuck pending',
    });
    const device = {
      account: 'main',
      name: 'Phone',
      status: 'connected' as const,
      statusRaw: 'connected',
      health: 'UP' as const,
      statusSince: AT - 60_000,
      lastCheckAt: AT,
      probeError: null,
      silencedUntil: null,
    };
    const view = buildStatusView(
      {
        now: AT,
        timeZone: 'UTC',
        version: '0.1.0',
        accounts: [{ name: 'main', reachable: true, problem: null, problemSince: null, warning: null }],
        devices: [
          { ...device, number: '1', delivery: state({ stalled: AT, balance_low: AT }) },
          { ...device, number: '2' },
        ],
      },
      { relinkAvailable: false },
    );
    const html = renderStatusPage(view, 'nonce');
    expect(html).toContain('<th>Delivery today</th>');
    expect(html).toContain('500 sent · 50 pending · 10 failed');
    expect(html).toContain('messages stuck pending, balance low');
    // The fourth cell of device 2's row, under "Delivery today".
    const row2 = html.slice(html.indexOf('data-device="2"'));
    const cells = row2.slice(0, row2.indexOf('</tr>')).split('\n').slice(1, -1);
    expect(cells[3]).toBe('<td class="muted">–</td>');
  });
});
