// An email from the events of one message: subject, text and HTML parts, inline QR codes —
// the facts as blocks here, their text and HTML layout in layout.ts. Pure: everything comes in as arguments (times in the config's time zone).

import type { DeliveryEvent } from '../../../monitor/delivery.js';
import type { DeviceEvent } from '../../../monitor/device-state.js';
import { deliveryFacts } from '../../delivery-words.js';
import { isDeliveryEvent } from '../../events.js';
import type { DeviceNotification, NotificationEvent, RenderContext } from '../../message.js';
import {
  deviceLabel,
  EVENT_TAGS,
  formatTime,
  groupHeadline,
  humanDuration,
  needsRelink,
  outageParagraphs,
  REASON_ADVICE,
  relinkHelp,
  STATUS_ADVICE,
  STATUS_WORDS,
  worstFirst,
} from '../../describe.js';
import {
  plain,
  renderHtml,
  renderText,
  type Block,
  type InlineImage,
  type Line,
  type Row,
} from './layout.js';

export { escapeHtml, type InlineImage } from './layout.js';

export const SUBJECT_PREFIX = '[whatsgate] ';

export interface EmailContent {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly images: readonly InlineImage[];
}

/**
 * `[whatsgate] DOWN: Sales phone (123456789) disconnected`; for a group, the counts per kind
 * of event worst first, with names, then the outage counts (describe.ts's groupHeadline):
 * `[whatsgate] DOWN: 12 devices (Sales phone, Support, …) — 12 of 40 of account main`.
 */
export function emailSubject(events: readonly NotificationEvent[]): string {
  return `${SUBJECT_PREFIX}${groupHeadline(events)}`;
}

/** `data:image/png;base64,…` → its parts; null for anything else (never rendered then). */
export function parseImageDataUrl(dataUrl: string): { contentType: string; base64: string } | null {
  const m = /^data:(image\/(?:png|jpeg|gif));base64,([A-Za-z0-9+/]+={0,2})$/.exec(dataUrl.trim());
  if (m === null) return null;
  return { contentType: m[1]!, base64: m[2]! };
}

function time(ms: number, ctx: RenderContext): string {
  return formatTime(ms, ctx.timeZone);
}

/** A delivery event (SPEC §10): the counts, since when, meaning, what to do, re-link when stalled. */
function deliveryBlock(e: DeviceNotification, event: DeliveryEvent, ctx: RenderContext): Block {
  const rows: Row[] = deliveryFacts(event, ctx.timeZone).map((f) => ({
    label: f.label,
    lines: [plain(f.text)],
  }));
  const labels = Object.entries(e.device.labels);
  if (labels.length > 0) {
    rows.splice(2, 0, { label: 'Labels', lines: [plain(labels.map(([k, v]) => `${k}=${v}`).join(', '))] });
  }
  if (needsRelink(e)) {
    const help = relinkHelp(e.device.number, ctx);
    const lines: Line[] = [{ text: help.command, code: true }];
    if (help.url !== null) lines.push({ text: help.url, href: help.url });
    rows.push({ label: 'Re-link', lines });
  }
  return {
    tag: EVENT_TAGS[event.type],
    severity: event.type === 'device.delivery_recovered' ? 'good' : 'warn',
    title: `${deviceLabel(e.device)}, account ${e.account}`,
    rows,
    image: null,
  };
}

function statusLine(e: DeviceNotification & { event: DeviceEvent }, ctx: RenderContext): Line {
  const was = e.event.previousStatus === null ? '' : ` (was ${STATUS_WORDS[e.event.previousStatus]})`;
  return plain(`${STATUS_WORDS[e.event.status]} since ${time(e.event.since, ctx)}${was}`);
}

function deviceBlock(e: DeviceNotification, index: number, ctx: RenderContext): Block {
  const { event } = e;
  if (isDeliveryEvent(event)) return deliveryBlock(e, event, ctx);
  const rows: Row[] = [{ label: 'Status', lines: [statusLine({ ...e, event }, ctx)] }];
  const labels = Object.entries(e.device.labels);
  let severity: Block['severity'] = 'bad';

  if (event.type === 'device.up') {
    severity = 'good';
    // A device.up held back by flapping or a silence goes out later than the outage ended.
    const upAt = event.upAt ?? event.at;
    if (event.downSince !== undefined) {
      rows.push({
        label: 'Outage',
        lines: [
          plain(
            `${time(event.downSince, ctx)} to ${time(upAt, ctx)} (${humanDuration(upAt - event.downSince)})`,
          ),
        ],
      });
    }
  } else if (
    event.downSince !== undefined &&
    (event.type === 'device.reminder' || event.downSince !== event.since)
  ) {
    rows.push({
      label: 'Down since',
      lines: [plain(`${time(event.downSince, ctx)} (${humanDuration(event.at - event.downSince)})`)],
    });
  }
  if (labels.length > 0) {
    rows.push({ label: 'Labels', lines: [plain(labels.map(([k, v]) => `${k}=${v}`).join(', '))] });
  }
  if (event.type === 'device.flapping') {
    severity = 'warn';
    rows.push({
      label: 'Flapping',
      lines: [
        plain(
          'The device went DOWN and UP repeatedly. Alerts for each change pause until it has been stable for the flap window; you will hear when it settles.',
        ),
      ],
    });
  }
  const advice = STATUS_ADVICE[event.status];
  rows.push({ label: 'Meaning', lines: [plain(advice.meaning)] });
  if (advice.action !== '') rows.push({ label: 'What to do', lines: [plain(advice.action)] });

  let image: InlineImage | null = null;
  if (needsRelink(e)) {
    const help = relinkHelp(e.device.number, ctx);
    // The note also keeps a device number from being followed by a word (`… 4915112345678 https`),
    // which SpamAssassin's HEXHASH_WORD takes for a hash in spam once it appears twice.
    const lines: Line[] = [{ text: help.command, code: true, note: 'on the monitor’s host' }];
    if (help.url !== null) lines.push({ text: help.url, href: help.url });
    rows.push({ label: 'Re-link', lines });
    const qr = e.qrCode === null ? null : parseImageDataUrl(e.qrCode);
    if (qr !== null) {
      image = {
        cid: `qr-${e.device.number}-${index}@whatsgate-monitor`,
        filename: `qr-${e.device.number}.png`,
        ...qr,
      };
      rows.push(
        {
          label: 'QR code',
          lines: [
            plain(
              `Shown below (in the HTML part of this email). It was issued at ${time(event.at, ctx)} and lives about 60 s: ${help.url === null ? 'run the connect command' : 'open the re-link page'} for a fresh one.`,
            ),
          ],
        },
        // Spelled out beside the image: the steps are what the reader needs, and an HTML part
        // that is mostly one image is what spam looks like (SpamAssassin's HTML_IMAGE_ONLY_*).
        { label: 'How to scan', lines: scanSteps(e.device.name) },
      );
    }
  }
  return {
    tag: EVENT_TAGS[event.type],
    severity,
    title: `${deviceLabel(e.device)}, account ${e.account}`,
    rows,
    image,
  };
}

