// Small formatters shared by the audit report and the web pages: people read these, scripts
// read the JSON.

import { isoWithOffset } from './time.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** `45s`, `12m`, `3h 12m`, `2d 4h` — two units at most, rounded down. */
export function humanDuration(ms: number): string {
  const t = Math.max(0, Math.floor(ms));
  if (t < MINUTE) return `${Math.floor(t / 1000)}s`;
  if (t < HOUR) return `${Math.floor(t / MINUTE)}m`;
  if (t < DAY) {
    const m = Math.floor((t % HOUR) / MINUTE);
    return `${Math.floor(t / HOUR)}h${m > 0 ? ` ${m}m` : ''}`;
  }
  const h = Math.floor((t % DAY) / HOUR);
  return `${Math.floor(t / DAY)}d${h > 0 ? ` ${h}h` : ''}`;
}

/**
 * A fraction as a percentage, rounded DOWN to two decimals so that a device that was down for a
 * minute never reads 100 %: `99.99 %`, `100 %`, `–` for null.
 */
export function formatPercent(fraction: number | null): string {
  if (fraction === null) return '–';
  if (fraction >= 1) return '100 %';
  const hundredths = Math.floor(fraction * 10_000);
  return `${(hundredths / 100).toFixed(2)} %`;
}

/** `2026-05-10 09:00` in the given time zone (the zone is printed once, by the caller). */
export function localTime(ms: number, timeZone: string): string {
  const iso = isoWithOffset(ms, timeZone);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** `2026-05-10 09:00 (+02:00)` — for places where the zone is not printed nearby. */
export function localTimeWithOffset(ms: number, timeZone: string): string {
  const iso = isoWithOffset(ms, timeZone);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} (${iso.slice(19)})`;
}
