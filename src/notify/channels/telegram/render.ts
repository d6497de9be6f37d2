// Telegram messages from the events of one outbox message: HTML text for `sendMessage`, and the
// QR codes as photos for `sendPhoto`. Pure: `now` and the context come in.
//
// One event gets the email's facts (what happened, since when, what it means, what to do, how
// to re-link); a group gets one line per event, worst first, cut at Telegram's 4096 characters
// with "…and N more" and the status page. The headline is made in one place (`headline` in
// chat/text-facts.ts, shared with ntfy), where a mass-outage summary line can be added.
//
// QR codes: each goes out as a photo BEFORE the text, its caption naming the device and how to
// scan it. A QR code lives about 60 s, so one older than that when the attempt is made is not
// sent (a retry of a failed message sends text only; the text points to the re-link page), and at
// most MAX_PHOTOS go out per message so a mass outage does not trip Telegram's flood limit.

import type { DeviceEvent } from '../../../monitor/device-state.js';
import { countsText, deliveryFacts } from '../../delivery-words.js';
import { isDeliveryEvent } from '../../events.js';
import type { NotificationEvent, RenderContext } from '../../message.js';
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
  statusFacts,
  type Markup,
} from '../../chat/text-facts.js';

/** sendMessage's limit (characters after entity parsing; the raw HTML counted is longer: safe). */
export const TEXT_LIMIT = 4096;
/** sendPhoto's caption limit. */
export const CAPTION_LIMIT = 1024;
export const MAX_PHOTOS = 3;
/** How long a gateway QR code can still be scanned. */
export const QR_FRESH_MS = 60_000;

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const b = (text: string): string => `<b>${escapeHtml(text)}</b>`;
const code = (text: string): string => `<code>${escapeHtml(text)}</code>`;
const link = (href: string, text = href): string => `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>`;

const HTML: Markup = {
  escape: escapeHtml,
  italic: (text) => `<i>${text}</i>`,
  code,
  link: (href) => link(href),
};

function mark(e: NotificationEvent): string {
  const type: string = eventType(e);
  if (type === 'device.up' || type === 'account.recovered' || type.endsWith('_recovered')) return '🟢';
  if (type === 'test' || type === 'audit.report') return 'ℹ️';
  if (type === 'device.flapping' || type === 'device.balance_low') return '🟠';
  return '🔴';
}

function eventLines(e: NotificationEvent, ctx: RenderContext, qrSent: boolean): string[] {
  if (e.kind === 'audit') return auditLines(e.text);
  if (e.kind !== 'device') return factLines(e, ctx, HTML);
  const { event } = e;
  if (isDeliveryEvent(event)) {
    // SPEC §10: the counts, since when, meaning and what to do, as every channel says them.
    const lines = [
      `Account: ${escapeHtml(e.account)}`,
      ...deliveryFacts(event, ctx.timeZone).map((f) => `${f.label}: ${escapeHtml(f.text)}`),
    ];
    if (needsRelink(e)) lines.push(`Re-link: ${code(relinkHelp(e.device.number, ctx).command)}`);
    return lines;
  }
  const lines = factLines({ ...e, event }, ctx, HTML);
  if (qrSent && needsRelink(e)) lines.push('QR code: the photo above (scan it within a minute).');
  return lines;
}

/** The report's first lines, cut on a line: a chat shows a summary, `audit` the whole. */
function auditLines(text: string): string[] {
  const lines: string[] = [];
  let size = 0;
  for (const line of text.split('\n')) {
    if (size + line.length > TEXT_LIMIT / 2) {
      lines.push('…');
      break;
    }
    lines.push(escapeHtml(line));
    size += line.length + 1;
  }
  lines.push(`The whole report: ${code('whatsgate-monitor audit')}`);
  return lines;
}

/** One line of a group. */
function groupLine(e: NotificationEvent, ctx: RenderContext): string {
  const time = (ms: number): string => formatTime(ms, ctx.timeZone);
  const head = `${mark(e)} ${b(eventTag(e))}`;
  if (e.kind === 'device' && isDeliveryEvent(e.event))
    return `${head} ${escapeHtml(phraseOf(e))}: ${escapeHtml(countsText(e.event.reading))}`;
  if (e.kind === 'device') {
    const event = e.event as DeviceEvent;
    const down =
      event.type === 'device.up' && event.downSince !== undefined
        ? ` (down ${humanDuration(event.at - event.downSince)})`
        : '';
    const help = needsRelink(e) ? relinkHelp(e.device.number, ctx) : null;
    const relink = help?.url == null ? '' : ` · ${link(help.url, 're-link')}`;
    return `${head} ${escapeHtml(deviceLabel(e.device))}, ${escapeHtml(e.account)}: ${escapeHtml(statusFacts(event, ctx))}${down}${relink}`;
  }
  if (e.kind === 'account' && e.event.type === 'account.unreachable')
    return `${head} account ${escapeHtml(e.account)} since ${time(e.event.since)}`;
  return `${head} ${escapeHtml(phraseOf(e))}`;
}

