// The facts of an event as lines of text, for the channels that send one text rather than
// cards (ntfy plain, Telegram HTML), and the one rule that cuts such a text at a provider's
// limit on whole lines (ntfy, Telegram, WhatsApp). A channel passes its `Markup`: how it
// escapes, italicises, shows a command and a link. Pure: no I/O, no clock.

import type { DeviceEvent } from '../../monitor/device-state.js';
import type {
  AccountNotification,
  DeviceNotification,
  NotificationEvent,
  RenderContext,
  TestNotification,
} from '../message.js';
import { eventType } from '../message.js';
import {
  countByTag,
  deviceLabel,
  eventPhrase,
  formatTime,
  humanDuration,
  needsRelink,
  plural,
  REASON_ADVICE,
  relinkHelp,
  STATUS_ADVICE,
  STATUS_WORDS,
} from '../describe.js';
import { tagOf } from './cards.js';

/** How a channel writes text: identity functions for plain text. */
export interface Markup {
  readonly escape: (text: string) => string;
  readonly italic: (text: string) => string;
  readonly code: (text: string) => string;
  readonly link: (href: string) => string;
}

/** A device notification about its link status, not a delivery problem (SPEC §10). */
export type StatusNotification = DeviceNotification & { readonly event: DeviceEvent };

const same = (text: string): string => text;

export const PLAIN: Markup = { escape: same, italic: same, code: same, link: same };

/** The events whose wording is about the device's connection (STATUS_ADVICE applies). */
export const CONNECTION_TYPES: ReadonlySet<string> = new Set([
  'device.down',
  'device.reminder',
  'device.flapping',
  'device.up',
]);

/** The tag describe.ts gives the event's type; for a type it does not know yet, one from the name. */
export function eventTag(e: NotificationEvent): string {
  return tagOf(eventType(e));
}

export function phraseOf(e: NotificationEvent): string {
  // The tag says what happened (STALLED, …): the phrase names the device alone.
  if (e.kind === 'device' && !CONNECTION_TYPES.has(e.event.type)) return deviceLabel(e.device);
  return eventPhrase(e);
}

/** `DOWN: Sales phone (123456789) disconnected`, or for a group `DOWN: 50 devices, UP: 1 device`. */
export function headline(sorted: readonly NotificationEvent[]): string {
  const [first] = sorted;
  if (first === undefined) return 'no events';
  if (sorted.length === 1) return `${eventTag(first)}: ${phraseOf(first)}`;
  return countByTag(sorted)
    .map((c) => `${c.tag}: ${plural(c.count, c.noun)}`)
    .join(', ');
}

/** `disconnected since 10:00 (was connected)`. */
export function statusFacts(event: DeviceEvent, ctx: RenderContext): string {
  const was = event.previousStatus === null ? '' : ` (was ${STATUS_WORDS[event.previousStatus]})`;
  return `${STATUS_WORDS[event.status]} since ${formatTime(event.since, ctx.timeZone)}${was}`;
}

function deviceLines(e: StatusNotification, ctx: RenderContext, m: Markup): string[] {
  const { event } = e;
  const time = (ms: number): string => formatTime(ms, ctx.timeZone);
  const lines = [`Account: ${m.escape(e.account)}`, `Status: ${m.escape(statusFacts(event, ctx))}`];
  if (event.type === 'device.up' && event.downSince !== undefined) {
    lines.push(
      `Outage: ${time(event.downSince)} to ${time(event.at)} (${humanDuration(event.at - event.downSince)})`,
    );
  } else if (event.downSince !== undefined && event.downSince !== event.since) {
    lines.push(`Down since: ${time(event.downSince)} (${humanDuration(event.at - event.downSince)})`);
  }
  const labels = Object.entries(e.device.labels);
  if (labels.length > 0) lines.push(`Labels: ${m.escape(labels.map(([k, v]) => `${k}=${v}`).join(', '))}`);
  if (event.type === 'device.flapping') {
    lines.push('It went DOWN and UP repeatedly; alerts pause until it is stable for the flap window.');
  }
  if (CONNECTION_TYPES.has(event.type)) {
    const advice = STATUS_ADVICE[event.status];
    lines.push(m.italic(m.escape(advice.meaning)));
    if (advice.action !== '') lines.push(`What to do: ${m.escape(advice.action)}`);
  }
  if (needsRelink(e)) {
    const help = relinkHelp(e.device.number, ctx);
    lines.push(`Re-link: ${m.code(help.command)}${help.url === null ? '' : ` or ${m.link(help.url)}`}`);
  }
  return lines;
}

/**
 * The facts of one event, one per line: status, outage, labels, meaning, what to do, how to
 * re-link. An audit report and a delivery problem have none here: each channel says those its own way.
 */
export function factLines(
  e: StatusNotification | AccountNotification | TestNotification,
  ctx: RenderContext,
  m: Markup,
): string[] {
  const time = (ms: number): string => formatTime(ms, ctx.timeZone);
  switch (e.kind) {
    case 'device':
      return deviceLines(e, ctx, m);
    case 'account': {
      const { event } = e;
      if (event.type === 'account.recovered') {
        return [
          `The monitor can check the account’s devices again (unreachable from ${time(event.since)}, ${humanDuration(event.at - event.since)}).`,
        ];
      }
      const lines = [`Since: ${time(event.since)}`];
      if (event.message !== null)
        lines.push(
          `Error: ${m.escape(event.reason === null ? event.message : `${event.reason}: ${event.message}`)}`,
        );
      lines.push(m.italic('Its devices cannot be checked; their statuses are unknown meanwhile — not down.'));
      if (event.reason !== null) lines.push(`What to do: ${m.escape(REASON_ADVICE[event.reason])}`);
      return lines;
    }
    case 'test':
      return [
        `A test message from ${m.code('whatsgate-monitor test-notify')}, sent at ${time(e.at)}. If you read this, the channel works.`,
      ];
  }
}

/**
 * `top`, as many whole `lines` as fit in `limit` with `bottom`, and "…and N more" for the rest.
 * Whole lines only: a cut inside one could split an HTML tag or a `*bold*` pair. `size`
 * measures in the provider's unit (characters, code points, bytes).
 */
export function fitLines(
  top: readonly string[],
  lines: readonly string[],
  bottom: readonly string[],
  limits: { readonly limit: number; readonly size: (text: string) => number },
  more: (n: number) => string,
): string {
  const { limit, size: sizeOf } = limits;
  const join = (parts: readonly string[]): string => parts.join('\n');
  const all = join([...top, ...lines, ...bottom]);
  if (sizeOf(all) <= limit) return all;
  let size = sizeOf(join([...top, more(lines.length), ...bottom]));
  const kept: string[] = [];
  for (const line of lines) {
    if (size + sizeOf(line) + 1 > limit) break;
    kept.push(line);
    size += sizeOf(line) + 1;
  }
  return join([...top, ...kept, more(lines.length - kept.length), ...bottom]);
}
