// An ntfy notification (JSON publishing) from the events of one outbox message: title, plain
// text message, priority by severity, tags (ntfy shows emoji-named tags as emojis), and a
// `click` and view actions opening the re-link page. Pure.
//
// One event gets the email's facts; a group one line per event, worst first, cut at ntfy's
// 4096-byte message limit (longer ones become attachments) with "…and N more". The title is
// made in one place (`ntfyTitle`), where a mass-outage summary can be added.
// The QR code is not attached (JSON publishing takes only a URL for that): `click` opens the
// re-link page, which shows a fresh one.

import type { DeviceEvent } from '../../../monitor/device-state.js';
import { countsText, deliveryFacts } from '../../delivery-words.js';
import { isDeliveryEvent } from '../../events.js';
import type { DeviceNotification, NotificationEvent, RenderContext } from '../../message.js';
import { eventType } from '../../message.js';
import {
  countByTag,
  deviceLabel,
  EVENT_TAGS,
  eventPhrase,
  formatTime,
  humanDuration,
  needsRelink,
  plural,
  REASON_ADVICE,
  connectCommand,
  relinkHelp,
  STATUS_ADVICE,
  STATUS_WORDS,
  worstFirst,
} from '../../describe.js';

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

const CONNECTION_TYPES: ReadonlySet<string> = new Set([
  'device.down',
  'device.reminder',
  'device.flapping',
  'device.up',
]);

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

function tagOf(e: NotificationEvent): string {
  const type: string = eventType(e);
  return (
    (EVENT_TAGS as Readonly<Record<string, string>>)[type] ??
    type
      .replace(/^[a-z]+\./, '')
      .replace(/_/g, ' ')
      .toUpperCase()
  );
}

function phraseOf(e: NotificationEvent): string {
  // The tag says what happened (STALLED, …): the phrase names the device alone.
  if (e.kind === 'device' && !CONNECTION_TYPES.has(e.event.type)) return deviceLabel(e.device);
  return eventPhrase(e);
}

export function ntfyTitle(sorted: readonly NotificationEvent[]): string {
  const [first] = sorted;
  if (first === undefined) return 'whatsgate: no events';
  if (first.kind === 'audit' && sorted.length === 1) return first.subject;
  if (sorted.length === 1) return `${tagOf(first)}: ${phraseOf(first)}`;
  return countByTag(sorted)
    .map((c) => `${c.tag}: ${plural(c.count, c.noun)}`)
    .join(', ');
}

function statusFacts(e: DeviceNotification & { event: DeviceEvent }, ctx: RenderContext): string {
  const was = e.event.previousStatus === null ? '' : ` (was ${STATUS_WORDS[e.event.previousStatus]})`;
  return `${STATUS_WORDS[e.event.status]} since ${formatTime(e.event.since, ctx.timeZone)}${was}`;
}

