// The zod building blocks of the config schema, shared by schema.ts and the channels' own
// fragments (src/notify/channels/<type>/config.ts): strict, transform-free, so the JSON Schema
// generator can document them; refinements only add checks. `pattern(…)` states a refinement for
// the JSON Schema too (json-patterns.ts): zod leaves it to the refinement, editors and ajv see it.

import { z } from 'zod';
import { DURATION_HINT, DURATION_MAX, formatDuration, parseDuration, type DurationKind } from './duration.js';
import { cronProblem, httpUrlProblem, mailboxProblem, pathProblem, type Problem } from './fields.js';
import { PATTERNS } from './json-patterns.js';

/** Replaces zod's wording for a wrong type; a missing key falls through to "required". */
export function expecting(what: string) {
  return (issue: { code?: string; input?: unknown }): string | undefined =>
    issue.input === undefined ? undefined : `expected ${what}`;
}

export function checked<T extends z.ZodType>(schema: T, problem: (value: z.output<T>) => Problem): T {
  return schema.superRefine((value, ctx) => {
    const message = problem(value);
    if (message !== null) ctx.addIssue({ code: 'custom', message });
  });
}

export const text = () => z.string().min(1);

/** A JSON Schema `pattern` on a string schema, for editors only: the zod checks stay as they are. */
export function pattern<T extends z.ZodString>(schema: T, regex: string): T {
  return schema.meta({ pattern: regex });
}

/**
 * A duration key. `max` names its kind's upper bound (DURATION_MAX); a key that names none is
 * still capped at `wait`, below what a Node timer can arm, so no config value can overflow one.
 */
export function duration(options: { allowZero: boolean; default?: string; max?: DurationKind }) {
  const maxMs = DURATION_MAX[options.max ?? 'wait'];
  const base = options.allowZero
    ? z.union([pattern(z.string(), PATTERNS.durationOrZero), z.literal(0)], {
        error: expecting(`${DURATION_HINT}, or 0 for off`),
      })
    : pattern(
        z.string({
          error: (issue) => (issue.input === 0 ? 'must be longer than 0' : expecting(DURATION_HINT)(issue)),
        }),
        PATTERNS.positiveDuration,
      );
  const schema = checked(base as z.ZodType<string | number>, (value) => {
    const ms = parseDuration(value);
    if (ms === null) {
      return typeof value === 'string' && /^\d+(?:\.\d+)?$/.test(value.trim())
        ? `"${value}" needs a unit, e.g. ${value.trim()}s`
        : `expected ${DURATION_HINT}`;
    }
    if (ms === 0 && !options.allowZero) return 'must be longer than 0';
    if (ms > maxMs) return `must be at most ${formatDuration(maxMs)}`;
    return null;
  });
  return options.default === undefined ? schema : schema.meta({ default: options.default });
}

export const positiveDuration = (defaultValue?: string, max?: DurationKind) =>
  duration({
    allowZero: false,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    ...(max === undefined ? {} : { max }),
  });

export const cron = () =>
  pattern(
    checked(z.string({ error: expecting('a cron expression such as "*/10 * * * * *"') }), cronProblem),
    PATTERNS.cron,
  );

export const httpUrl = () =>
  pattern(
    checked(z.string({ error: expecting('an http:// or https:// URL') }), (v) => httpUrlProblem(v)),
    PATTERNS.httpUrl,
  );

/** Secrets are plain strings here: the cross-key checks read them so no message can echo them. */
export const secret = () => z.string({ error: expecting('a string') });
export const secretFile = () => filePath();

/** A file or folder path: not empty, no NUL or control characters (which no real path needs). */
export const filePath = () =>
  checked(
    // minLength stays for the JSON Schema; zod's own "too small" wording is kept ("must not be empty").
    z
      .string({
        error: (issue) => (issue.code === 'invalid_type' ? expecting('a file path')(issue) : undefined),
      })
      .min(1),
    pathProblem,
  );

export const mailbox = () =>
  pattern(checked(z.string({ error: expecting('an email address') }), mailboxProblem), PATTERNS.mailbox);

/** Every channel's `timeout`: one delivery attempt. */
/** A channel's `timeout` when it sets none; config/defaults.ts lists it with the others. */
export const CHANNEL_TIMEOUT = '10s';

export const channelTimeout = () => positiveDuration(CHANNEL_TIMEOUT, 'timeout').optional();
