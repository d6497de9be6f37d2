// The webhook body of SPEC §8 and its Standard Webhooks 1.0 signature. Pure.

import { createHmac } from 'node:crypto';
import type { DeviceStatus } from '../../../monitor/model.js';
import { isoWithOffset } from '../../../report/time.js';
import type { DeliveryProblem } from '../../../monitor/delivery.js';
import { isDeliveryEvent } from '../../events.js';
import type { NotificationEvent, RenderContext } from '../../message.js';
import { eventType } from '../../message.js';
import { groupHeadline, outageLines, worstFirst } from '../../describe.js';
import type { WebhookSecretFormat } from './config.js';

export const WEBHOOK_VERSION = '1';

/** `events[]` of the body. Account and test events have no device: `device` is null. */
export interface WebhookEvent {
  readonly id: string;
  readonly type: string;
  readonly occurred_at: string;
  readonly account: string | null;
  readonly device: {
    readonly number: string;
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
  } | null;
  /**
   * A device status; `unreachable`/`reachable` for account events; null for a test and for
   * delivery events (their subject is `delivery`, not the link).
   */
  readonly status: DeviceStatus | 'unreachable' | 'reachable' | null;
  readonly previous_status: DeviceStatus | 'unreachable' | 'reachable' | null;
  /** When the status began; for a delivery event, when its problem began. */
  readonly since: string | null;
  readonly qr_code?: string;
  /**
   * Delivery events only (SPEC §10): today's counts of the reading the decision rests on and the
   * problem that began, holds (`reminder` true) or ended (device.delivery_recovered).
   */
  readonly delivery?: {
    readonly pending: number;
    readonly successful: number;
    readonly failed: number;
    readonly remaining: number;
    readonly problem: DeliveryProblem;
    readonly reminder: boolean;
  };
  /** `audit.report` only: the `audit --json` document. */
  readonly report?: unknown;
}

/** One account's mass-outage counts at the time the grouped message was released. */
export interface WebhookOutage {
  readonly account: string;
  /** The account's devices DOWN so far. */
  readonly devices_down: number;
  readonly devices_total: number;
  /** Most of its devices dropped within minutes: likely a WhatsApp or WhatsGate incident. */
  readonly likely_gateway_side: boolean;
}

/**
 * What the message is about, for receivers that show one line (a chat, a ticket title):
 * `headline` is the email's subject without its prefix; `outages` one entry per account with
 * devices down in a grouped message (empty otherwise), most devices down first.
 */
export interface WebhookSummary {
  readonly headline: string;
  readonly outages: readonly WebhookOutage[];
}

export interface WebhookBody {
  readonly version: typeof WEBHOOK_VERSION;
  readonly sent_at: string;
  readonly events: readonly WebhookEvent[];
  /** Added beside `events` (grouping, SPEC §8); `events` is unchanged. */
  readonly summary: WebhookSummary;
}

export function webhookSummary(events: readonly NotificationEvent[]): WebhookSummary {
  return {
    headline: groupHeadline(events),
    outages: outageLines(events).map((o) => ({
      account: o.account,
      devices_down: o.down,
      devices_total: o.total,
      likely_gateway_side: o.likelyGatewaySide,
    })),
  };
}

