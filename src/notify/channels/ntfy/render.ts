// An ntfy notification (JSON publishing) from the events of one outbox message: title, plain
// text message, priority by severity, tags (ntfy shows emoji-named tags as emojis), and a
// `click` and view actions opening the re-link page. Pure.
//
// One event gets the email's facts; a group one line per event, worst first, cut at ntfy's
// 4096-byte message limit (longer ones become attachments) with "…and N more". The title is
// made in one place (`ntfyTitle`), where a mass-outage summary can be added.
// The QR code is not attached (JSON publishing takes only a URL for that): `click` opens the
// re-link page, which shows a fresh one.

import type { DeliveryEvent } from '../../../monitor/delivery.js';
import type { DeviceEvent } from '../../../monitor/device-state.js';
import { countsText, deliveryFacts } from '../../delivery-words.js';
import { isDeliveryEvent } from '../../events.js';
import type { DeviceNotification, NotificationEvent, RenderContext } from '../../message.js';
import { eventType } from '../../message.js';
import {
  connectCommand,
  deviceLabel,
  formatTime,
  humanDuration,
  needsRelink,
  relinkHelp,
  STATUS_ADVICE,
  STATUS_WORDS,
  worstFirst,
} from '../../describe.js';
import {
  CONNECTION_TYPES,
  eventTag,
  factLines,
  fitLines,
  headline,
  phraseOf,
  PLAIN,
  statusFacts,
} from '../../chat/text-facts.js';

/** ntfy's default `message-size-limit`, in bytes. */
export const MESSAGE_LIMIT_BYTES = 4096;

export type NtfyPriority = 1 | 2 | 3 | 4 | 5;

export interface NtfyAction {
  readonly action: 'view';
  readonly label: string;
  readonly url: string;
}

/** The JSON body of `POST {server}`. */
export interface NtfyBody {
  readonly topic: string;
  readonly title: string;
  readonly message: string;
  readonly priority: NtfyPriority;
  readonly tags: readonly string[];
  readonly click?: string;
  readonly actions?: readonly NtfyAction[];
}

/** Per type: priority (5 urgent … 1 min) and the emoji tag. Unknown types: 3 and a warning. */
const STYLE: Readonly<Record<string, { priority: NtfyPriority; tag: string }>> = {
  'device.down': { priority: 5, tag: 'rotating_light' },
  'account.unreachable': { priority: 4, tag: 'no_entry' },
  'device.not_found': { priority: 4, tag: 'question' },
  'device.flapping': { priority: 3, tag: 'warning' },
  'device.reminder': { priority: 3, tag: 'hourglass' },
  'device.stalled': { priority: 3, tag: 'warning' },
  'device.failing': { priority: 3, tag: 'warning' },
  'device.balance_low': { priority: 3, tag: 'moneybag' },
  'device.up': { priority: 2, tag: 'white_check_mark' },
  'account.recovered': { priority: 2, tag: 'white_check_mark' },
  'device.delivery_recovered': { priority: 2, tag: 'white_check_mark' },
  'audit.report': { priority: 2, tag: 'clipboard' },
  test: { priority: 3, tag: 'test_tube' },
};

function styleOf(e: NotificationEvent): { priority: NtfyPriority; tag: string } {
  return STYLE[eventType(e)] ?? { priority: 3, tag: 'warning' };
}

export function ntfyTitle(sorted: readonly NotificationEvent[]): string {
  const [first] = sorted;
  if (first === undefined) return 'whatsgate: no events';
  if (first.kind === 'audit' && sorted.length === 1) return first.subject;
  return headline(sorted);
}

/** SPEC §10: the counts, since when, meaning and what to do, as every channel says them. */
function deliveryLines(e: DeviceNotification, event: DeliveryEvent, ctx: RenderContext): string[] {
  const lines = [
    `Account: ${e.account}`,
    ...deliveryFacts(event, ctx.timeZone).map((f) => `${f.label}: ${f.text}`),
  ];
  if (needsRelink(e)) {
    const help = relinkHelp(e.device.number, ctx);
    lines.push(`Re-link: ${help.command}${help.url === null ? '' : ` or ${help.url}`}`);
  }
  return lines;
}

