// PagerDuty Events API v2 events from notification events. Pure: the routing key and context
// come in.
//
// PagerDuty keeps incidents, so each notification event becomes effects on alerts keyed by
// `dedup_key = whatsgate/{account}/{device}/{kind}`: a trigger opens (or, when open, updates)
// one, a resolve with the same key closes it. Kinds follow the stories grouping knows
// (src/monitor/grouping.ts): a device's health (`down`: down, not_found, their reminders,
// flapping while DOWN; closed by device.up), each delivery problem (`stalled`, `failing`,
// `balance_low`; closed by device.delivery_recovered), an account's reachability
// (`whatsgate/{account}/-/unreachable`).
//
// Decided: a reminder triggers again with the same key — PagerDuty adds it to the open incident
// without paging again, and re-opens one an operator resolved by hand while the device is still
// DOWN. Flapping while UP is no incident: skipped. A `test` triggers and at once resolves its
// own key, so it proves delivery without leaving an incident open. Audit reports are refused.

import { deliveryFacts } from '../../delivery-words.js';
import { isDeliveryEvent } from '../../events.js';
import type { DeviceNotification, NotificationEvent, RenderContext } from '../../message.js';
import { eventAt } from '../../message.js';
import {
  deviceLabel,
  eventPhrase,
  formatTime,
  needsRelink,
  REASON_ADVICE,
  relinkHelp,
  STATUS_ADVICE,
} from '../../describe.js';
import { clip } from '../../chat/cards.js';
import { eventTag } from '../../chat/text-facts.js';

export const SUMMARY_LIMIT = 1024;

export type Severity = 'critical' | 'error' | 'warning' | 'info';
export type EventAction = 'trigger' | 'resolve';

export interface PagerdutyLink {
  readonly href: string;
  readonly text: string;
}

export interface PagerdutyPayload {
  readonly summary: string;
  readonly source: string;
  readonly severity: Severity;
  readonly timestamp: string;
  readonly component?: string;
  readonly group?: string;
  readonly class?: string;
  readonly custom_details: Readonly<Record<string, unknown>>;
}

/** One request body of `POST /v2/enqueue`. A resolve needs no payload. */
export interface PagerdutyEvent {
  readonly routing_key: string;
  readonly event_action: EventAction;
  readonly dedup_key: string;
  readonly payload?: PagerdutyPayload;
  readonly client?: string;
  readonly client_url?: string;
  readonly links?: readonly PagerdutyLink[];
}

const DELIVERY_PROBLEMS = ['stalled', 'failing', 'balance_low'] as const;

interface Effect {
  readonly action: EventAction;
  readonly kind: string;
  readonly severity: Severity;
}

/** The delivery problem a reminder or a recovery names (SPEC §10, grouping.ts's `problem`). */
function problemOf(e: DeviceNotification): string | null {
  const problem = (e.event as { readonly problem?: unknown }).problem;
  return typeof problem === 'string' && (DELIVERY_PROBLEMS as readonly string[]).includes(problem)
    ? problem
    : null;
}

/** What the event does to which alerts; empty when it concerns none. */
export function pagerdutyEffects(e: NotificationEvent): Effect[] {
  if (e.kind === 'audit') return [];
  if (e.kind === 'test')
    return [
      { action: 'trigger', kind: 'test', severity: 'info' },
      { action: 'resolve', kind: 'test', severity: 'info' },
    ];
  if (e.kind === 'account')
    return [
      {
        action: e.event.type === 'account.unreachable' ? 'trigger' : 'resolve',
        kind: 'unreachable',
        severity: 'error',
      },
    ];
  const type: string = e.event.type;
  switch (type) {
    case 'device.down':
    case 'device.not_found':
      return [{ action: 'trigger', kind: 'down', severity: 'critical' }];
    case 'device.reminder': {
      const problem = problemOf(e);
      return [
        problem === null
          ? { action: 'trigger', kind: 'down', severity: 'critical' }
          : { action: 'trigger', kind: problem, severity: problem === 'balance_low' ? 'warning' : 'error' },
      ];
    }
    case 'device.flapping':
      return isDeliveryEvent(e.event) || e.event.downSince === undefined
        ? []
        : [{ action: 'trigger', kind: 'down', severity: 'critical' }];
    case 'device.up':
      return [{ action: 'resolve', kind: 'down', severity: 'info' }];
    case 'device.stalled':
    case 'device.failing':
      return [{ action: 'trigger', kind: type.slice('device.'.length), severity: 'error' }];
    case 'device.balance_low':
      return [{ action: 'trigger', kind: 'balance_low', severity: 'warning' }];
    case 'device.delivery_recovered': {
      // One that names no problem resolves them all: resolving a key with no open alert is a no-op.
      const problem = problemOf(e);
      const kinds = problem === null ? DELIVERY_PROBLEMS : [problem];
      return kinds.map((kind) => ({ action: 'resolve', kind, severity: 'info' }));
    }
    default:
      // A device event this build does not know: better an alert than silence.
      return [{ action: 'trigger', kind: type.replace(/^device\./, ''), severity: 'error' }];
  }
}

export function dedupKey(e: NotificationEvent, kind: string): string {
  switch (e.kind) {
    case 'device':
      return `whatsgate/${e.account}/${e.device.number}/${kind}`;
    case 'account':
      return `whatsgate/${e.account}/-/${kind}`;
    case 'test':
      return `whatsgate/-/-/test-${e.id}`;
    case 'audit':
      return `whatsgate/-/-/audit-${e.id}`;
  }
}

