// The one place that knows every channel type: adding a channel touches its own file and this.

import type { ChannelConfig, Config } from '../config/types.js';
import { AlertmanagerNotifier } from './alertmanager.js';
import { EmailNotifier } from './email.js';
import type { RenderContext } from './message.js';
import type { Notifier } from './notifier.js';
import { WebhookNotifier } from './webhook.js';

export type NotifierFactory = (channel: ChannelConfig, ctx: RenderContext) => Notifier;

export const createNotifier: NotifierFactory = (channel, ctx) => {
  switch (channel.type) {
    case 'email':
      return new EmailNotifier(channel, ctx);
    case 'webhook':
      return new WebhookNotifier(channel, ctx);
    case 'alertmanager':
      return new AlertmanagerNotifier(channel, ctx);
  }
};

export function renderContext(config: Pick<Config, 'timezone' | 'publicUrl'>): RenderContext {
  return { timeZone: config.timezone, publicUrl: config.publicUrl?.replace(/\/+$/, '') ?? null };
}

/** A notifier for every configured channel, by name. */
export function createNotifiers(
  config: Pick<Config, 'timezone' | 'publicUrl' | 'notify'>,
  factory: NotifierFactory = createNotifier,
): Map<string, Notifier> {
  const ctx = renderContext(config);
  return new Map(
    Object.entries(config.notify.channels).map(([name, channel]) => [name, factory(channel, ctx)]),
  );
}
