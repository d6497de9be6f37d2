import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from './config/types.js';

export type { Logger } from 'pino';

// Keys that may carry secrets anywhere in a logged object. The gateway client and config loader
// never put secrets in messages; this is the second fence.
const REDACT_PATHS = [
  'token',
  'password',
  'secret',
  'accessToken',
  '*.token',
  '*.password',
  '*.secret',
  'headers["access-token"]',
  'headers.authorization',
];

/** JSON lines on stdout (journald collects them); children add `component` and `device`. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'whatsgate-monitor' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