function scanSteps(name: string): Line[] {
  return [
    plain(`1. Open WhatsApp on the phone of ${name}.`),
    plain('2. Tap Settings (on Android: the three dots), then Linked devices, then Link a device.'),
    plain('3. Point the phone’s camera at the code. The device shows as connected within a minute.'),
    plain(
      'Scan it only with that phone: whoever scans this code links their own WhatsApp account to the gateway, and messages sent through the device then go out from their number.',
    ),
  ];
}

function eventBlock(e: NotificationEvent, index: number, ctx: RenderContext): Block {
  switch (e.kind) {
    case 'device':
      return deviceBlock(e, index, ctx);
    case 'account': {
      const { event } = e;
      if (event.type === 'account.unreachable') {
        const rows: Row[] = [{ label: 'Since', lines: [plain(time(event.since, ctx))] }];
        if (event.message !== null) {
          rows.push({
            label: 'Error',
            lines: [plain(event.reason === null ? event.message : `${event.reason}: ${event.message}`)],
          });
        }
        rows.push({
          label: 'Meaning',
          lines: [
            plain(
              'The monitor cannot check the devices of this account. Their statuses are unknown meanwhile — not down.',
            ),
          ],
        });
        if (event.reason !== null) {
          rows.push({ label: 'What to do', lines: [plain(REASON_ADVICE[event.reason])] });
        }
        return {
          tag: EVENT_TAGS[event.type],
          severity: 'bad',
          title: `account ${e.account}`,
          rows,
          image: null,
        };
      }
      return {
        tag: EVENT_TAGS[event.type],
        severity: 'good',
        title: `account ${e.account}`,
        rows: [
          {
            label: 'Meaning',
            lines: [
              plain(
                `The monitor can check the account’s devices again (unreachable from ${time(event.since, ctx)}, ${humanDuration(event.at - event.since)}).`,
              ),
            ],
          },
        ],
        image: null,
      };
    }
    case 'audit':
      return {
        tag: EVENT_TAGS['audit.report'],
        severity: 'info',
        title: e.subject,
        rows: [{ label: 'Report', lines: e.text.split('\n').map(plain) }],
        image: null,
      };
    case 'test':
      return {
        tag: EVENT_TAGS.test,
        severity: 'info',
        title: `channel ${e.channel}`,
        rows: [
          {
            label: 'Meaning',
            lines: [
              plain(
                `A test message from whatsgate-monitor (\`whatsgate-monitor test-notify\`), sent at ${time(e.at, ctx)}. If you read this, the channel works.`,
              ),
            ],
          },
        ],
        image: null,
      };
  }
}

function blocksOf(events: readonly NotificationEvent[], ctx: RenderContext): Block[] {
  return worstFirst(events).map((e, i) => eventBlock(e, i, ctx));
}

function footerLines(ctx: RenderContext): Line[] {
  const lines: Line[] = [plain(`Times are in ${ctx.timeZone}. Sent by whatsgate-monitor.`)];
  if (ctx.publicUrl !== null) {
    const url = `${ctx.publicUrl}/`;
    lines.push({ text: `Status page: ${url}`, href: url });
  }
  return lines;
}

export function renderEmail(events: readonly NotificationEvent[], ctx: RenderContext): EmailContent {
  // The audit renders its own report; it always travels alone.
  const [only] = events;
  if (events.length === 1 && only?.kind === 'audit') {
    return { subject: only.subject, text: only.text, html: only.html, images: [] };
  }
  const subject = emailSubject(events);
  const headline = subject.slice(SUBJECT_PREFIX.length);
  const blocks = blocksOf(events, ctx);
  const intro = outageParagraphs(events);
  return {
    subject,
    text: renderText(headline, blocks, footerLines(ctx), intro),
    html: renderHtml(headline, blocks, footerLines(ctx), intro),
    images: blocks.flatMap((b) => (b.image === null ? [] : [b.image])),
  };
}