function eventLines(e: NotificationEvent, ctx: RenderContext): string[] {
  // A summary: the rest is cut below with the `audit` command named.
  if (e.kind === 'audit') return [...e.text.split('\n'), 'The whole report: whatsgate-monitor audit'];
  if (e.kind !== 'device') return factLines(e, ctx, PLAIN);
  const { event } = e;
  return isDeliveryEvent(event) ? deliveryLines(e, event, ctx) : factLines({ ...e, event }, ctx, PLAIN);
}

function groupLine(e: NotificationEvent, ctx: RenderContext): string {
  if (e.kind === 'device' && isDeliveryEvent(e.event))
    return `${eventTag(e)} ${phraseOf(e)}: ${countsText(e.event.reading)}`;
  if (e.kind === 'device') {
    const event = e.event as DeviceEvent;
    const down =
      event.type === 'device.up' && event.downSince !== undefined
        ? ` (down ${humanDuration(event.at - event.downSince)})`
        : '';
    return `${eventTag(e)} ${deviceLabel(e.device)}, ${e.account}: ${statusFacts(event, ctx)}${down}`;
  }
  if (e.kind === 'account' && e.event.type === 'account.unreachable')
    return `${eventTag(e)} account ${e.account} since ${formatTime(e.event.since, ctx.timeZone)}`;
  return `${eventTag(e)} ${phraseOf(e)}`;
}

function groupAdvice(sorted: readonly NotificationEvent[], ctx: RenderContext): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of sorted) {
    if (!needsRelink(e) || isDeliveryEvent(e.event) || !CONNECTION_TYPES.has(e.event.type)) continue;
    if (seen.has(e.event.status)) continue;
    seen.add(e.event.status);
    out.push(`${STATUS_WORDS[e.event.status]}: ${STATUS_ADVICE[e.event.status].action}`);
  }
  if (out.length > 0) {
    const page = ctx.publicUrl === null ? '' : ` or ${ctx.publicUrl}/reconnect/NUMBER`;
    out.push(`Re-link a device: ${connectCommand('NUMBER', ctx)}${page}`);
  }
  return out;
}

const BYTES = { limit: MESSAGE_LIMIT_BYTES, size: (text: string): number => Buffer.byteLength(text, 'utf8') };

export function ntfyMessage(sorted: readonly NotificationEvent[], ctx: RenderContext): string {
  const footer = `Times in ${ctx.timeZone}.`;
  const more = (n: number): string =>
    `…and ${n} more — see ${ctx.publicUrl === null ? 'whatsgate-monitor status' : `${ctx.publicUrl}/`}`;
  const [first] = sorted;
  if (first !== undefined && sorted.length === 1)
    return fitLines([], eventLines(first, ctx), [footer], BYTES, more);
  return fitLines(
    [],
    sorted.map((e) => groupLine(e, ctx)),
    [...groupAdvice(sorted, ctx), footer],
    BYTES,
    more,
  );
}

export function ntfyBody(events: readonly NotificationEvent[], topic: string, ctx: RenderContext): NtfyBody {
  const sorted = worstFirst(events);
  const priority = Math.max(1, ...sorted.map((e) => styleOf(e).priority)) as NtfyPriority;
  const tags = [...new Set(sorted.map((e) => styleOf(e).tag)), 'whatsgate'];
  const body: NtfyBody = {
    topic,
    title: ntfyTitle(sorted),
    message: ntfyMessage(sorted, ctx),
    priority,
    tags,
  };
  if (ctx.publicUrl === null) return body;
  const status = `${ctx.publicUrl}/`;
  // The worst device that needs re-linking: where a tap on the notification should lead.
  const relink = sorted.find(needsRelink);
  const relinkUrl = relink === undefined ? null : relinkHelp(relink.device.number, ctx).url;
  const actions: NtfyAction[] = [];
  if (relinkUrl !== null) actions.push({ action: 'view', label: 'Re-link', url: relinkUrl });
  actions.push({ action: 'view', label: 'Status page', url: status });
  return { ...body, click: relinkUrl ?? status, actions };
}
