import { afterEach, describe, expect, it } from 'vitest';
import { windowEndFor } from '../monitor/mutes.js';
import { MaintenanceCalendar } from './maintenance.js';

const openUntil = (cal: MaintenanceCalendar, device: string, now: number): number | null =>
  windowEndFor(cal.openWindows(now), device, now);

const MIN = 60_000;
const at = (h: number, m: number, s = 0): number => Date.UTC(2026, 10, 24, h, m, s);

describe('MaintenanceCalendar', () => {
  let cal: MaintenanceCalendar | undefined;
  afterEach(() => cal?.close());

  it('opens at each cron match for its duration, only for the listed devices', () => {
    cal = new MaintenanceCalendar([{ devices: ['111'], schedule: '0 2 * * *', durationMs: 30 * MIN }], 'UTC');
    const cases: [number, string, number | null][] = [
      [at(1, 59), '111', null],
      [at(2, 0), '111', at(2, 30)],
      [at(2, 29, 59), '111', at(2, 30)],
      [at(2, 15), '222', null],
      [at(2, 30), '111', null],
    ];
    for (const [now, device, expected] of cases) {
      cal.advance(now);
      expect(openUntil(cal, device, now), `${new Date(now).toISOString()} ${device}`).toBe(expected);
    }
  });

  it('finds a window already open at start-up', () => {
    cal = new MaintenanceCalendar([{ devices: 'all', schedule: '0 2 * * *', durationMs: 30 * MIN }], 'UTC');
    cal.advance(at(2, 20));
    expect(openUntil(cal, '999', at(2, 20))).toBe(at(2, 30));
  });

  it('reads the schedule in the configured time zone', () => {
    cal = new MaintenanceCalendar(
      [{ devices: 'all', schedule: '0 3 * * *', durationMs: 10 * MIN }],
      'Europe/Berlin',
    );
    cal.advance(at(2, 5)); // 03:05 in Berlin (UTC+1 in November)
    expect(openUntil(cal, '1', at(2, 5))).toBe(at(2, 10));
  });

  it('supports 6-field (seconds) schedules', () => {
    cal = new MaintenanceCalendar([{ devices: 'all', schedule: '30 * * * * *', durationMs: 10_000 }], 'UTC');
    cal.advance(at(5, 0, 35));
    expect(openUntil(cal, '1', at(5, 0, 35))).toBe(at(5, 0, 40));
    cal.advance(at(5, 0, 45));
    expect(openUntil(cal, '1', at(5, 0, 45))).toBeNull();
  });
});
