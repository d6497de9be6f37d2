// What a chat message says (Slack, Teams, Discord): the facts of the email — what happened,
// since when (in `timezone`), what it means, what to do, how to re-link — as plain cards each
// provider lays out in its own markup, and the one rule that cuts a grouped message at a
// provider's limit. Pure: no I/O, no clock. The wording comes from describe.ts, so an event
// type this module does not name (a newer build's) still reads sensibly: its tag, the status,
// and the status's generic meaning and advice.

import type { DeliveryEvent } from '../../monitor/delivery.js';
import { deliveryFacts } from '../delivery-words.js';
import { isDeliveryEvent } from '../events.js';
import type { AuditNotification, DeviceNotification, NotificationEvent, RenderContext } from '../message.js';
import { eventAt, eventType } from '../message.js';
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
  relinkHelp,
  STATUS_ADVICE,
  STATUS_WORDS,
  worstFirst,
} from '../describe.js';

export type Severity = 'bad' | 'warn' | 'good' | 'info';

export interface CardLine {
  /** Empty: a continuation of the line above. */
  readonly label: string;
  readonly text: string;
  /** A link; `text` is what it shows. */
  readonly href?: string;
  /** A command to type: monospace where the provider has it. */
  readonly code?: boolean;
}

export interface Card {
  readonly tag: string;
  readonly severity: Severity;
  readonly title: string;
  readonly lines: readonly CardLine[];
  /** When the event happened (Discord shows it as the embed's timestamp). */
  readonly at: number;
}

/** The audit report in chat is its summary and what needs attention, cut about here. */
export const AUDIT_SUMMARY_CHARS = 1500;

/**
 * Down/unreachable red, recoveries green, tests and reports neutral; everything else amber:
 * reminders, flapping, delivery problems — and event types this build does not know yet, which
 * deserve a look but should not page like an outage.
 */
export function severityOf(type: string): Severity {
  if (type === 'test' || type === 'audit.report') return 'info';
  if (type === 'device.up' || type.endsWith('recovered')) return 'good';
  if (type === 'device.down' || type === 'account.unreachable' || type === 'device.not_found') return 'bad';
  return 'warn';
}

/** `DOWN`; for a type describe.ts has no tag for, the part after the dot (`device.stalled` → `STALLED`). */
export function tagOf(type: string): string {
  const known = (EVENT_TAGS as Readonly<Partial<Record<string, string>>>)[type];
  return (
    known ??
    type
      .slice(type.indexOf('.') + 1)
      .replace(/_/g, ' ')
      .toUpperCase()
  );
}

/**
 * The line a message opens with, the email's subject without `[whatsgate] `:
 * `DOWN: Sales phone (123456789) disconnected`, or for a group the counts worst first and the
 * first devices: `DOWN: 50 devices — Phone 01 (…) disconnected, …`. A mass-outage summary
 * (grouping) belongs here, so every chat channel says it.
 */
export function headline(events: readonly NotificationEvent[], budget = 120): string {
  const sorted = worstFirst(events);
  const [first] = sorted;
  if (first === undefined) return 'no events';
  if (sorted.length === 1) {
    return first.kind === 'audit' ? eventPhrase(first) : `${tagOf(eventType(first))}: ${eventPhrase(first)}`;
  }
  const counts = countByTag(sorted)
    .map((c) => `${c.tag}: ${plural(c.count, c.noun)}`)
    .join(', ');
  const items: string[] = [];
  let length = 0;
  for (const e of sorted) {
    const phrase = eventPhrase(e);
    if (items.length > 0 && length + 2 + phrase.length > budget) break;
    items.push(phrase);
    length += (items.length > 1 ? 2 : 0) + phrase.length;
  }
  return `${counts} — ${items.join(', ')}${items.length < sorted.length ? ', …' : ''}`;
}

/** `Times are in UTC.`: the zone every time in the message is given in. */
export function zoneNote(ctx: RenderContext): string {
  return `Times are in ${ctx.timeZone}. Sent by whatsgate-monitor.`;
}

