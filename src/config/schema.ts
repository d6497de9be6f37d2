// The raw config file as written (SPEC §4), in zod 4: strict objects, every default left to
// convert.ts (the values themselves are in defaults.ts). Kept free of transforms so
// `z.toJSONSchema(rawConfigSchema)` can document the file format for editors; refinements (which
// JSON Schema drops) only add checks. Each channel type brings its own fragment
// (src/notify/channels).
//
// Over 350 lines: one declaration per section of the file, in the file's order.

import { z } from 'zod';
import { channelSchemas } from '../notify/channels/index.js';
import { DEFAULTS, POLICY_DEFAULTS as D } from './defaults.js';
import { RATE_HINT, parseRate } from '../fields/duration.js';
import {
  DEVICE_NUMBER_HINT,
  bcryptProblem,
  channelNameProblem,
  isDnsLabel,
  labelNameProblem,
  normalizeDeviceNumber,
  parseListen,
  timezoneProblem,
} from '../fields/fields.js';
import {
  checked,
  cron,
  duration,
  expecting,
  filePath,
  httpUrl,
  positiveDuration,
  secret,
  secretFile,
  pattern,
  text,
} from '../fields/schema-kit.js';
import { PATTERNS } from '../fields/json-patterns.js';
import { MAX_LEASE_MS, MIN_LEASE_MS, leaseProblem, storeProblem } from './store.js';
import { formatDuration } from '../fields/duration.js';

/**
 * `store` for editors: `sqlite`, a postgres URL, or one `${VAR}` (a DATABASE_URL-style variable,
 * which the loader expands and then checks like the rest).
 */
const STORE_PATTERN = '^\\s*(?:sqlite|postgres(?:ql)?://.+|\\$\\{[A-Za-z_][A-Za-z0-9_]*\\})\\s*$';

const deviceNumber = () =>
  checked(
    // The number's JSON Schema says "a whole number ≥ 0"; zod's check is normalizeDeviceNumber's.
    z.union([pattern(z.string(), PATTERNS.deviceNumber), z.number().meta({ type: 'integer', minimum: 0 })], {
      error: expecting(`a phone number: ${DEVICE_NUMBER_HINT}`),
    }),
    (v) => (normalizeDeviceNumber(v) === null ? `not a device number: ${DEVICE_NUMBER_HINT}` : null),
  );

const channelRefs = () => z.array(z.string({ error: expecting('a channel name') }));

// YAML readers write `floor: 3` or `vip: true`; a label value is text either way.
const labelValue = z.union([z.string(), z.number(), z.boolean()], {
  error: expecting('a string, number or boolean'),
});

const DD = D.delivery;

/** `delivery:` (SPEC §10): every key optional, each cascading on its own. */
const deliverySchema = z
  .strictObject({
    check: z
      .union([z.literal('off'), positiveDuration()], { error: expecting(`a duration such as 5m, or off`) })
      .optional()
      .describe(`how often each UP device's message counts are read; off disables (default ${DD.check})`),
    stall_after: positiveDuration()
      .optional()
      .describe(`pending messages without one sent for this long: stalled (default ${DD.stall_after})`),
    failed_ratio: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe(
        `share of finished messages that failed to call it failing, 0 < r ≤ 1 (default ${DD.failed_ratio})`,
      ),
    min_failed: z
      .int()
      .min(1)
      .optional()
      .describe(`failures between two readings needed to call it failing (default ${DD.min_failed})`),
    low_balance: z
      .int()
      .min(0)
      .optional()
      .describe(`balance_low below this many messages left; 0 disables (default ${DD.low_balance})`),
  })
  .describe('delivery health: connected but not sending');

/** The keys of SPEC §4 `defaults`, which accounts and devices may set again. */
export const policyShape = {
  interval: positiveDuration(undefined, 'interval').describe(
    `how often each device should be checked (default ${D.interval})`,
  ),
  timeout: positiveDuration(undefined, 'timeout').describe(`one API call (default ${D.timeout})`),
  failure_threshold: z
    .int()
    .min(1)
    .describe(`consecutive unhealthy checks before DOWN (default ${D.failure_threshold})`),
  success_threshold: z
    .int()
    .min(1)
    .describe(`consecutive connected checks before UP (default ${D.success_threshold})`),
  repeat_interval: duration({ allowZero: true, max: 'window' }).describe(
    `reminder while DOWN; 0 turns it off (default ${D.repeat_interval})`,
  ),
  send_resolved: z.boolean().describe(`send device.up after DOWN (default ${String(D.send_resolved)})`),
  flap_threshold: z
    .int()
    .min(2)
    .describe(`DOWN/UP alerts within flap_window that mean flapping (default ${D.flap_threshold})`),
  flap_window: positiveDuration(undefined, 'window').describe(`default ${D.flap_window}`),
  reconnect: z.enum(['link', 'qr', 'off']).describe(`link | qr | off (default ${D.reconnect})`),
  delivery: deliverySchema,
} as const;

