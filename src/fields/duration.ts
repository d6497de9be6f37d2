// Durations (`500ms`, `30s`, `1h30m`, `14d`, `1w`) and rates (`30/min`) as written in the config.

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
type DurationUnit = keyof typeof UNIT_MS;

// `ms` must be tried before `m`, or `500ms` would read as 500 minutes followed by junk.
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

export const DURATION_HINT = 'a duration such as 500ms, 30s, 10m, 4h, 14d, 1w or 1h30m';

/**
 * The longest delay Node's timers can arm (2^31−1 ms, about 24.8 days). A longer one fires after
 * 1 ms with a TimeoutOverflowWarning: a `timeout: 30d` would make every call "time out" at once.
 */
export const MAX_TIMER_MS = 2_147_483_647;

const DAY_MS = UNIT_MS.d;

/**
 * The largest value each kind of duration key accepts. Past these a value is a typo or a trick,
 * never a policy, and the small ones keep every config-derived delay far below MAX_TIMER_MS.
 */
export const DURATION_MAX = {
  /** One gateway call or delivery attempt: an answer that took 10 minutes is no answer. */
  timeout: 10 * UNIT_MS.m,
  /** How often something is checked or looked for: less than daily is not monitoring. */
  interval: DAY_MS,
  /** Reminders, flap windows, maintenance windows: counted and waited for, at most a week. */
  window: 7 * DAY_MS,
  /** Any other wait a timer may be armed with (the default for keys without a kind of their own). */
  wait: 24 * DAY_MS,
  /** `audit.stale_after`: compared with timestamps, never slept on; a year. */
  age: 365 * DAY_MS,
  /** `retention`: history is pruned by age; ten years. */
  retention: 3650 * DAY_MS,
} as const;

export type DurationKind = keyof typeof DURATION_MAX;

/**
 * Milliseconds for a duration string, or `null` when it is not one. The number `0` and the
 * string `"0"` are accepted (they mean "off" where a key allows it); callers decide whether zero
 * is allowed. Fractions are allowed (`1.5h`); the result is rounded to whole milliseconds.
 */
export function parseDuration(input: string | number): number | null {
  if (typeof input === 'number') return input === 0 ? 0 : null;
  const text = input.trim();
  if (text === '0') return 0;
  if (text === '') return null;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const match = DURATION_PART.exec(text);
    if (match === null) return null;
    total += Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
  }
  const ms = Math.round(total);
  return Number.isSafeInteger(ms) ? ms : null;
}

const FORMAT_UNITS: readonly (readonly [string, number])[] = [
  ['d', UNIT_MS.d],
  ['h', UNIT_MS.h],
  ['m', UNIT_MS.m],
  ['s', UNIT_MS.s],
  ['ms', UNIT_MS.ms],
];

/** The shortest compound form that parses back to the same value: 5_400_000 → `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(Math.abs(ms));
  let out = ms < 0 ? '-' : '';
  for (const [unit, size] of FORMAT_UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}

const RATE = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(s|sec|second|m|min|minute|h|hr|hour)\s*$/;
const PER_MINUTE: Record<string, number> = {
  s: 60,
  sec: 60,
  second: 60,
  m: 1,
  min: 1,
  minute: 1,
  h: 1 / 60,
  hr: 1 / 60,
  hour: 1 / 60,
};

export const RATE_HINT = 'a rate such as 30/min, 1/s or 120/h';

/** Calls per minute for `30/min`, `1/s`, `120/h`; `null` unless it is a positive rate. */
export function parseRate(input: string): number | null {
  const match = RATE.exec(input);
  if (match === null) return null;
  const perMinute = Number(match[1]) * (PER_MINUTE[match[2] ?? ''] ?? Number.NaN);
  return Number.isFinite(perMinute) && perMinute > 0 ? perMinute : null;
}

/** `30` → `30/min`; rates below one a minute read better per hour. */
export function formatRate(perMinute: number): string {
  if (perMinute >= 1) return `${round(perMinute)}/min`;
  return `${round(perMinute * 60)}/h`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