export function webhookEvent(e: NotificationEvent, ctx: RenderContext): WebhookEvent {
  const iso = (ms: number): string => isoWithOffset(ms, ctx.timeZone);
  switch (e.kind) {
    case 'device': {
      if (isDeliveryEvent(e.event)) {
        const { reading } = e.event;
        return {
          id: e.id,
          type: e.event.type,
          occurred_at: iso(e.event.at),
          account: e.account,
          device: { number: e.device.number, name: e.device.name, labels: e.device.labels },
          status: null,
          previous_status: null,
          since: iso(e.event.since),
          delivery: {
            pending: reading.pending,
            successful: reading.successful,
            failed: reading.failed,
            remaining: reading.remaining,
            problem: e.event.problem,
            reminder: e.event.reminder === true,
          },
        };
      }
      const out: WebhookEvent = {
        id: e.id,
        type: e.event.type,
        occurred_at: iso(e.event.at),
        account: e.account,
        device: { number: e.device.number, name: e.device.name, labels: e.device.labels },
        status: e.event.status,
        previous_status: e.event.previousStatus,
        since: iso(e.event.since),
      };
      return e.qrCode === null ? out : { ...out, qr_code: e.qrCode };
    }
    case 'account': {
      const unreachable = e.event.type === 'account.unreachable';
      return {
        id: e.id,
        type: e.event.type,
        occurred_at: iso(e.event.at),
        account: e.account,
        device: null,
        status: unreachable ? 'unreachable' : 'reachable',
        previous_status: unreachable ? 'reachable' : 'unreachable',
        // The reachable state begins when the account answers again.
        since: iso(unreachable ? e.event.since : e.event.at),
      };
    }
    case 'audit':
      return {
        id: e.id,
        type: 'audit.report',
        occurred_at: iso(e.at),
        account: null,
        device: null,
        status: null,
        previous_status: null,
        since: null,
        report: e.report,
      };
    case 'test':
      return {
        id: e.id,
        type: 'test',
        occurred_at: iso(e.at),
        account: null,
        device: null,
        status: null,
        previous_status: null,
        since: null,
      };
  }
}

/**
 * The body, events worst first like the email, so `X-Whatsgate-Event` (the first event's type)
 * names the most severe one and a receiver can route on the header alone.
 */
export function webhookBody(
  events: readonly NotificationEvent[],
  ctx: RenderContext,
  sentAt: number,
): string {
  const body: WebhookBody = {
    version: WEBHOOK_VERSION,
    sent_at: isoWithOffset(sentAt, ctx.timeZone),
    events: worstFirst(events).map((e) => webhookEvent(e, ctx)),
    summary: webhookSummary(events),
  };
  return JSON.stringify(body);
}

/**
 * The HMAC key: `whsec` — the base64 after `whsec_` (the Standard Webhooks form, checked by the
 * config); `raw` (secret_format: raw) — the secret's UTF-8 bytes, as it is.
 */
export function signingKey(secret: string, format: WebhookSecretFormat): Buffer {
  if (format === 'raw') return Buffer.from(secret, 'utf8');
  if (!secret.startsWith('whsec_')) throw new Error('invariant: a whsec secret starts with whsec_');
  return Buffer.from(secret.slice('whsec_'.length), 'base64');
}

/** `v1,` + base64(HMAC-SHA256(key, `id.timestamp.body`)). */
export function webhookSignature(
  secret: string,
  format: WebhookSecretFormat,
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  const mac = createHmac('sha256', signingKey(secret, format))
    .update(`${id}.${timestampSeconds}.${body}`, 'utf8')
    .digest('base64');
  return `v1,${mac}`;
}

export interface WebhookRequest {
  readonly deliveryId: string;
  readonly events: readonly NotificationEvent[];
  readonly sentAt: number;
  readonly secret: string | null;
  readonly secretFormat: WebhookSecretFormat;
  /** Configured extra headers; they cannot replace the ones this function sets. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Body and headers of one delivery attempt. */
export function webhookRequest(
  req: WebhookRequest,
  ctx: RenderContext,
): { body: string; headers: Record<string, string> } {
  const body = webhookBody(req.events, ctx, req.sentAt);
  const timestamp = Math.floor(req.sentAt / 1000);
  const headers: Record<string, string> = {};
  const own = new Set([
    'content-type',
    'webhook-id',
    'webhook-timestamp',
    'webhook-signature',
    'x-whatsgate-event',
  ]);
  for (const [name, value] of Object.entries(req.headers)) {
    if (!own.has(name.toLowerCase())) headers[name] = value;
  }
  headers['Content-Type'] = 'application/json';
  const [first] = worstFirst(req.events);
  if (first !== undefined) headers['X-Whatsgate-Event'] = eventType(first);
  headers['webhook-id'] = req.deliveryId;
  headers['webhook-timestamp'] = String(timestamp);
  if (req.secret !== null && req.secret !== '') {
    headers['webhook-signature'] = webhookSignature(
      req.secret,
      req.secretFormat,
      req.deliveryId,
      timestamp,
      body,
    );
  }
  return { body, headers };
}
