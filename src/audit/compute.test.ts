import { describe, expect, it } from 'vitest';
import type { HistoryRow } from '../store/store.js';
import { computeAudit, deviceKey, normalisePeriods, type AuditInput, type DeviceAudit } from './compute.js';

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.UTC(2026, 4, 10, 9, 0, 0);
const SINCE = NOW - 7 * D;

function row(at: number, from: HistoryRow['from'], to: HistoryRow['to'], device = '100'): HistoryRow {
  return { account: 'main', device, at, from, to, raw: null };
}

function audit(history: HistoryRow[], over: Partial<AuditInput> = {}): DeviceAudit {
  const report = computeAudit({
    devices: [{ account: 'main', number: '100', name: 'Sales phone' }],
    history,
    now: NOW,
    since: SINCE,
    staleAfterMs: 14 * D,
    ...over,
  });
  const d = report.devices[0];
  if (d === undefined) throw new Error('no device in the report');
  return d;
}

describe('computeAudit: uptime and outages', () => {
  it.each<{
    name: string;
    history: HistoryRow[];
    over?: Partial<AuditInput>;
    uptime: number | null;
    coverage: number;
    outages: { start: number; end: number | null; durationMs: number; startedBefore: boolean }[];
  }>([
    {
      name: 'connected all along (status known from before the period)',
      history: [row(SINCE - 30 * D, null, 'connected')],
      uptime: 1,
      coverage: 1,
      outages: [],
    },
    {
      name: 'an outage spanning the start of the period',
      history: [
        row(SINCE - 30 * D, null, 'connected'),
        row(SINCE - H, 'connected', 'disconnected'),
        row(SINCE + 2 * H, 'disconnected', 'connected'),
      ],
      uptime: (7 * D - 2 * H) / (7 * D),
      coverage: 1,
      outages: [{ start: SINCE, end: SINCE + 2 * H, durationMs: 2 * H, startedBefore: true }],
    },
    {
      name: 'an outage spanning the end of the period (ongoing)',
      history: [row(SINCE - D, null, 'connected'), row(NOW - 3 * H, 'connected', 'not_connected')],
      uptime: (7 * D - 3 * H) / (7 * D),
      coverage: 1,
      outages: [{ start: NOW - 3 * H, end: null, durationMs: 3 * H, startedBefore: false }],
    },
    {
      name: 'changing reasons within one outage make one outage; `unknown` counts as down',
      history: [
        row(SINCE - D, null, 'connected'),
        row(SINCE + D, 'connected', 'disconnected'),
        row(SINCE + D + H, 'disconnected', 'unknown'),
        row(SINCE + D + 2 * H, 'unknown', 'not_initialized'),
        row(SINCE + D + 3 * H, 'not_initialized', 'connected'),
        row(SINCE + 2 * D, 'connected', 'disconnected'),
        row(SINCE + 2 * D + H, 'disconnected', 'connected'),
      ],
      uptime: (7 * D - 4 * H) / (7 * D),
      coverage: 1,
      outages: [
        { start: SINCE + D, end: SINCE + D + 3 * H, durationMs: 3 * H, startedBefore: false },
        { start: SINCE + 2 * D, end: SINCE + 2 * D + H, durationMs: H, startedBefore: false },
      ],
    },
    {
      name: 'first seen in the middle of the period: the time before is unknown, not up',
      history: [row(SINCE + 3 * D, null, 'connected'), row(SINCE + 5 * D, 'connected', 'disconnected')],
      uptime: 2 / 4,
      coverage: 4 / 7,
      outages: [{ start: SINCE + 5 * D, end: null, durationMs: 2 * D, startedBefore: false }],
    },
    {
      name: 'daemon down-time is unknown, not up',
      history: [row(SINCE - 30 * D, null, 'connected')],
      over: {
        runningPeriods: [
          { start: SINCE - 30 * D, end: SINCE + 2 * D },
          { start: SINCE + 3 * D, end: NOW },
        ],
      },
      uptime: 1,
      coverage: 6 / 7,
      outages: [],
    },
    {
      name: 'an outage across a daemon stop stays one outage; the stop does not count as down',
      history: [
        row(SINCE - 30 * D, null, 'connected'),
        row(SINCE + D, 'connected', 'disconnected'),
        row(SINCE + 4 * D, 'disconnected', 'connected'),
      ],
      over: {
        runningPeriods: [
          { start: SINCE - 30 * D, end: SINCE + 2 * D },
          { start: SINCE + 3 * D, end: NOW },
        ],
      },
      uptime: 4 / 6,
      coverage: 6 / 7,
      outages: [{ start: SINCE + D, end: SINCE + 4 * D, durationMs: 2 * D, startedBefore: false }],
    },
    {
      name: 'before the first recorded run, history alone decides (runs were not recorded then)',
      history: [row(SINCE - 30 * D, null, 'connected')],
      over: { runningPeriods: [{ start: SINCE + 6 * D, end: NOW }] },
      uptime: 1,
      coverage: 1,
      outages: [],
    },
    {
      name: 'the daemon stopped checking the device: the tail is unknown',
      history: [row(SINCE - D, null, 'connected')],
      over: { devices: [{ account: 'main', number: '100', name: 'x', observedUntil: NOW - D }] },
      uptime: 1,
      coverage: 6 / 7,
      outages: [],
    },
    {
      name: 'a deletion ends the outage; the time after it is unknown',
      history: [
        row(SINCE - D, null, 'connected'),
        row(SINCE + D, 'connected', 'disconnected'),
        row(SINCE + 2 * D, 'disconnected', 'deleted'),
      ],
      uptime: 1 / 2,
      coverage: 2 / 7,
      outages: [{ start: SINCE + D, end: SINCE + 2 * D, durationMs: D, startedBefore: false }],
    },
    {
      name: 'records that begin mid-life (first row has a `from`): the time before them is unknown',
      history: [row(SINCE + D, 'disconnected', 'connected')],
      uptime: 1,
      coverage: 6 / 7,
      outages: [],
    },
    {
      name: 'no history at all',
      history: [],
      uptime: null,
      coverage: 0,
      outages: [],
    },
  ])('$name', ({ history, over, uptime, coverage, outages }) => {
    const d = audit(history, over);
    if (uptime === null) expect(d.uptime).toBeNull();
    else expect(d.uptime).toBeCloseTo(uptime, 12);
    expect(d.coverage).toBeCloseTo(coverage, 12);
    expect(d.outages).toEqual(outages);
    expect(d.observedMs + d.unknownMs).toBe(d.periodMs);
    expect(d.outageMs).toBe(outages.reduce((n, o) => n + o.durationMs, 0));
  });

  it('picks the longest outage by observed length', () => {
    const d = audit([
      row(SINCE - D, null, 'connected'),
      row(SINCE + H, 'connected', 'disconnected'),
      row(SINCE + 2 * H, 'disconnected', 'connected'),
      row(SINCE + D, 'connected', 'disconnected'),
      row(SINCE + D + 5 * H, 'disconnected', 'connected'),
    ]);
    expect(d.longestOutage).toMatchObject({ start: SINCE + D, durationMs: 5 * H });
  });

  it('accepts history in any order and mixed devices', () => {
    const rows = [
      row(SINCE + 2 * H, 'disconnected', 'connected'),
      row(SINCE - D, null, 'connected', '200'),
      row(SINCE + H, 'connected', 'disconnected'),
      row(SINCE - D, null, 'connected'),
    ];
    expect(audit(rows).outages).toHaveLength(1);
  });

  it('an empty period yields no pieces and no division by zero', () => {
    const d = audit([row(SINCE - D, null, 'connected')], { since: NOW });
    expect(d).toMatchObject({ periodMs: 0, coverage: 0, uptime: null, outages: [] });
  });
});

