import { pino, type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino';
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

const BASE: Bindings = { service: 'whatsgate-monitor' };

/**
 * JSON lines on stdout (journald collects them); children add `component` and `device`.
 *
 * Every key appears once per line. pino writes a child's bindings by appending JSON text to its
 * parent's, and a logged object's keys after both, so `log.child({ component: 'notify' })` on a
 * logger that already has a `component` — or `log.info({ component: 'store' }, …)` on one — would
 * write the key twice. JSON.parse keeps the last, but Elasticsearch/OpenSearch refuse the line.
 * So a child that binds a key again is built afresh from an unbound logger with the merged
 * bindings, and a logged object that repeats a bound key logs through such a child; the newer
 * value wins, as it would have for a reader keeping the last key.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const bare = pino(
    {
      level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method, levelValue) {
          const [first, ...rest] = args as unknown[];
          const again = isPlainObject(first) ? Object.keys(first).filter((k) => isBound(this, k)) : [];
          if (again.length === 0 || !isPlainObject(first)) {
            method.apply(this, args);
            return;
          }
          const rebound = this.child(pick(first, again, true));
          const label = this.levels.labels[levelValue] as pino.Level;
          Reflect.apply(rebound[label], rebound, [pick(first, again, false), ...rest]);
        },
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
  const pinoChild = (Object.getPrototypeOf(bare) as { child: ChildFn }).child;
  // Own property on the unbound logger; pino makes children with Object.create(parent), so every
  // descendant inherits this `child`.
  (bare as unknown as { child: ChildFn }).child = function child(
    this: Logger,
    bindings: Bindings,
    options?: ChildLoggerOptions,
  ): Logger {
    const again = Object.keys(bindings).some((k) => isBound(this, k));
    if (!again) return pinoChild.call(this, bindings, options);
    return pinoChild.call(bare, { ...this.bindings(), ...bindings }, { level: this.level, ...options });
  };
  return bare.child(BASE);
}

type ChildFn = (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;

/**
 * Whether `key` is among the logger's bindings. pino keeps them as the JSON text
 * `,"service":"…","component":"…"`; keys are written unescaped and string values escape their
 * quotes, so `,"key":` matches a key and never a value.
 */
function isBound(logger: Logger, key: string): boolean {
  const text = (logger as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym];
  return typeof text === 'string' && text.includes(`,"${key}":`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The entries of `obj` whose key is (`keep`) or is not (`!keep`) in `keys`. */
function pick(obj: Record<string, unknown>, keys: readonly string[], keep: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (keys.includes(k) === keep) out[k] = v;
  return out;
}
