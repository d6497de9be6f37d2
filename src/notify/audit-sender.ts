// The audit report (`audit.report`, rendered by src/audit) through the notification channels:
// directly for `audit --send`, so the command reports per channel at once, like test-notify.
// The daemon's scheduled audit queues it in the outbox instead (Notifications.sendAuditReport).

import { randomUUID } from 'node:crypto';
import type { AuditDelivery, AuditMessage, AuditSender } from '../audit/sender.js';
import type { Config } from '../config/types.js';
import type { ChannelServices } from './channels/definition.js';
import { definitionOf } from './channels/index.js';
import type { AuditNotification } from './message.js';
import { createNotifiers, type NotifierFactory } from './registry.js';

export function auditNotification(message: AuditMessage, id: string, at: number): AuditNotification {
  return {
    id,
    kind: 'audit',
    at,
    subject: message.subject,
    text: message.text,
    html: message.html,
    report: message.json,
  };
}

/** Why a channel cannot take the report; null when it can. */
export function auditChannelProblem(config: Pick<Config, 'notify'>, channel: string): string | null {
  const c = config.notify.channels[channel];
  if (c === undefined) return `channel "${channel}" is not configured under notify.channels`;
  return definitionOf(c.type).refusesAudit ?? null;
}

export interface DirectAuditSenderOptions {
  readonly createNotifier?: NotifierFactory;
  /** What the command offers channels (whatsapp: the account's gateway), opened per send. */
  readonly services?: () => { readonly services: ChannelServices; close(): Promise<void> };
  readonly now?: () => number;
  readonly newId?: () => string;
}

export class DirectAuditSender implements AuditSender {
  readonly #config: Config;
  readonly #options: DirectAuditSenderOptions;

  constructor(config: Config, options: DirectAuditSenderOptions = {}) {
    this.#config = config;
    this.#options = options;
  }

  async sendAuditReport(
    message: AuditMessage,
    channels: readonly string[],
  ): Promise<readonly AuditDelivery[]> {
    const opened = this.#options.services?.();
    const notifiers = createNotifiers(this.#config, this.#options.createNotifier, opened?.services);
    const newId = this.#options.newId ?? randomUUID;
    const now = (this.#options.now ?? Date.now)();
    const never = new AbortController().signal;
    try {
      return await Promise.all(
        [...new Set(channels)].map(async (channel): Promise<AuditDelivery> => {
          const problem = auditChannelProblem(this.#config, channel);
          const notifier = notifiers.get(channel);
          if (problem !== null || notifier === undefined) {
            return { channel, outcome: 'failed', error: problem ?? 'not configured' };
          }
          const result = await notifier.send(
            { deliveryId: newId(), events: [auditNotification(message, newId(), now)], now },
            never,
          );
          return result.ok
            ? { channel, outcome: 'sent' }
            : { channel, outcome: 'failed', error: result.error };
        }),
      );
    } finally {
      await Promise.allSettled([...notifiers.values()].map((n) => n.close()));
      await opened?.close();
    }
  }
}
