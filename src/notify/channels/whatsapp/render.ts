// A WhatsApp text from the events of one outbox message, for `POST /send/text`. Pure: the
// context comes in, no clock.
//
// The facts of the email, from the chat cards (chat/cards.ts): what happened, since when (in
// `timezone`), what it means, what to do, how to re-link (the `connect` command, and the re-link
// page when `public_url` is set). WhatsApp's own markup only: `*bold*`, `_italic_` and
// ```monospace```; WhatsApp has no escape for those marks, so a device name holding `*` may
// render oddly — never wrongly worded. A group is one line per event, worst first, after the
// mass-outage line, cut on whole lines at the gateway's 4000 characters with "…and N more" and
// the status page.

import { isDeliveryEvent } from '../../events.js';
import type { NotificationEvent, RenderContext } from '../../message.js';
import {
  connectCommand,
  needsRelink,
  outageParagraphs,
  STATUS_ADVICE,
  STATUS_WORDS,
  worstFirst,
} from '../../describe.js';
import { cardOf, headline, statusPage, type Card, type CardLine, type Severity } from '../../chat/cards.js';
import { fitLines } from '../../chat/text-facts.js';

/** SPEC §11: a `/send/text` message holds at most this many characters (code points). */
export const TEXT_LIMIT = 4000;

const MARK: Readonly<Record<Severity, string>> = { bad: '🔴', warn: '🟠', good: '🟢', info: 'ℹ️' };

const chars = (text: string): number => [...text].length;
const bold = (text: string): string => `*${text}*`;
const mono = (text: string): string => `\`\`\`${text}\`\`\``;

function cardLine(line: CardLine): string {
  const text = line.code === true ? mono(line.text) : line.text;
  return line.label === '' ? text : `${bold(`${line.label}:`)} ${text}`;
}

/** The events whose wording is about the device's connection (the status's meaning applies). */
const CONNECTION_TYPES: ReadonlySet<string> = new Set([
  'device.down',
  'device.reminder',
  'device.flapping',
  'device.up',
  'device.not_found',
]);

/**
 * The card's lines. For a device event about something other than its connection (a delivery
 * problem, SPEC §10), the status's generic meaning ("linked and working") would mislead: left out.
 */
function cardLines(e: NotificationEvent, card: Card): string[] {
  const connection = e.kind !== 'device' || CONNECTION_TYPES.has(e.event.type);
  const lines = connection
    ? card.lines
    : card.lines.filter((l) => l.label !== 'Meaning' && l.label !== 'What to do');
  return [card.title, ...lines.map(cardLine)];
}

/** One event of a group: `🔴 *DOWN* Phone 01 (100000001), account main — disconnected since …`. */
function groupLine(card: Card): string {
  const [first] = card.lines;
  const facts = first === undefined || first.label === 'Meaning' ? '' : ` — ${first.text}`;
  return `${MARK[card.severity]} ${bold(card.tag)} ${card.title}${facts}`;
}

/** What to do, once per status among the group's devices that need re-linking, then how. */
function groupAdvice(sorted: readonly NotificationEvent[], ctx: RenderContext): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of sorted) {
    // A stalled device needs re-linking too, but has no link status to advise on (its card says).
    if (!needsRelink(e) || isDeliveryEvent(e.event) || seen.has(e.event.status)) continue;
    seen.add(e.event.status);
    const action = STATUS_ADVICE[e.event.status].action;
    if (action !== '') out.push(`${bold(`${STATUS_WORDS[e.event.status]}:`)} ${action}`);
  }
  if (seen.size > 0) {
    const page = ctx.publicUrl === null ? '' : ` or ${ctx.publicUrl}/reconnect/NUMBER`;
    out.push(`${bold('Re-link a device:')} ${mono(connectCommand('NUMBER', ctx))}${page}`);
  }
  return out;
}

function footer(ctx: RenderContext): string {
  const page = statusPage(ctx);
  return `_Times in ${ctx.timeZone}._${page === null ? '' : ` Status page: ${page}`}`;
}

function moreLine(hidden: number, ctx: RenderContext): string {
  const page = statusPage(ctx);
  return `…and ${hidden} more — see ${page ?? mono('whatsgate-monitor status')}`;
}

const CODE_POINTS = { limit: TEXT_LIMIT, size: chars };

/** The `message` of `/send/text`: at most TEXT_LIMIT characters. */
export function whatsappText(events: readonly NotificationEvent[], ctx: RenderContext): string {
  const sorted = worstFirst(events);
  const [first] = sorted;
  if (first === undefined) return bold('whatsgate: no events');
  const cards = sorted.map((e) => cardOf(e, ctx));
  const title = `${MARK[cards[0]!.severity]} ${bold(headline(sorted))}`;
  const more = (n: number): string => moreLine(n, ctx);
  if (sorted.length === 1) {
    return fitLines([title], cardLines(first, cards[0]!), [footer(ctx)], CODE_POINTS, more);
  }
  return fitLines(
    [title, ...outageParagraphs(sorted)],
    cards.map(groupLine),
    [...groupAdvice(sorted, ctx), footer(ctx)],
    CODE_POINTS,
    more,
  );
}