/** The status page (`public_url` + `/`), or null. */
export function statusPage(ctx: RenderContext): string | null {
  return ctx.publicUrl === null ? null : `${ctx.publicUrl}/`;
}

/**
 * What stands in for the cards a provider had no room for: `…and 38 more — ` and the status
 * page as the provider writes a link, or the command that lists every device.
 */
export function moreText(
  hidden: number,
  ctx: RenderContext,
  link: (href: string, text: string) => string,
): string {
  const where = statusPage(ctx);
  const rest =
    where === null ? '`whatsgate-monitor status` lists every device' : link(where, 'see the status page');
  return `…and ${hidden} more — ${rest}`;
}

function time(ms: number, ctx: RenderContext): string {
  return formatTime(ms, ctx.timeZone);
}

/** The device's labels as one line, or null without labels. */
function labelsLine(e: DeviceNotification): CardLine | null {
  const labels = Object.entries(e.device.labels);
  return labels.length === 0
    ? null
    : { label: 'Labels', text: labels.map(([k, v]) => `${k}=${v}`).join(', ') };
}

/** A device card from its lines, with the re-link command and link when the event calls for them. */
function withRelink(
  e: DeviceNotification,
  event: { readonly type: DeviceNotification['event']['type']; readonly at: number },
  lines: CardLine[],
  ctx: RenderContext,
): Card {
  if (needsRelink(e)) {
    const help = relinkHelp(e.device.number, ctx);
    lines.push({ label: 'Re-link', text: help.command, code: true });
    if (help.url !== null) lines.push({ label: '', text: help.url, href: help.url });
  }
  return {
    tag: tagOf(event.type),
    severity: severityOf(event.type),
    title: `${deviceLabel(e.device)}, account ${e.account}`,
    lines,
    at: event.at,
  };
}

/** A delivery event (SPEC §10): the counts, since when, meaning, what to do, re-link when stalled. */
function deliveryCard(e: DeviceNotification, event: DeliveryEvent, ctx: RenderContext): Card {
  const lines: CardLine[] = deliveryFacts(event, ctx.timeZone).map((f) => ({ label: f.label, text: f.text }));
  const labels = labelsLine(e);
  if (labels !== null) lines.splice(2, 0, labels);
  return withRelink(e, event, lines, ctx);
}

function deviceCard(e: DeviceNotification, ctx: RenderContext): Card {
  const { event } = e;
  if (isDeliveryEvent(event)) return deliveryCard(e, event, ctx);
  const was = event.previousStatus === null ? '' : ` (was ${STATUS_WORDS[event.previousStatus]})`;
  const lines: CardLine[] = [
    { label: 'Status', text: `${STATUS_WORDS[event.status]} since ${time(event.since, ctx)}${was}` },
  ];
  if (event.type === 'device.up') {
    if (event.downSince !== undefined) {
      const span = `${time(event.downSince, ctx)} to ${time(event.at, ctx)}`;
      lines.push({ label: 'Outage', text: `${span} (${humanDuration(event.at - event.downSince)})` });
    }
  } else if (
    event.downSince !== undefined &&
    (event.type === 'device.reminder' || event.downSince !== event.since)
  ) {
    const text = `${time(event.downSince, ctx)} (${humanDuration(event.at - event.downSince)})`;
    lines.push({ label: 'Down since', text });
  }
  const labels = labelsLine(e);
  if (labels !== null) lines.push(labels);
  if (event.type === 'device.flapping') {
    lines.push({
      label: 'Flapping',
      text: 'The device went DOWN and UP repeatedly. Alerts for each change pause until it has been stable for the flap window; you will hear when it settles.',
    });
  }
  const advice = STATUS_ADVICE[event.status];
  lines.push({ label: 'Meaning', text: advice.meaning });
  if (advice.action !== '') lines.push({ label: 'What to do', text: advice.action });
  return withRelink(e, event, lines, ctx);
}