describe('computeAudit: flags', () => {
  it('flags a device never seen connected, with the exact delete command', () => {
    const d = audit([row(NOW - 20 * D, null, 'not_connected')]);
    expect(d).toMatchObject({
      status: 'not_connected',
      neverConnected: true,
      lastConnectedAt: null,
      notConnectedSince: NOW - 20 * D,
      stale: true,
      deleteCommand: 'whatsgate-monitor delete 100',
    });
    expect(d.uptime).toBe(0);
  });

  it('measures a stale run through several not-connected statuses', () => {
    const d = audit([
      row(NOW - 40 * D, null, 'connected'),
      row(NOW - 16 * D, 'connected', 'disconnected'),
      row(NOW - 10 * D, 'disconnected', 'not_connected'),
    ]);
    expect(d).toMatchObject({ notConnectedSince: NOW - 16 * D, lastConnectedAt: NOW - 16 * D, stale: true });
    expect(d.neverConnected).toBe(false);
  });

  it('when the records reach back only partly, the known part is a lower bound', () => {
    // historyAll keeps the last change before the query start: disconnected → not_connected.
    const d = audit([row(NOW - 15 * D, 'disconnected', 'not_connected')]);
    expect(d).toMatchObject({
      notConnectedSince: NOW - 15 * D,
      lastConnectedAt: null,
      neverConnected: false,
    });
    expect(d.stale).toBe(true);
  });

  it.each([
    [
      'not connected for less than stale_after',
      [row(NOW - 30 * D, null, 'connected'), row(NOW - 13 * D, 'connected', 'disconnected')],
      14 * D,
      false,
    ],
    [
      'exactly stale_after',
      [row(NOW - 30 * D, null, 'connected'), row(NOW - 14 * D, 'connected', 'disconnected')],
      14 * D,
      true,
    ],
    ['connected now', [row(NOW - 30 * D, null, 'connected')], 14 * D, false],
    ['stale_after 0 turns the flag off', [row(NOW - 30 * D, null, 'disconnected')], 0, false],
    ['no data', [], 14 * D, false],
  ])('stale: %s', (_name, history, staleAfterMs, stale) => {
    expect(audit(history, { staleAfterMs }).stale).toBe(stale);
  });

  it('flags devices the gateway does not know, without a delete command', () => {
    const d = audit([row(NOW - 30 * D, null, 'not_initialized')], {
      notFound: new Set([deviceKey('main', '100')]),
    });
    expect(d).toMatchObject({ notFound: true, stale: true, deleteCommand: null });
  });

  it('marks a deleted device with the deletion time, not as stale', () => {
    const d = audit([row(NOW - 30 * D, null, 'disconnected'), row(NOW - D, 'disconnected', 'deleted')]);
    expect(d).toMatchObject({ status: 'deleted', deletedAt: NOW - D, stale: false, deleteCommand: null });
  });

  it('adds --account when the number is configured in two accounts', () => {
    const report = computeAudit({
      devices: [
        { account: 'main', number: '100', name: 'a' },
        { account: 'eu west', number: '100', name: 'b' },
      ],
      history: [
        row(NOW - 30 * D, null, 'disconnected'),
        { account: 'eu west', device: '100', at: NOW - 30 * D, from: null, to: 'disconnected', raw: null },
      ],
      now: NOW,
      since: SINCE,
      staleAfterMs: 14 * D,
    });
    expect(report.devices.map((d) => d.deleteCommand)).toEqual([
      'whatsgate-monitor delete 100 --account main',
      "whatsgate-monitor delete 100 --account 'eu west'",
    ]);
  });

  it('summarises the fleet', () => {
    const report = computeAudit({
      devices: [
        { account: 'main', number: '100', name: 'a' },
        { account: 'main', number: '200', name: 'b' },
        { account: 'main', number: '300', name: 'c' },
      ],
      history: [
        row(SINCE - D, null, 'connected'),
        row(SINCE - D, null, 'connected', '200'),
        row(NOW - D, 'connected', 'disconnected', '200'),
      ],
      now: NOW,
      since: SINCE,
      staleAfterMs: 14 * D,
      runningPeriods: [{ start: SINCE - 2 * D, end: NOW }],
    });
    expect(report.summary).toEqual({
      devices: 3,
      connected: 1,
      notConnected: 1,
      noData: 1,
      stale: 0,
      notFound: 0,
      deleted: 0,
      outages: 1,
      uptime: (14 * D - D) / (14 * D),
    });
    expect(report.runsKnown).toBe(true);
  });
});

