// The loader's text checks as JSON Schema `pattern`s (ECMA-262 regexes, as ajv and editors run
// them), for config/whatsgate-monitor.schema.json. Each states the same rule as its parser in
// duration.ts / fields.ts as far as a regex can; what one cannot (a duration's upper bound, an
// IANA time zone, a cron field's ranges, unique names) stays with check-config. The table test in
// test/config-json-schema.test.ts holds each pattern to the loader (parity both ways).

import { RESERVED_LABELS } from './fields.js';

const UNITS = '(?:ms|s|m|h|d|w)';
const PART = `\\d+(?:\\.\\d+)?${UNITS}`;

export const PATTERNS = {
  /** `30s`, `1h30m`, `1.5h`; at least one non-zero digit, as `0s` means "never" nowhere. */
  positiveDuration: `^\\s*(?=[^1-9]*[1-9])(?:${PART})+\\s*$`,
  /** The same, or `0` (off) written as `0`, `0s`, `0m`. */
  durationOrZero: `^\\s*(?:0|(?:${PART})+)\\s*$`,
  /** Prometheus label names, without `__…` and the labels the monitor sets itself. */
  labelName: `^(?!__)(?!(?:${RESERVED_LABELS.join('|')})$)[a-zA-Z_][a-zA-Z0-9_]*$`,
  /** A route may match any label, the monitor's own included. */
  matchLabelName: '^[a-zA-Z_][a-zA-Z0-9_]*$',
  /** Digits, a leading + and single spaces or dashes between groups; at most 15 digits. */
  deviceNumber: '^\\s*(?!(?:\\D*\\d){16})\\+?\\d(?:[ -]?\\d)*\\s*$',
  /** `htpasswd -nBC 10` output: `$2y$10$` + 53 characters; cost 04 to 31. */
  bcrypt: '^\\$2[aby]\\$(?:0[4-9]|[12]\\d|3[01])\\$[./A-Za-z0-9]{53}$',
  /** http(s) with a host, no query string or fragment. */
  httpUrl: '^https?://[^/?#\\s@]*@?[^/?#\\s@]+(?:/[^?#\\s]*)?$',
  smtpUrl: '^smtps?://[^/?#\\s]+',
  /** Five fields (minute first) or six (second first); each field's syntax is check-config's. */
  cron: '^\\s*\\S+(?:\\s+\\S+){4,5}\\s*$',
  /** `ops@example.com` or `Ops <ops@example.com>`. */
  mailbox: '^(?:[^<>]*<\\s*[^\\s@<>]+@[^\\s@<>]+\\s*>\\s*|\\s*[^\\s@<>]+@[^\\s@<>]+\\s*)$',
  /** One DNS label: `acme` of acme.whatsgate.net. */
  dnsLabel: '^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$',
  /** `30/min`, `1/s`, `120/h`. */
  rate: '^\\s*\\d+(?:\\.\\d+)?\\s*/\\s*(?:s|sec|second|m|min|minute|h|hr|hour)\\s*$',
  /** `host:port`, `[::1]:port` or `:port`. */
  listen: '^\\s*(?:\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]]*):\\d{1,5}\\s*$',
  channelName: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$',
} as const;