function accountCard(e: Extract<NotificationEvent, { kind: 'account' }>, ctx: RenderContext): Card {
  const { event } = e;
  const base = { tag: tagOf(event.type), severity: severityOf(event.type), title: `account ${e.account}` };
  if (event.type !== 'account.unreachable') {
    const text = `The monitor can check the account’s devices again (unreachable from ${time(event.since, ctx)}, ${humanDuration(event.at - event.since)}).`;
    return { ...base, lines: [{ label: 'Meaning', text }], at: event.at };
  }
  const lines: CardLine[] = [{ label: 'Since', text: time(event.since, ctx) }];
  if (event.message !== null) {
    const text = event.reason === null ? event.message : `${event.reason}: ${event.message}`;
    lines.push({ label: 'Error', text });
  }
  lines.push({
    label: 'Meaning',
    text: 'The monitor cannot check the devices of this account. Their statuses are unknown meanwhile — not down.',
  });
  if (event.reason !== null) lines.push({ label: 'What to do', text: REASON_ADVICE[event.reason] });
  return { ...base, lines, at: event.at };
}

/**
 * The report's opening lines (period, summary) and its "Needs attention" list, cut at
 * AUDIT_SUMMARY_CHARS; the table stays in the email and on the status page.
 */
export function auditSummary(text: string): string {
  const lines = text.split('\n');
  const blank = lines.indexOf('');
  const head = blank === -1 ? lines : lines.slice(0, blank);
  const start = lines.indexOf('Needs attention:');
  const attention: string[] = [];
  if (start !== -1) {
    for (const line of lines.slice(start)) {
      if (line === '') break;
      attention.push(line.trimEnd());
    }
  }
  const summary = [...head, ...(attention.length > 0 ? ['', ...attention] : [])].join('\n');
  return summary.length <= AUDIT_SUMMARY_CHARS ? summary : `${summary.slice(0, AUDIT_SUMMARY_CHARS - 1)}…`;
}

function auditCard(e: AuditNotification, ctx: RenderContext): Card {
  const lines: CardLine[] = [{ label: 'Summary', text: auditSummary(e.text) }];
  const page = statusPage(ctx);
  lines.push(
    page === null
      ? { label: 'Full report', text: 'whatsgate-monitor audit', code: true }
      : { label: 'Full report', text: page, href: page },
  );
  return { tag: tagOf('audit.report'), severity: 'info', title: eventPhrase(e), lines, at: e.at };
}

export function cardOf(e: NotificationEvent, ctx: RenderContext): Card {
  switch (e.kind) {
    case 'device':
      return deviceCard(e, ctx);
    case 'account':
      return accountCard(e, ctx);
    case 'audit':
      return auditCard(e, ctx);
    case 'test':
      return {
        tag: tagOf('test'),
        severity: 'info',
        title: `channel ${e.channel}`,
        lines: [
          {
            label: 'Meaning',
            text: `A test message from whatsgate-monitor (whatsgate-monitor test-notify), sent at ${time(e.at, ctx)}. If you read this, the channel works.`,
          },
        ],
        at: eventAt(e),
      };
  }
}

/** The cards of a message, worst first. */
export function cardsOf(events: readonly NotificationEvent[], ctx: RenderContext): Card[] {
  return worstFirst(events).map((e) => cardOf(e, ctx));
}

/**
 * How many of `sizes` (each card's cost in the provider's unit) fit in `budget` with at most
 * `maxCount` of them, keeping `moreCost` free whenever some must be left out. At least one
 * card is always shown: a lone card that is too big is the renderer's to shorten.
 */
export function fitCount(
  sizes: readonly number[],
  limits: { readonly budget: number; readonly maxCount: number; readonly moreCost: number },
): number {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.length <= limits.maxCount && total <= limits.budget) return sizes.length;
  // Some must go: the "…and N more" line needs its slot and its room.
  const maxCount = Math.max(1, limits.maxCount - 1);
  const budget = limits.budget - limits.moreCost;
  let used = 0;
  let n = 0;
  for (const size of sizes) {
    if (n >= maxCount || (n > 0 && used + size > budget)) break;
    used += size;
    n++;
  }
  return Math.max(1, n);
}

/** `text` cut to `max` characters, ending in `…` when cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}
