// Notifiers for the configured channels, each built by its type's definition
// (channels/index.ts): this file names no channel type.

import type { ChannelConfig, Config } from '../config/types.js';
import type { ChannelServices } from './channels/definition.js';
import { definitionOf } from './channels/index.js';
import type { RenderContext } from './message.js';
import type { Notifier } from './notifier.js';

export type NotifierFactory = (
  channel: ChannelConfig,
  ctx: RenderContext,
  services: ChannelServices,
) => Notifier;

export const createNotifier: NotifierFactory = (channel, ctx, services) =>
  definitionOf(channel.type).createNotifier(channel, ctx, services);

export function renderContext(config: Pick<Config, 'timezone' | 'publicUrl' | 'configFile'>): RenderContext {
  const ctx = { timeZone: config.timezone, publicUrl: config.publicUrl?.replace(/\/+$/, '') ?? null };
  return config.configFile === undefined ? ctx : { ...ctx, configFile: config.configFile };
}

/** A notifier for every configured channel, by name; `services`: what the process offers them. */
export function createNotifiers(
  config: Pick<Config, 'timezone' | 'publicUrl' | 'configFile' | 'notify'>,
  factory: NotifierFactory = createNotifier,
  services: ChannelServices = {},
): Map<string, Notifier> {
  const ctx = renderContext(config);
  return new Map(
    Object.entries(config.notify.channels).map(([name, channel]) => [name, factory(channel, ctx, services)]),
  );
}