describe('normalisePeriods', () => {
  it('sorts, merges overlapping and touching periods, drops empty ones', () => {
    expect(
      normalisePeriods([
        { start: 50, end: 60 },
        { start: 0, end: 10 },
        { start: 10, end: 20 },
        { start: 30, end: 30 },
        { start: 15, end: 25 },
      ]),
    ).toEqual([
      { start: 0, end: 25 },
      { start: 50, end: 60 },
    ]);
  });
});

describe('computeAudit: delivery health (SPEC §10)', () => {
  const period = (
    problem: 'stalled' | 'failing' | 'balance_low',
    startedAt: number,
    endedAt: number | null,
    device = '100',
  ) => ({ account: 'main', device, problem, startedAt, endedAt });
  const history = [row(SINCE - D, null, 'connected')];

  it('sums the overlap of each problem period with the period; an open one counts up to now', () => {
    const d = audit(history, {
      problemPeriods: [
        period('stalled', SINCE - 2 * H, SINCE + H), // began before the period: 1 h inside
        period('stalled', SINCE + D, SINCE + D + 30 * 60_000), // inside: 30 min
        period('stalled', NOW - 2 * H, null), // still stalled: 2 h up to now
        period('failing', SINCE + 2 * D, SINCE + 2 * D + 3 * H),
        period('balance_low', SINCE - 3 * D, null), // the whole period
        period('stalled', SINCE + H, SINCE + 5 * H, '200'), // another device
        period('stalled', SINCE - 5 * H, SINCE - 4 * H), // ended before the period
      ],
    });
    expect(d.delivery.problemMs).toEqual({ stalled: 3.5 * H, failing: 3 * H, balance_low: 7 * D });
  });

  it('without periods or a reading: zero hours and no counts', () => {
    const d = audit(history);
    expect(d.delivery).toEqual({ today: null, problemMs: { stalled: 0, failing: 0, balance_low: 0 } });
  });

  it("carries the device's last reading as today's counts", () => {
    const reading = { at: NOW - 60_000, remaining: 900, successful: 500, pending: 50, failed: 10 };
    const d = audit(history, {
      devices: [{ account: 'main', number: '100', name: 'Sales phone', delivery: reading }],
    });
    expect(d.delivery.today).toEqual(reading);
  });
});
