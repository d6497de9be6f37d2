// The raw config file as written (SPEC §4), in zod 4: strict objects, every default left to
// resolve.ts. Kept free of transforms so `z.toJSONSchema(rawConfigSchema)` can document the file
// format for editors; refinements (which JSON Schema drops) only add checks.

import { z } from 'zod';
import { DURATION_HINT, RATE_HINT, parseDuration, parseRate } from './duration.js';
import {
  DEVICE_NUMBER_HINT,
  bcryptProblem,
  channelNameProblem,
  cronProblem,
  headerNameProblem,
  headerValueProblem,
  hostnameProblem,
  httpUrlProblem,
  isDnsLabel,
  labelNameProblem,
  mailboxProblem,
  normalizeDeviceNumber,
  parseListen,
  smtpUrlProblem,
  timezoneProblem,
  type Problem,
} from './fields.js';

/** Replaces zod's wording for a wrong type; a missing key falls through to "required". */
function expecting(what: string) {
  return (issue: { code?: string; input?: unknown }): string | undefined =>
    issue.input === undefined ? undefined : `expected ${what}`;
}

function checked<T extends z.ZodType>(schema: T, problem: (value: z.output<T>) => Problem): T {
  return schema.superRefine((value, ctx) => {
    const message = problem(value);
    if (message !== null) ctx.addIssue({ code: 'custom', message });
  });
}

const text = () => z.string().min(1);

function duration(options: { allowZero: boolean; default?: string }) {
  const base = options.allowZero
    ? z.union([z.string(), z.literal(0)], { error: expecting(`${DURATION_HINT}, or 0 for off`) })
    : z.string({
        error: (issue) => (issue.input === 0 ? 'must be longer than 0' : expecting(DURATION_HINT)(issue)),
      });
  const schema = checked(base as z.ZodType<string | number>, (value) => {
    const ms = parseDuration(value);
    if (ms === null) {
      return typeof value === 'string' && /^\d+(?:\.\d+)?$/.test(value.trim())
        ? `"${value}" needs a unit, e.g. ${value.trim()}s`
        : `expected ${DURATION_HINT}`;
    }
    if (ms === 0 && !options.allowZero) return 'must be longer than 0';
    return null;
  });
  return options.default === undefined ? schema : schema.meta({ default: options.default });
}

const positiveDuration = (defaultValue?: string) =>
  duration(defaultValue === undefined ? { allowZero: false } : { allowZero: false, default: defaultValue });

const cron = () =>
  checked(z.string({ error: expecting('a cron expression such as "*/10 * * * * *"') }), cronProblem);

const httpUrl = () =>
  checked(z.string({ error: expecting('an http:// or https:// URL') }), (v) => httpUrlProblem(v));

const deviceNumber = () =>
  checked(
    z.union([z.string(), z.number()], { error: expecting(`a phone number: ${DEVICE_NUMBER_HINT}`) }),
    (v) => (normalizeDeviceNumber(v) === null ? `not a device number: ${DEVICE_NUMBER_HINT}` : null),
  );

const channelRefs = () => z.array(z.string({ error: expecting('a channel name') }));

// YAML readers write `floor: 3` or `vip: true`; a label value is text either way.
const labelValue = z.union([z.string(), z.number(), z.boolean()], {
  error: expecting('a string, number or boolean'),
});

/** Secrets are plain strings here: resolve.ts checks them so no message can echo them. */
const secret = () => z.string({ error: expecting('a string') });
const secretFile = () => z.string({ error: expecting('a file path') }).min(1);

/** The keys of SPEC §4 `defaults`, which accounts and devices may set again. */
export const policyShape = {
  interval: positiveDuration().describe('how often each device should be checked (default 60s)'),
  timeout: positiveDuration().describe('one API call (default 10s)'),
  failure_threshold: z.int().min(1).describe('consecutive unhealthy checks before DOWN (default 2)'),
  success_threshold: z.int().min(1).describe('consecutive connected checks before UP (default 1)'),
  repeat_interval: duration({ allowZero: true }).describe('reminder while DOWN; 0 turns it off (default 4h)'),
  send_resolved: z.boolean().describe('send device.up after DOWN (default true)'),
  flap_threshold: z.int().min(2).describe('DOWN/UP alerts within flap_window that mean flapping (default 4)'),
  flap_window: positiveDuration().describe('default 30m'),
  reconnect: z.enum(['link', 'qr', 'off']).describe('link | qr | off (default link)'),
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
};

export const POLICY_KEYS = Object.keys(policyShape) as (keyof typeof policyShape)[];

const deviceSchema = z.strictObject({
  number: deviceNumber(),
  name: text().optional().describe('defaults to the number'),
  labels: z.record(checked(z.string(), labelNameProblem), labelValue).optional(),
  channels: channelRefs().optional().describe('overrides routing for this device'),
  ...optionalPolicy,
});

