// The daemon logs JSON lines (for journald and log shippers); the demo shows them to a person.
// One line in, one short readable line out: time, level, component, message, then the rest as
// key=value. Lines that are not JSON objects pass through unchanged.

const HIDDEN = new Set(['level', 'time', 'service', 'component', 'msg', 'pid', 'hostname']);

export interface LogFormatOptions {
  /** IANA zone for the time column; default: the machine's. */
  readonly timeZone?: string;
}

export function formatLogLine(line: string, options: LogFormatOptions = {}): string {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return line;
  const fields = entry as Record<string, unknown>;

  const time = typeof fields['time'] === 'string' ? formatClock(fields['time'], options.timeZone) : '';
  const level = typeof fields['level'] === 'string' ? fields['level'].toUpperCase() : '';
  const component = typeof fields['component'] === 'string' ? fields['component'] : '';
  const msg = typeof fields['msg'] === 'string' ? fields['msg'] : '';
  const rest = Object.entries(fields)
    .filter(([key, value]) => !HIDDEN.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${valueText(value)}`)
    .join(' ');
  return [time, level.padEnd(5), component.padEnd(9), msg, rest]
    .filter((part, i) => i < 3 || part !== '')
    .join(' ')
    .trimEnd();
}

/** HH:MM:SS of an ISO time, in `timeZone` (default: the machine's). */
export function formatClock(iso: string, timeZone?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
    ...(timeZone === undefined ? {} : { timeZone }),
  }).format(date);
}

function valueText(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (typeof value === 'object' && value !== null && 'message' in value) {
    // pino serialises errors as {type, message, stack}: the message says enough here.
    return JSON.stringify(value.message);
  }
  return JSON.stringify(value);
}