type PolicyShape = { [K in keyof typeof policyShape]: z.ZodOptional<(typeof policyShape)[K]> };

const optionalPolicy: PolicyShape = {
  interval: policyShape.interval.optional(),
  timeout: policyShape.timeout.optional(),
  failure_threshold: policyShape.failure_threshold.optional(),
  success_threshold: policyShape.success_threshold.optional(),
  repeat_interval: policyShape.repeat_interval.optional(),
  send_resolved: policyShape.send_resolved.optional(),
  flap_threshold: policyShape.flap_threshold.optional(),
  flap_window: policyShape.flap_window.optional(),
  reconnect: policyShape.reconnect.optional(),
  delivery: policyShape.delivery.optional(),
};

export const POLICY_KEYS = Object.keys(policyShape) as (keyof typeof policyShape)[];

/** JSON Schema for "exactly one of the two keys" (ajv's strict mode wants each key declared). */
function exactlyOne(a: string, b: string) {
  const has = (key: string) => ({ properties: { [key]: true }, required: [key] });
  return { oneOf: [has(a), has(b)] };
}

const deviceSchema = z.strictObject({
  number: deviceNumber().describe('the phone number; digits, +, spaces and dashes (normalised to digits)'),
  name: text().optional().describe('defaults to the number'),
  labels: z
    .record(pattern(checked(z.string(), labelNameProblem), PATTERNS.labelName), labelValue)
    .optional()
    .describe('your labels: on whatsgate_device_info, matched by notify.routes'),
  channels: channelRefs().optional().describe('overrides routing for this device'),
  ...optionalPolicy,
});

const accountSchema = z
  .strictObject({
    name: text().describe('names the account in alerts, metrics (account label) and commands'),
    subdomain: checked(pattern(z.string(), PATTERNS.dnsLabel), (v) =>
      isDnsLabel(v)
        ? null
        : 'expected the subdomain only (letters, digits and -), e.g. acme for acme.whatsgate.net',
    )
      .optional()
      .describe('https://{subdomain}.whatsgate.net/api; or set base_url'),
    base_url: httpUrl()
      .optional()
      .describe('the API base URL instead of subdomain, e.g. http://127.0.0.1:8748/api'),
    token: secret().optional().describe('the Access-Token; or token_file'),
    token_file: secretFile().optional().describe('a file whose first line is the Access-Token'),
    concurrency: z
      .int()
      .min(1)
      .optional()
      .meta({ default: DEFAULTS.concurrency })
      .describe('checks (status and balance reads) of this account in flight at once'),
    rate_limit: checked(pattern(z.string({ error: expecting(RATE_HINT) }), PATTERNS.rate), (v) => {
      const perMinute = parseRate(v);
      if (perMinute === null) return `expected ${RATE_HINT}`;
      // The budget is counted in whole calls per 60 s window (SPEC §3).
      return Number.isInteger(perMinute)
        ? null
        : `must come to a whole number of calls per minute (at least 1/min), got ${v}`;
    })
      .optional()
      .meta({ default: DEFAULTS.rateLimit })
      .describe(
        "the most API calls the monitor spends per minute, of the gateway's 60 shared with your sending",
      ),
    devices: z.array(deviceSchema).describe('the devices to watch'),
    ...optionalPolicy,
  })
  .meta({
    // For editors: what checks.ts says about these pairs (exactly one of each).
    allOf: [exactlyOne('subdomain', 'base_url'), exactlyOne('token', 'token_file')],
  });

export const channelSchema = z.discriminatedUnion('type', channelSchemas());

const routeSchema = z.strictObject({
  match: z
    .record(
      pattern(
        checked(z.string(), (name) =>
          /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) ? null : 'not a valid label name',
        ),
        PATTERNS.matchLabelName,
      ),
      labelValue,
    )
    .describe('labels (or account, device) a device must have, all of them'),
  channels: channelRefs().min(1).describe('where its events go'),
});

const maintenanceSchema = z.strictObject({
  devices: z
    .union([z.literal('all'), z.array(deviceNumber()).min(1)], {
      error: expecting('all, or a list of device numbers'),
    })
    .describe('all, or the device numbers the window mutes'),
  schedule: cron().describe('when each window starts'),
  duration: positiveDuration(undefined, 'window').describe('how long each window lasts'),
});