function deviceLines(e: DeviceNotification, ctx: RenderContext): string[] {
  const { event } = e;
  if (isDeliveryEvent(event)) {
    // SPEC §10: the counts, since when, meaning and what to do, as every channel says them.
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
  const time = (ms: number): string => formatTime(ms, ctx.timeZone);
  const lines = [`Account: ${e.account}`, `Status: ${statusFacts({ ...e, event }, ctx)}`];
  if (event.type === 'device.up' && event.downSince !== undefined) {
    lines.push(
      `Outage: ${time(event.downSince)} to ${time(event.at)} (${humanDuration(event.at - event.downSince)})`,
    );
  } else if (event.downSince !== undefined && event.downSince !== event.since) {
    lines.push(`Down since: ${time(event.downSince)} (${humanDuration(event.at - event.downSince)})`);
  }
  const labels = Object.entries(e.device.labels);
  if (labels.length > 0) lines.push(`Labels: ${labels.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  if (event.type === 'device.flapping')
    lines.push('It went DOWN and UP repeatedly; alerts pause until it is stable for the flap window.');
  if (CONNECTION_TYPES.has(event.type)) {
    const advice = STATUS_ADVICE[event.status];
    lines.push(advice.meaning);
    if (advice.action !== '') lines.push(`What to do: ${advice.action}`);
  }
  if (needsRelink(e)) {
    const help = relinkHelp(e.device.number, ctx);
    lines.push(`Re-link: ${help.command}${help.url === null ? '' : ` or ${help.url}`}`);
  }
  return lines;
}

function eventLines(e: NotificationEvent, ctx: RenderContext): string[] {
  const time = (ms: number): string => formatTime(ms, ctx.timeZone);
  switch (e.kind) {
    case 'device':
      return deviceLines(e, ctx);
    case 'account': {
      const { event } = e;
      if (event.type === 'account.recovered')
        return [
          `The monitor can check the account’s devices again (unreachable from ${time(event.since)}, ${humanDuration(event.at - event.since)}).`,
        ];
      const lines = [`Since: ${time(event.since)}`];
      if (event.message !== null)
        lines.push(`Error: ${event.reason === null ? event.message : `${event.reason}: ${event.message}`}`);
      lines.push('Its devices cannot be checked; their statuses are unknown meanwhile — not down.');
      if (event.reason !== null) lines.push(`What to do: ${REASON_ADVICE[event.reason]}`);
      return lines;
    }
    case 'test':
      return [
        `A test message from whatsgate-monitor test-notify, sent at ${time(e.at)}. If you read this, the channel works.`,
      ];
    case 'audit':
      // A summary: the rest is cut below with the `audit` command named.
      return [...e.text.split('\n'), 'The whole report: whatsgate-monitor audit'];
  }
}

function groupLine(e: NotificationEvent, ctx: RenderContext): string {
  if (e.kind === 'device' && isDeliveryEvent(e.event))
    return `${tagOf(e)} ${phraseOf(e)}: ${countsText(e.event.reading)}`;
  if (e.kind === 'device') {
    const event = e.event;
    const down =
      event.type === 'device.up' && event.downSince !== undefined
        ? ` (down ${humanDuration(event.at - event.downSince)})`
        : '';
    return `${tagOf(e)} ${deviceLabel(e.device)}, ${e.account}: ${statusFacts({ ...e, event: event as DeviceEvent }, ctx)}${down}`;
  }
  if (e.kind === 'account' && e.event.type === 'account.unreachable')
    return `${tagOf(e)} account ${e.account} since ${formatTime(e.event.since, ctx.timeZone)}`;
  return `${tagOf(e)} ${phraseOf(e)}`;
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

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** As many whole lines as fit in `limit` bytes with the rest, then "…and N more". */
export function fitLines(
  top: readonly string[],
  lines: readonly string[],
  bottom: readonly string[],
  limit: number,
  more: (n: number) => string,
): string {
  const all = [...top, ...lines, ...bottom].join('\n');
  if (bytes(all) <= limit) return all;
  let size = bytes([...top, more(lines.length), ...bottom].join('\n'));
  const kept: string[] = [];
  for (const line of lines) {
    if (size + bytes(line) + 1 > limit) break;
    kept.push(line);
    size += bytes(line) + 1;
  }
  return [...top, ...kept, more(lines.length - kept.length), ...bottom].join('\n');
}

export function ntfyMessage(sorted: readonly NotificationEvent[], ctx: RenderContext): string {
  const footer = `Times in ${ctx.timeZone}.`;
  const more = (n: number): string =>
    `…and ${n} more — see ${ctx.publicUrl === null ? 'whatsgate-monitor status' : `${ctx.publicUrl}/`}`;
  const [first] = sorted;
  if (first !== undefined && sorted.length === 1)
    return fitLines([], eventLines(first, ctx), [footer], MESSAGE_LIMIT_BYTES, more);
  return fitLines(
    [],
    sorted.map((e) => groupLine(e, ctx)),
    [...groupAdvice(sorted, ctx), footer],
    MESSAGE_LIMIT_BYTES,
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
