// ISO 8601 with the numeric offset of a time zone, e.g. 2026-11-24T18:30:00+01:00 (SPEC §5).

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function pad(n: number, width = 2): string {
  return String(Math.trunc(Math.abs(n))).padStart(width, '0');
}

/** The zone's offset in minutes at a whole second, as Intl computes it: the slow, exact way. */
function offsetMinutesExact(wholeSecondMs: number, timeZone: string): number {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(wholeSecondMs))) parts[p.type] = p.value;
  const wall = Date.UTC(
    Number(parts['year']),
    Number(parts['month']) - 1,
    Number(parts['day']),
    Number(parts['hour']),
    Number(parts['minute']),
    Number(parts['second']),
  );
  return Math.round((wall - wholeSecondMs) / 60_000);
}

const HOUR_MS = 3_600_000;
/** Cached hours per zone before the cache starts afresh (a daemon runs for months). */
const MAX_CACHED_HOURS = 50_000;
/** Per zone: hour number → the offset that holds through that whole hour. */
const offsetsByHour = new Map<string, Map<number, number>>();

/**
 * The offset at `wholeSecondMs`. formatToParts costs microseconds, and a status page or an audit
 * formats tens of thousands of times: an hour whose first and last second have the same offset
 * has it throughout (zones change offset at most once within an hour), so it is asked once per
 * hour. An hour with a change in it is computed exactly at every call.
 */
function offsetMinutes(wholeSecondMs: number, timeZone: string): number {
  let hours = offsetsByHour.get(timeZone);
  if (hours === undefined) {
    hours = new Map();
    offsetsByHour.set(timeZone, hours);
  }
  const hour = Math.floor(wholeSecondMs / HOUR_MS);
  const cached = hours.get(hour);
  if (cached !== undefined) return cached;
  const first = offsetMinutesExact(hour * HOUR_MS, timeZone);
  const last = offsetMinutesExact(hour * HOUR_MS + HOUR_MS - 1000, timeZone);
  if (first !== last) return offsetMinutesExact(wholeSecondMs, timeZone);
  if (hours.size >= MAX_CACHED_HOURS) hours.clear();
  hours.set(hour, first);
  return first;
}

export function isoWithOffset(ms: number, timeZone = 'UTC'): string {
  const wholeSecondMs = Math.floor(ms / 1000) * 1000;
  return withOffset(wholeSecondMs, offsetMinutes(wholeSecondMs, timeZone));
}

/** isoWithOffset without the cache: what it must always agree with (tests). */
export function isoWithOffsetExact(ms: number, timeZone = 'UTC'): string {
  const wholeSecondMs = Math.floor(ms / 1000) * 1000;
  return withOffset(wholeSecondMs, offsetMinutesExact(wholeSecondMs, timeZone));
}

function withOffset(wholeSecondMs: number, offsetMin: number): string {
  const sign = offsetMin < 0 ? '-' : '+';
  const local = new Date(wholeSecondMs + offsetMin * 60_000);
  return (
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    `${sign}${pad(offsetMin / 60)}:${pad(offsetMin % 60)}`
  );
}

export function isoOrNull(ms: number | null, timeZone = 'UTC'): string | null {
  return ms === null ? null : isoWithOffset(ms, timeZone);
}