export const rawConfigSchema = z
  .strictObject({
    state_dir: filePath()
      .optional()
      .meta({ default: DEFAULTS.stateDir })
      .describe('where monitor.db (SQLite) lives; must be writable'),
    store: pattern(
      checked(z.string({ error: expecting('sqlite, or a postgres:// URL') }), storeProblem),
      STORE_PATTERN,
    )
      .optional()
      .meta({ default: DEFAULTS.store })
      .describe(
        'sqlite (monitor.db in state_dir, one process), or postgres://user@host:5432/db: a database several replicas share, one of them polling and notifying (ha); put the password in ${VAR} or use store_file',
      ),
    store_file: secretFile()
      .optional()
      .describe(
        'a file whose first line is `store` (either one): keeps the postgres password out of the config',
      ),
    ha: z
      .strictObject({
        lease: checked(positiveDuration(DEFAULTS.haLease), leaseProblem)
          .optional()
          .describe(
            `how long the lease holds without a renewal (renewed every lease / 3): a leader that dies is replaced within it; ${formatDuration(MIN_LEASE_MS)} to ${formatDuration(MAX_LEASE_MS)}`,
          ),
      })
      .optional()
      .describe('high availability: only with a postgres store'),
    listen: checked(
      pattern(z.string({ error: expecting('host:port, e.g. 127.0.0.1:8749') }), PATTERNS.listen),
      (v) => {
        const parsed = parseListen(v);
        return typeof parsed === 'string' ? parsed : null;
      },
    )
      .optional()
      .meta({ default: DEFAULTS.listen })
      .describe('host:port of the HTTP server (metrics, pages, API)'),
    timezone: checked(z.string(), timezoneProblem)
      .optional()
      .meta({ default: DEFAULTS.timezone })
      .describe('IANA time zone for times in messages, pages and JSON'),
    schedule: cron()
      .optional()
      .meta({ default: DEFAULTS.schedule })
      .describe('cron tick (6 fields = seconds) that looks for due checks'),
    public_url: httpUrl()
      .optional()
      .describe('where people reach this monitor; alerts link {public_url}/reconnect/{device}'),
    log_level: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
      .describe('debug logs every check')
      .optional()
      .meta({ default: DEFAULTS.logLevel }),
    defaults: z
      .strictObject(optionalPolicy)
      .optional()
      .describe('the checking and alerting policy; accounts and devices may set each key again'),
    accounts: z.array(accountSchema).min(1).describe('WhatsGate accounts and their devices'),
    notify: z
      .strictObject({
        group_wait: duration({ allowZero: true, default: DEFAULTS.groupWait })
          .optional()
          .describe(
            `how long the first event for a channel waits for others before they go out as one message; 0s sends at once (default ${DEFAULTS.groupWait})`,
          ),
        group_interval: duration({ allowZero: true, default: DEFAULTS.groupInterval })
          .optional()
          .describe(
            `the least time between two grouped messages of one channel; later events wait and go out together (default ${DEFAULTS.groupInterval})`,
          ),
        default: channelRefs().optional().describe('channels for events no route claims'),
        routes: z
          .array(routeSchema)
          .optional()
          .describe('a device goes to every route whose match fits it; else to default'),
        channels: z
          .record(pattern(checked(z.string(), channelNameProblem), PATTERNS.channelName), channelSchema)
          .optional()
          .describe('named channels, each with a type'),
      })
      .optional()
      .describe('where alerts go and how they are grouped'),
    audit: z
      .strictObject({
        schedule: cron().optional().describe('weekly report; omitted = no report'),
        channels: channelRefs().optional().describe('where the report goes'),
        stale_after: positiveDuration(DEFAULTS.staleAfter, 'age')
          .optional()
          .describe('not connected this long: listed as a candidate for deleting'),
      })
      .optional()
      .describe('the uptime and stale-devices report'),
    maintenance: z
      .array(maintenanceSchema)
      .optional()
      .describe('recurring windows in which notifications are muted; checks go on'),
    retention: positiveDuration(DEFAULTS.retention, 'retention')
      .optional()
      .describe('how long history is kept'),
    web: z
      .strictObject({
        basic_auth: z
          .strictObject({
            user: checked(text(), (v) => (v.includes(':') ? 'must not contain ":"' : null)).describe(
              'the user name (no ":")',
            ),
            password_hash: pattern(
              checked(z.string({ error: expecting('a bcrypt hash') }), bcryptProblem),
              PATTERNS.bcrypt,
            ).describe('bcrypt, as htpasswd -nBC 10 USER prints it (never the password itself)'),
          })
          .optional()
          .describe('protects everything but /healthz; also enables /reconnect on a non-loopback listen'),
      })
      .optional()
      .describe('the status and re-link pages'),
  })
  // For editors: what checks.ts says about store and store_file (not both).
  .meta({
    title: 'whatsgate-monitor config',
    not: { properties: { store: true, store_file: true }, required: ['store', 'store_file'] },
  });

export type RawConfig = z.output<typeof rawConfigSchema>;
export type RawAccount = z.output<typeof accountSchema>;
export type RawDevice = z.output<typeof deviceSchema>;
export type RawChannel = z.output<typeof channelSchema>;
export type RawPolicy = z.output<z.ZodObject<PolicyShape>>;