const accountSchema = z.strictObject({
  name: text(),
  subdomain: checked(z.string(), (v) =>
    isDnsLabel(v)
      ? null
      : 'expected the subdomain only (letters, digits and -), e.g. acme for acme.whatsgate.net',
  )
    .optional()
    .describe('https://{subdomain}.whatsgate.net/api; or set base_url'),
  base_url: httpUrl().optional(),
  token: secret().optional(),
  token_file: secretFile().optional(),
  concurrency: z.int().min(1).optional().meta({ default: 4 }),
  rate_limit: checked(z.string({ error: expecting(RATE_HINT) }), (v) => {
    const perMinute = parseRate(v);
    if (perMinute === null) return `expected ${RATE_HINT}`;
    // The budget is counted in whole calls per 60 s window (SPEC §3).
    return Number.isInteger(perMinute)
      ? null
      : `must come to a whole number of calls per minute (at least 1/min), got ${v}`;
  })
    .optional()
    .meta({ default: '30/min' }),
  devices: z.array(deviceSchema),
  ...optionalPolicy,
});

const timeout = () => positiveDuration('10s').optional();
const mailbox = () => checked(z.string({ error: expecting('an email address') }), mailboxProblem);

const emailChannelSchema = z.strictObject({
  type: z.literal('email'),
  smtp: checked(z.string({ error: expecting('an smtp:// or smtps:// URL') }), smtpUrlProblem)
    .optional()
    .describe('smtp://user:pass@host:587; or host/port/secure/user/password'),
  host: checked(z.string(), hostnameProblem).optional(),
  port: z.int().min(1).max(65535).optional().describe('default 465 when secure, else 587'),
  secure: z.boolean().optional().describe('TLS from the start (default: port is 465)'),
  user: text().optional(),
  password: secret().optional(),
  password_file: secretFile().optional(),
  from: mailbox(),
  to: z.union([mailbox(), z.array(mailbox()).min(1)], {
    error: expecting('an email address or a list of them'),
  }),
  timeout: timeout(),
});

const webhookChannelSchema = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrl(),
  secret: secret().optional().describe('Standard Webhooks signing key (whsec_… or any text)'),
  secret_file: secretFile().optional(),
  headers: z
    .record(
      checked(z.string(), headerNameProblem),
      checked(z.string({ error: expecting('a string') }), headerValueProblem),
    )
    .optional(),
  timeout: timeout(),
});

const alertmanagerChannelSchema = z.strictObject({
  type: z.literal('alertmanager'),
  url: z.union([httpUrl(), z.array(httpUrl()).min(1)], {
    error: expecting('a URL or a list of URLs (an Alertmanager cluster)'),
  }),
  timeout: timeout(),
});

export const channelSchema = z.discriminatedUnion('type', [
  emailChannelSchema,
  webhookChannelSchema,
  alertmanagerChannelSchema,
]);

const routeSchema = z.strictObject({
  match: z.record(
    checked(z.string(), (name) => (/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) ? null : 'not a valid label name')),
    labelValue,
  ),
  channels: channelRefs().min(1),
});

const maintenanceSchema = z.strictObject({
  devices: z.union([z.literal('all'), z.array(deviceNumber()).min(1)], {
    error: expecting('all, or a list of device numbers'),
  }),
  schedule: cron().describe('when each window starts'),
  duration: positiveDuration(),
});

export const rawConfigSchema = z
  .strictObject({
    state_dir: text().optional().meta({ default: '/var/lib/whatsgate-monitor' }),
    listen: checked(z.string({ error: expecting('host:port, e.g. 127.0.0.1:8749') }), (v) => {
      const parsed = parseListen(v);
      return typeof parsed === 'string' ? parsed : null;
    })
      .optional()
      .meta({ default: '127.0.0.1:8749' }),
    timezone: checked(z.string(), timezoneProblem).optional().meta({ default: 'UTC' }),
    schedule: cron().optional().meta({ default: '*/10 * * * * *' }),
    public_url: httpUrl().optional(),
    log_level: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
      .optional()
      .meta({ default: 'info' }),
    defaults: z.strictObject(optionalPolicy).optional(),
    accounts: z.array(accountSchema).min(1),
    notify: z
      .strictObject({
        default: channelRefs().optional().describe('channels for events no route claims'),
        routes: z.array(routeSchema).optional(),
        channels: z.record(checked(z.string(), channelNameProblem), channelSchema).optional(),
      })
      .optional(),
    audit: z
      .strictObject({
        schedule: cron().optional().describe('weekly report; omitted = no report'),
        channels: channelRefs().optional(),
        stale_after: positiveDuration('14d').optional(),
      })
      .optional(),
    maintenance: z.array(maintenanceSchema).optional(),
    retention: positiveDuration('90d').optional(),
    web: z
      .strictObject({
        basic_auth: z
          .strictObject({
            user: checked(text(), (v) => (v.includes(':') ? 'must not contain ":"' : null)),
            password_hash: checked(z.string({ error: expecting('a bcrypt hash') }), bcryptProblem),
          })
          .optional(),
      })
      .optional(),
  })
  .meta({ title: 'whatsgate-monitor config' });

export type RawConfig = z.output<typeof rawConfigSchema>;
export type RawAccount = z.output<typeof accountSchema>;
export type RawDevice = z.output<typeof deviceSchema>;
export type RawChannel = z.output<typeof channelSchema>;
export type RawPolicy = z.output<z.ZodObject<PolicyShape>>;
