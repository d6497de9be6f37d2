// The channel registry: one line per channel type. The config schema's channel union, the
// resolved ChannelConfig type, conversion, the JSON Schema, redaction, the notifier registry,
// the sink's and the audit's per-channel behaviour all read this list. Adding a channel is its
// folder (config fragment, secrets, render, notifier, definition) plus one line here.

import type { z } from 'zod';
import { alertmanager } from './alertmanager/index.js';
import type { ChannelDefinition, ConfigOf } from './definition.js';
import { discord } from './discord/index.js';
import { email } from './email/index.js';
import { ntfy } from './ntfy/index.js';
import { pagerduty } from './pagerduty/index.js';
import { slack } from './slack/index.js';
import { teams } from './teams/index.js';
import { telegram } from './telegram/index.js';
import { webhook } from './webhook/index.js';
import { whatsapp } from './whatsapp/index.js';

export const CHANNELS = [
  email,
  webhook,
  alertmanager,
  slack,
  teams,
  discord,
  telegram,
  ntfy,
  pagerduty,
  whatsapp,
] as const;

type Channels = typeof CHANNELS;

/** A resolved channel of any type, discriminated by `type`. */
export type ChannelConfig = ConfigOf<Channels[number]>;
export type ChannelType = ChannelConfig['type'];

export const CHANNEL_TYPES: readonly ChannelType[] = CHANNELS.map((c) => c.type);

type SchemasOf<T extends readonly unknown[]> = {
  -readonly [K in keyof T]: T[K] extends { schema: infer S } ? S : never;
};
type Schemas = SchemasOf<Channels>;

/** The channels' config fragments, as a tuple for z.discriminatedUnion. */
export function channelSchemas(): Schemas {
  return CHANNELS.map((c) => c.schema) as unknown as Schemas;
}

export type RawChannelOf<T extends ChannelType> = z.output<Extract<Channels[number], { type: T }>['schema']>;

const BY_TYPE: ReadonlyMap<string, ChannelDefinition> = new Map(
  CHANNELS.map((c) => [c.type, c as unknown as ChannelDefinition]),
);

/** The definition of a configured channel's type. */
export function definitionOf(type: string): ChannelDefinition {
  const definition = BY_TYPE.get(type);
  if (definition === undefined) throw new Error(`invariant: unknown channel type "${type}"`);
  return definition;
}

/** Every secret a channel config holds, for redaction. */
export function channelSecrets(channel: ChannelConfig): string[] {
  return definitionOf(channel.type).secrets(channel);
}
