// The words every channel uses for statuses and events (SPEC §2), and the order in which a
// grouped message lists them. Pure: no I/O, no clock.

import { MESSAGE_ORDER } from '../monitor/grouping.js';
import type { DeviceStatus, EventType, ProbeErrorReason } from '../monitor/model.js';
import { isoWithOffset } from '../report/time.js';
import { deliveryPhrase } from './delivery-words.js';
import { isDeliveryEvent } from './events.js';
import type { DeviceIdentity, NotificationEvent, RenderContext } from './message.js';
import { eventAt, eventType } from './message.js';

/** The gateway's own words, as an operator reads them in its dashboard. */
export const STATUS_WORDS: Readonly<Record<DeviceStatus, string>> = {
  connected: 'connected',
  disconnected: 'disconnected',
  not_connected: 'not connected',
  not_initialized: 'not initialized',
  not_found: 'not found',
  unknown: 'unknown status',
};

export interface StatusAdvice {
  readonly meaning: string;
  /** Empty for `connected`. */
  readonly action: string;
}

export const STATUS_ADVICE: Readonly<Record<DeviceStatus, StatusAdvice>> = {
  connected: { meaning: 'The device is linked and working.', action: '' },
  disconnected: {
    meaning: 'The device was linked, but the link is lost (the phone is offline or WhatsApp was logged out).',
    action:
      'Check the phone: powered on, online, WhatsApp open. If it stays disconnected, re-link it with a QR code.',
  },
  not_connected: {
    meaning: 'The device exists at the gateway but is not paired with a phone.',
    action: 'Scan a QR code with WhatsApp on the phone (Settings → Linked devices → Link a device).',
  },
  not_initialized: {
    meaning: 'The gateway has no session loaded for the device (it is new, or the gateway restarted).',
    action: 'If the gateway just restarted, give it a minute; otherwise re-link the device with a QR code.',
  },
  not_found: {
    meaning:
      'The gateway answers, but does not know this device (“device not found”): it was deleted at the gateway, or the number in the config is wrong.',
    action:
      'Remove it from the config, or add it again at the gateway and link it. Until then it is checked only every 10 × interval.',
  },
  unknown: {
    meaning: 'The gateway answered with a status the monitor does not know.',
    action:
      'Check the device in the WhatsGate dashboard; `whatsgate-monitor status` shows the gateway’s exact answer.',
  },
};

export const REASON_ADVICE: Readonly<Record<ProbeErrorReason, string>> = {
  unauthorized: 'The gateway rejects the access token (HTTP 401/403): check the account’s `token`.',
  rate_limited:
    'The gateway answers 429 (too many requests): the API budget is spent — check `rate_limit` and the account’s own message sending.',
  timeout: 'The gateway does not answer in time: check the gateway and the network path to it.',
  connection: 'The gateway cannot be reached: check DNS, the network and `base_url`/`subdomain`.',
  http_5xx: 'The gateway answers with server errors (HTTP 5xx): it may be down or overloaded.',
  invalid_response:
    'The gateway’s answers are not valid API responses: a proxy or captive portal in between?',
  api_error: 'The gateway answers `success:false`: check the account in the WhatsGate dashboard.',
};

/**
 * Worst first: down > unreachable > flapping > reminder > up (then the calmer rest) — the
 * grouping module's MESSAGE_ORDER, so a grouped message and its rendering agree.
 */
const RANK = Object.fromEntries(MESSAGE_ORDER.map((type, i) => [type, i])) as Readonly<
  Record<EventType, number>
>;

export const EVENT_TAGS: Readonly<Record<EventType, string>> = {
  'device.down': 'DOWN',
  'account.unreachable': 'UNREACHABLE',
  'device.not_found': 'NOT FOUND',
  'device.stalled': 'STALLED',
  'device.failing': 'FAILING',
  'device.balance_low': 'LOW BALANCE',
  'device.flapping': 'FLAPPING',
  'device.reminder': 'STILL DOWN',
  'device.up': 'UP',
  'account.recovered': 'REACHABLE',
  'device.delivery_recovered': 'DELIVERING',
  'audit.report': 'REPORT',
  test: 'TEST',
};

export function eventRank(type: EventType): number {
  return RANK[type];
}

