import { describe, expect, it } from 'vitest';
import { deviceReport, historyReport, stateText, statusText, type DeviceFacts } from './devices.js';

const base: DeviceFacts = {
  account: 'main',
  device: '100',
  name: 'Sales',
  status: 'connected',
  statusRaw: 'connected',
  health: 'UP',
  statusSince: 1_000,
  lastCheckAt: 2_000,
  probeError: null,
  silencedUntil: null,
  deletedAt: null,
};

describe('deviceReport (status --json, /api/v1/devices)', () => {
  it('a device never answered (bad token) is not checked yet: no state, not UP', () => {
    const r = deviceReport(
      {
        ...base,
        status: null,
        statusRaw: null,
        statusSince: null,
        probeError: 'unauthorized: invalid Access-Token',
      },
      'UTC',
    );
    expect(r).toMatchObject({ status: null, state: null, probe_error: 'unauthorized: invalid Access-Token' });
    expect(stateText(r)).toBe('not checked yet');
  });

  it('an unknown status shows the gateway’s text', () => {
    const r = deviceReport({ ...base, status: 'unknown', statusRaw: 'Banana Mode', health: 'DOWN' }, 'UTC');
    expect(r).toMatchObject({ status: 'unknown', status_raw: 'Banana Mode', state: 'DOWN' });
    expect(statusText(r)).toBe('unknown ("Banana Mode")');
  });

  it('a deleted device reads deleted and DOWN since the deletion, whatever its last check said', () => {
    const r = deviceReport({ ...base, deletedAt: 5_000 }, 'UTC');
    expect(r).toMatchObject({
      status: 'deleted',
      status_raw: null,
      state: 'DOWN',
      since: '1970-01-01T00:00:05+00:00',
    });
    expect(statusText(r)).toBe('deleted');
  });

  it('not_found is a status like the others', () => {
    const r = deviceReport(
      { ...base, status: 'not_found', statusRaw: 'device not found!', health: 'DOWN' },
      'UTC',
    );
    expect(statusText(r)).toBe('not_found');
    expect(r.state).toBe('DOWN');
  });
});

describe('historyReport', () => {
  it('keeps the raw text, so an unknown status says what it was', () => {
    const rows = historyReport(
      [{ account: 'main', device: '100', at: 0, from: 'connected', to: 'unknown', raw: 'Banana Mode' }],
      'UTC',
    );
    expect(rows).toEqual([
      { at: '1970-01-01T00:00:00+00:00', from: 'connected', to: 'unknown', raw: 'Banana Mode' },
    ]);
    expect(statusText({ status: rows[0]!.to, status_raw: rows[0]!.raw })).toBe('unknown ("Banana Mode")');
  });
});
