// What one outbox message holds: the events of one poll cycle routed to one channel, as plain
// JSON. Channels render it when they send, so every channel type can be queued the same way
// and a message written by this build can still be read by the next one (`version`).

import type { AccountEvent } from '../monitor/account-state.js';
import type { EventType } from '../monitor/model.js';
import type { DeviceAlertEvent, MonitorAlert } from './events.js';

export interface DeviceIdentity {
  readonly number: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

interface EventBase {
  /** The webhook's `events[].id`: the same in every channel and every retry. */
  readonly id: string;
}

export interface DeviceNotification extends EventBase {
  readonly kind: 'device';
  readonly account: string;
  readonly device: DeviceIdentity;
  /**
   * A link event (device.down/up/reminder/flapping: `{type, at, status, previousStatus, since,
   * downSince?}`) or a delivery event (SPEC §10, device.stalled/failing/balance_low/
   * delivery_recovered: `{type, at, problem, since, reading: {at, remaining, successful,
   * pending, failed}, reminder?}` — `problem` is the one that began, holds (`reminder: true`)
   * or ended; `since` when it began; `reading` the counts the decision rests on).
   */
  readonly event: DeviceAlertEvent;
  /** `data:image/png;base64,…`, or null. */
  readonly qrCode: string | null;
  /**
   * On a device.down in a grouped message: the account's fleet when the message was released
   * (the mass-outage line, SPEC §8). Absent on messages queued without grouping.
   */
  readonly outage?: AccountOutage;
}

/** "12 of 40 devices of account main down so far", and whether the gateway's side is to blame. */
export interface AccountOutage {
  /** The account's devices DOWN at release time. */
  readonly down: number;
  /** Its configured devices. */
  readonly total: number;
  /** Most of its devices dropped within minutes: likely a WhatsApp or WhatsGate incident. */
  readonly likelyGatewaySide: boolean;
}

export interface AccountNotification extends EventBase {
  readonly kind: 'account';
  readonly account: string;
  readonly event: AccountEvent;
}

/** `test-notify`: proves a channel delivers, carries no monitoring data. */
export interface TestNotification extends EventBase {
  readonly kind: 'test';
  readonly at: number;
  /** The channel under test, named in the message so the receiver knows which route works. */
  readonly channel: string;
}

/**
 * `audit.report`: rendered by the audit (src/audit); channels deliver it as it is — the email
 * with its subject, text and HTML, the webhook with its JSON as `report`.
 */
export interface AuditNotification extends EventBase {
  readonly kind: 'audit';
  readonly at: number;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The `audit --json` document. */
  readonly report: unknown;
}

export type NotificationEvent =
  DeviceNotification | AccountNotification | TestNotification | AuditNotification;

export const PAYLOAD_VERSION = 1;

/** An outbox row's payload. */
export interface NotificationPayload {
  readonly version: typeof PAYLOAD_VERSION;
  readonly events: readonly NotificationEvent[];
}

/** What rendering needs from the config. */
export interface RenderContext {
  readonly timeZone: string;
  /** Without trailing slash; links in messages point here. */
  readonly publicUrl: string | null;
  /** Config.configFile: commands in messages carry `--config` with it. Absent: the default path. */
  readonly configFile?: string;
}

export function eventType(e: NotificationEvent): EventType {
  if (e.kind === 'test') return 'test';
  if (e.kind === 'audit') return 'audit.report';
  return e.event.type;
}

export function eventAt(e: NotificationEvent): number {
  return e.kind === 'test' || e.kind === 'audit' ? e.at : e.event.at;
}

export function toNotificationEvent(alert: MonitorAlert, id: string): NotificationEvent {
  if (alert.kind === 'account') {
    return { id, kind: 'account', account: alert.account, event: alert.event };
  }
  return {
    id,
    kind: 'device',
    account: alert.account,
    device: { number: alert.device.number, name: alert.device.name, labels: { ...alert.device.labels } },
    event: alert.event,
    qrCode: alert.qrCode?.dataUrl ?? null,
  };
}

export function testNotification(id: string, channel: string, at: number): TestNotification {
  return { id, kind: 'test', at, channel };
}

/**
 * Reads a payload back from the outbox. Null when it is not one this build can render (a
 * damaged row): the message is then dropped rather than retried for a day.
 */
export function parsePayload(value: unknown): NotificationPayload | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as { version?: unknown; events?: unknown };
  if (v.version !== PAYLOAD_VERSION || !Array.isArray(v.events)) return null;
  for (const e of v.events as unknown[]) {
    if (typeof e !== 'object' || e === null) return null;
    const { id, kind } = e as { id?: unknown; kind?: unknown };
    if (typeof id !== 'string' || !['device', 'account', 'test', 'audit'].includes(kind as string))
      return null;
  }
  return value as NotificationPayload;
}