function sortKey(e: NotificationEvent): [number, string, string, string] {
  if (e.kind === 'device') return [RANK[e.event.type], e.account, e.device.name, e.device.number];
  if (e.kind === 'account') return [RANK[e.event.type], e.account, '', ''];
  if (e.kind === 'audit') return [RANK['audit.report'], '', '', ''];
  return [RANK.test, e.channel, '', ''];
}

/** A copy sorted worst first, then by account, device name and number (ties keep their order). */
export function worstFirst(events: readonly NotificationEvent[]): NotificationEvent[] {
  const keyed = events.map((e, i) => ({ e, i, k: sortKey(e) }));
  keyed.sort((a, b) => {
    for (let j = 0; j < 4; j++) {
      const x = a.k[j]!;
      const y = b.k[j]!;
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return a.i - b.i;
  });
  return keyed.map((k) => k.e);
}

/** `Sales phone (123456789)`, or just the number when no name was configured. */
export function deviceLabel(d: DeviceIdentity): string {
  return d.name === d.number ? d.number : `${d.name} (${d.number})`;
}

/** `2026-11-24 18:30:00 +01:00`: ISO 8601 with offset, readable. */
export function formatTime(ms: number, timeZone: string): string {
  const iso = isoWithOffset(ms, timeZone);
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} ${iso.slice(19)}`;
}

/** `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`: how long an outage lasts, rounded down. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** The short phrase naming one event in a subject or summary. */
export function eventPhrase(e: NotificationEvent): string {
  switch (e.kind) {
    case 'device':
      if (isDeliveryEvent(e.event)) return `${deviceLabel(e.device)} ${deliveryPhrase(e.event)}`;
      if (e.event.type === 'device.flapping') return `${deviceLabel(e.device)} flapping`;
      if (e.event.type === 'device.not_found') return `${deviceLabel(e.device)} unknown to the gateway`;
      return `${deviceLabel(e.device)} ${STATUS_WORDS[e.event.status]}`;
    case 'account':
      return e.event.type === 'account.unreachable'
        ? `account ${e.account} unreachable`
        : `account ${e.account} reachable again`;
    case 'test':
      return `test message for channel ${e.channel}`;
    case 'audit':
      return e.subject.replace(/^\[whatsgate\]\s*/, '');
  }
}

/**
 * Whether the event calls for re-linking the device: it is not connected now, or it is stalled
 * (re-linking is the last step when messages stay pending). Not for a device the gateway does
 * not know: there is nothing to link until it is added again.
 */
export function needsRelink(e: NotificationEvent): e is Extract<NotificationEvent, { kind: 'device' }> {
  if (e.kind !== 'device') return false;
  if (isDeliveryEvent(e.event)) return e.event.type === 'device.stalled';
  return e.event.type !== 'device.up' && e.event.status !== 'connected' && e.event.status !== 'not_found';
}

export interface RelinkHelp {
  readonly command: string;
  /** `{public_url}/reconnect/{device}`, when public_url is set. */
  readonly url: string | null;
}

/**
 * `whatsgate-monitor connect NUMBER`, with `--config PATH` when the daemon runs on another file
 * than the default: pasted on the monitor's host, the command must read the same config.
 */
export function connectCommand(number: string, ctx: Pick<RenderContext, 'configFile'>): string {
  const config = ctx.configFile === undefined ? '' : ` --config ${shellWord(ctx.configFile)}`;
  return `whatsgate-monitor connect ${number}${config}`;
}

/** The path as one shell word: as it is when it holds only safe characters, else single-quoted. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

export function relinkHelp(number: string, ctx: RenderContext): RelinkHelp {
  return {
    command: connectCommand(number, ctx),
    url: ctx.publicUrl === null ? null : `${ctx.publicUrl}/reconnect/${encodeURIComponent(number)}`,
  };
}

export interface TagCount {
  readonly tag: string;
  readonly count: number;
  /** `device`, `account` or `message`, for "2 devices". */
  readonly noun: string;
}

/** Events per tag, worst tag first. */
export function countByTag(events: readonly NotificationEvent[]): TagCount[] {
  const counts = new Map<EventType, number>();
  for (const e of events) counts.set(eventType(e), (counts.get(eventType(e)) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => RANK[a[0]] - RANK[b[0]])
    .map(([type, count]) => ({
      tag: EVENT_TAGS[type],
      count,
      noun: type.startsWith('device.') ? 'device' : type.startsWith('account.') ? 'account' : 'message',
    }));
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The earliest event time of a group: when "this happened". */
export function firstEventAt(events: readonly NotificationEvent[]): number | null {
  let first: number | null = null;
  for (const e of events) {
    const at = eventAt(e);
    if (first === null || at < first) first = at;
  }
  return first;
}

// ---- Grouped messages: the headline and the mass-outage line (SPEC §8) -------------------

/** Device names after the counts in a grouped headline stop about here. */
const HEADLINE_NAMES_BUDGET = 100;

export interface OutageLine {
  readonly account: string;
  readonly down: number;
  readonly total: number;
  readonly likelyGatewaySide: boolean;
}

/**
 * The accounts' outage counts a released message carries (on its device.down events), most
 * devices down first. Empty for messages queued without grouping.
 */
export function outageLines(events: readonly NotificationEvent[]): OutageLine[] {
  const byAccount = new Map<string, OutageLine>();
  for (const e of events) {
    if (e.kind !== 'device' || e.outage === undefined || byAccount.has(e.account)) continue;
    byAccount.set(e.account, { account: e.account, ...e.outage });
  }
  return [...byAccount.values()].sort(
    (a, b) => b.down - a.down || (a.account < b.account ? -1 : a.account > b.account ? 1 : 0),
  );
}

/** `12 of 40 devices of account main down so far`. */
export function outageSentence(o: OutageLine): string {
  return `${o.down} of ${plural(o.total, 'device')} of account ${o.account} down so far`;
}

/** Said when most of an account's devices dropped within minutes of each other. */
export const GATEWAY_SIDE_SENTENCE =
  'Most of the account’s devices dropped within minutes of each other: the cause is likely on the gateway’s side (a WhatsApp or WhatsGate incident), not the phones.';

/**
 * The opening paragraphs of a grouped message, one per account with devices down: the count
 * so far and, when the drops came together, that the gateway's side is the likely cause.
 */
export function outageParagraphs(events: readonly NotificationEvent[]): string[] {
  return outageLines(events).map(
    (o) => `${outageSentence(o)}.${o.likelyGatewaySide ? ` ${GATEWAY_SIDE_SENTENCE}` : ''}`,
  );
}

/** A short name for a list: the device's name, or the account's. */
function shortName(e: NotificationEvent): string {
  switch (e.kind) {
    case 'device':
      return e.device.name;
    case 'account':
      return e.account;
    case 'test':
      return `channel ${e.channel}`;
    case 'audit':
      return 'report';
  }
}

/**
 * One line naming what a message holds — a subject, a chat message's first line. One event:
 * `DOWN: Sales phone (123456789) disconnected`. Several: the count per kind, worst first, with
 * names, then the outage counts:
 * `DOWN: 12 devices (Sales phone, Support, …), UNREACHABLE: 1 account (eu) — 12 of 40 of account main`.
 */
export function groupHeadline(events: readonly NotificationEvent[]): string {
  const sorted = worstFirst(events);
  const [first] = sorted;
  if (first === undefined) return 'no events';
  if (sorted.length === 1) return `${EVENT_TAGS[eventType(first)]}: ${eventPhrase(first)}`;
  const groups = new Map<EventType, NotificationEvent[]>();
  for (const e of sorted) {
    const list = groups.get(eventType(e)) ?? [];
    groups.set(eventType(e), list);
    list.push(e);
  }
  let budget = HEADLINE_NAMES_BUDGET;
  const parts: string[] = [];
  for (const [type, list] of groups) {
    const names: string[] = [];
    for (const e of list) {
      const name = shortName(e);
      // The first name of each kind is always shown; the rest while the budget lasts.
      if (names.length > 0 && name.length + 2 > budget) break;
      names.push(name);
      budget -= name.length + 2;
    }
    const more = names.length < list.length ? ', …' : '';
    const noun = type.startsWith('device.') ? 'device' : type.startsWith('account.') ? 'account' : 'message';
    parts.push(`${EVENT_TAGS[type]}: ${plural(list.length, noun)} (${names.join(', ')}${more})`);
  }
  const outages = outageLines(sorted).map((o) => `${o.down} of ${o.total} of account ${o.account}`);
  return `${parts.join(', ')}${outages.length === 0 ? '' : ` — ${outages.join('; ')}`}`;
}