function summaryOf(e: NotificationEvent): string {
  const connection =
    e.kind !== 'device' ||
    ['device.down', 'device.reminder', 'device.flapping', 'device.up'].includes(e.event.type);
  const phrase = e.kind === 'device' && !connection ? deviceLabel(e.device) : eventPhrase(e);
  const where =
    e.kind === 'device' ? ` (WhatsGate account ${e.account})` : e.kind === 'test' ? '' : ' (WhatsGate)';
  return clip(`${eventTag(e)}: ${phrase}${where}`, SUMMARY_LIMIT);
}

function details(e: NotificationEvent, ctx: RenderContext): Record<string, unknown> {
  const time = (ms: number): string => formatTime(ms, ctx.timeZone);
  switch (e.kind) {
    case 'device': {
      const { event } = e;
      if (isDeliveryEvent(event)) {
        // SPEC §10: the counts of the reading, the problem, what it means and what to do.
        const out: Record<string, unknown> = {
          event: event.type,
          account: e.account,
          device: e.device.number,
          name: e.device.name,
          labels: e.device.labels,
          problem: event.problem,
          since: time(event.since),
          delivery: {
            pending: event.reading.pending,
            successful: event.reading.successful,
            failed: event.reading.failed,
            remaining: event.reading.remaining,
          },
        };
        for (const f of deliveryFacts(event, ctx.timeZone)) {
          if (f.label === 'Meaning') out['meaning'] = f.text;
          if (f.label === 'What to do') out['what_to_do'] = f.text;
        }
        if (needsRelink(e)) out['relink_command'] = relinkHelp(e.device.number, ctx).command;
        return out;
      }
      const out: Record<string, unknown> = {
        event: event.type,
        account: e.account,
        device: e.device.number,
        name: e.device.name,
        labels: e.device.labels,
        status: event.status,
        previous_status: event.previousStatus,
        since: time(event.since),
      };
      if (event.downSince !== undefined) out['down_since'] = time(event.downSince);
      const problem = problemOf(e);
      if (problem !== null) out['problem'] = problem;
      if (['device.down', 'device.reminder', 'device.flapping'].includes(event.type)) {
        out['meaning'] = STATUS_ADVICE[event.status].meaning;
        out['what_to_do'] = STATUS_ADVICE[event.status].action;
      }
      if (needsRelink(e)) {
        const help = relinkHelp(e.device.number, ctx);
        out['relink_command'] = help.command;
        if (help.url !== null) out['relink_url'] = help.url;
      }
      return out;
    }
    case 'account':
      return {
        event: e.event.type,
        account: e.account,
        since: time(e.event.since),
        error: e.event.message,
        meaning:
          'The monitor cannot check the devices of this account; their statuses are unknown meanwhile, not down.',
        ...(e.event.reason === null
          ? {}
          : { reason: e.event.reason, what_to_do: REASON_ADVICE[e.event.reason] }),
      };
    case 'test':
      return {
        event: 'test',
        channel: e.channel,
        sent_at: time(e.at),
        note: 'whatsgate-monitor test-notify; resolved at once',
      };
    case 'audit':
      return {};
  }
}

function links(e: NotificationEvent, ctx: RenderContext): PagerdutyLink[] {
  if (ctx.publicUrl === null) return [];
  const out: PagerdutyLink[] = [];
  if (needsRelink(e)) {
    const url = relinkHelp(e.device.number, ctx).url;
    if (url !== null) out.push({ href: url, text: `Re-link ${deviceLabel(e.device)}` });
  }
  out.push({ href: `${ctx.publicUrl}/`, text: 'whatsgate-monitor status page' });
  return out;
}

function payloadOf(
  e: NotificationEvent,
  severity: Severity,
  kind: string,
  ctx: RenderContext,
): PagerdutyPayload {
  const base = {
    summary: summaryOf(e),
    severity,
    timestamp: new Date(eventAt(e)).toISOString(),
    class: kind,
    custom_details: details(e, ctx),
  };
  switch (e.kind) {
    case 'device':
      return {
        ...base,
        source: `whatsgate/${e.account}/${e.device.number}`,
        component: deviceLabel(e.device),
        group: e.account,
      };
    case 'account':
      return { ...base, source: `whatsgate/${e.account}`, group: e.account };
    case 'test':
    case 'audit':
      return { ...base, source: 'whatsgate-monitor' };
  }
}

/**
 * The Events API calls of one outbox message, in the order the events happened (worst-first
 * would send a device's UP before its later DOWN and leave the incident resolved).
 */
export function pagerdutyEvents(
  events: readonly NotificationEvent[],
  routingKey: string,
  ctx: RenderContext,
): PagerdutyEvent[] {
  const ordered = events.map((e, i) => ({ e, i })).sort((a, b) => eventAt(a.e) - eventAt(b.e) || a.i - b.i);
  const out: PagerdutyEvent[] = [];
  for (const { e } of ordered) {
    for (const effect of pagerdutyEffects(e)) {
      const dedup_key = dedupKey(e, effect.kind);
      if (effect.action === 'resolve') {
        out.push({ routing_key: routingKey, event_action: 'resolve', dedup_key });
        continue;
      }
      const linkList = links(e, ctx);
      out.push({
        routing_key: routingKey,
        event_action: 'trigger',
        dedup_key,
        payload: payloadOf(e, effect.severity, effect.kind, ctx),
        client: 'whatsgate-monitor',
        ...(ctx.publicUrl === null ? {} : { client_url: `${ctx.publicUrl}/` }),
        ...(linkList.length === 0 ? {} : { links: linkList }),
      });
    }
  }
  return out;
}