/** What to do, once per status among the group's devices that need it. */
function groupAdvice(sorted: readonly NotificationEvent[], ctx: RenderContext): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of sorted) {
    if (!needsRelink(e) || isDeliveryEvent(e.event) || !CONNECTION_TYPES.has(e.event.type)) continue;
    if (seen.has(e.event.status)) continue;
    seen.add(e.event.status);
    out.push(`${b(STATUS_WORDS[e.event.status])}: ${escapeHtml(STATUS_ADVICE[e.event.status].action)}`);
  }
  if (out.length > 0) out.push(`Re-link a device: ${code(connectCommand('NUMBER', ctx))}`);
  return out;
}

function footer(ctx: RenderContext): string {
  const status = ctx.publicUrl === null ? '' : ` · ${link(`${ctx.publicUrl}/`, 'status page')}`;
  return `<i>Times in ${escapeHtml(ctx.timeZone)}.</i>${status}`;
}

function moreLine(n: number, ctx: RenderContext): string {
  const where =
    ctx.publicUrl === null ? code('whatsgate-monitor status') : link(`${ctx.publicUrl}/`, 'the status page');
  return `…and ${n} more — see ${where}`;
}

const CHARS = { limit: TEXT_LIMIT, size: (text: string): number => text.length };

/** The `sendMessage` text. `qrSent`: the devices whose QR photo this attempt sends. */
export function telegramText(
  events: readonly NotificationEvent[],
  ctx: RenderContext,
  qrSent: ReadonlySet<string> = new Set(),
): string {
  const sorted = worstFirst(events);
  const [first] = sorted;
  const title = first === undefined ? b('whatsgate: no events') : `${mark(first)} ${b(headline(sorted))}`;
  if (sorted.length === 1 && first !== undefined) {
    const subject = first.kind === 'audit' ? `ℹ️ ${b(first.subject)}` : title;
    const qr = first.kind === 'device' && qrSent.has(first.id);
    return fitLines([subject], eventLines(first, ctx, qr), [footer(ctx)], CHARS, (n) => moreLine(n, ctx));
  }
  return fitLines(
    [title],
    sorted.map((e) => groupLine(e, ctx)),
    [...groupAdvice(sorted, ctx), footer(ctx)],
    CHARS,
    (n) => moreLine(n, ctx),
  );
}

export interface TelegramPhoto {
  /** The event it belongs to. */
  readonly eventId: string;
  readonly filename: string;
  readonly png: Buffer;
  readonly caption: string;
}

function pngOf(dataUrl: string): Buffer | null {
  const m = /^data:image\/png;base64,([A-Za-z0-9+/]+={0,2})$/.exec(dataUrl.trim());
  return m === null ? null : Buffer.from(m[1]!, 'base64');
}

/** The QR codes still fresh at `now`, worst first, at most MAX_PHOTOS. */
export function telegramPhotos(
  events: readonly NotificationEvent[],
  ctx: RenderContext,
  now: number,
): TelegramPhoto[] {
  const out: TelegramPhoto[] = [];
  for (const e of worstFirst(events)) {
    if (out.length >= MAX_PHOTOS) break;
    if (!needsRelink(e) || e.qrCode === null || now - e.event.at > QR_FRESH_MS) continue;
    const png = pngOf(e.qrCode);
    if (png === null) continue;
    const help = relinkHelp(e.device.number, ctx);
    const caption = [
      `${mark(e)} ${b(`${eventTag(e)}: ${phraseOf(e)}`)}`,
      `Account ${escapeHtml(e.account)}. Scan this QR code in WhatsApp on the phone (Settings → Linked devices → Link a device) within a minute of ${formatTime(e.event.at, ctx.timeZone)}.`,
      help.url === null ? `A fresh one: ${code(help.command)}` : `A fresh one: ${link(help.url)}`,
    ].join('\n');
    out.push({
      eventId: e.id,
      filename: `qr-${e.device.number}.png`,
      png,
      caption:
        caption.length <= CAPTION_LIMIT ? caption : `${b(eventTag(e))} ${escapeHtml(deviceLabel(e.device))}`,
    });
  }
  return out;
}
