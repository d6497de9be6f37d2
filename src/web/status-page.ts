// The status page (`GET /`, SPEC §6): every device, its status, DOWN/UP, since when, uptime over
// 24 h and 7 d, its last changes; account problems on top. Two pure steps: the daemon's facts
// become a view, the view becomes HTML. The uptimes and last changes come with the facts, read
// from the history's rollups (views/pages.ts, audit/rollup.ts): the page never reads the history.
// The view model is status-view.ts; the style sheet status-page-css.ts.

import { deliveryWords } from '../report/delivery.js';
import { formatPercent, humanDuration, localTimeWithOffset } from '../report/format.js';
import { isoWithOffset } from '../report/time.js';
import type { DeviceStatus } from '../monitor/model.js';
import type { HistoryStatus } from '../store/store.js';
import { escapeHtml as e } from '../report/html.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { pageFrame } from './layout.js';
import { COLUMNS, CSS } from './status-page-css.js';
import type { StatusDeviceFacts, StatusDeviceView, StatusPageView } from './status-view.js';
import { AUTO_REFRESH_CSS, AUTO_REFRESH_SCRIPT, autoRefreshControl } from './auto-refresh.js';

const STATUS_WORDS: Readonly<Record<DeviceStatus, string>> = {
  connected: 'connected',
  disconnected: 'disconnected',
  not_connected: 'not connected',
  not_initialized: 'not initialized',
  not_found: 'not found',
  unknown: 'unknown',
};

/** What the status most likely means (SPEC §2), for the tooltip and the card. */
const STATUS_HINTS: Readonly<Record<DeviceStatus, string>> = {
  connected: 'linked and online',
  disconnected: 'was linked, link lost (phone offline or logged out): check the phone, re-link if it stays',
  not_connected: 'exists but unpaired: scan a QR code',
  not_initialized: 'the gateway has no session loaded for it (new, or after a gateway restart)',
  not_found:
    'the gateway does not know it (deleted, or a typo): remove it from the config or add it again at the gateway',
  unknown: 'the gateway answered a status this monitor does not know',
};

function statusWord(s: HistoryStatus | null): string {
  if (s === null) return 'none';
  return s === 'deleted' ? 'deleted' : STATUS_WORDS[s];
}

function ago(now: number, at: number): string {
  return now - at < 1000 ? 'just now' : `${humanDuration(now - at)} ago`;
}

/**
 * The page's times, `2025-03-31 13:00` (or `03-31 13:00` for the changes listed: at most 7 days
 * old, the year is clear from the page), in `<time>` with the UTC minute as its datetime. The
 * header gives the zone's offset now; a time at another offset (across a DST change) says its own.
 * Each minute is formatted once per page: 10,000 rows share few of them, and the offset is the
 * costly part.
 */
class PageTimes {
  private readonly full = new Map<number, string>();
  private readonly short = new Map<number, string>();
  private readonly offsetNow: string;

  constructor(
    private readonly timeZone: string,
    now: number,
  ) {
    this.offsetNow = isoWithOffset(now, timeZone).slice(19);
  }

  time(ms: number): string {
    return this.element(ms, this.full, false);
  }

  shortTime(ms: number): string {
    return this.element(ms, this.short, true);
  }

  private element(ms: number, cache: Map<number, string>, short: boolean): string {
    const minute = Math.floor(ms / 60_000);
    let out = cache.get(minute);
    if (out === undefined) {
      const iso = isoWithOffset(minute * 60_000, this.timeZone);
      const local = short
        ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}`
        : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
      const offset = iso.slice(19);
      const utc = new Date(minute * 60_000).toISOString().slice(0, 16);
      out = `<time datetime="${utc}Z">${local}</time>${offset === this.offsetNow ? '' : ` (${offset})`}`;
      cache.set(minute, out);
    }
    return out;
  }
}

/** Today's sent / pending / failed, and the delivery problem in words (SPEC §10). */
function deliveryCell(d: StatusDeviceFacts): string {
  if (d.delivery === undefined || d.delivery.last === null) return '<td class="muted">–</td>';
  const words = deliveryWords(d.delivery);
  const problem = words.problem === null ? '' : `<div class="err">${e(words.problem)}</div>`;
  return `<td><div><div class="small">${e(words.counts)}</div>${problem}</div></td>`;
}

const STATE_BADGES = {
  down: '<span class="badge down">DOWN</span>',
  up: '<span class="badge up">UP</span>',
  none: '<span class="badge muted">–</span>',
} as const;

/** What a status cell says: the status in words, its class and, where it helps, a hint. */
function statusWords(d: StatusDeviceView, deleted: boolean): string {
  if (deleted) {
    return '<span class="status bad" title="deleted at the gateway with the delete command: remove it from the config">deleted</span>';
  }
  if (d.status === null) {
    return '<span class="status" title="no valid answer from the gateway yet">not checked yet</span>';
  }
  // "connected" needs no explanation; the other statuses carry what they most likely mean.
  if (d.status === 'connected') return '<span class="status good">connected</span>';
  const raw =
    d.status === 'unknown' && d.statusRaw !== null
      ? ` <span class="muted small">(“${e(d.statusRaw)}”)</span>`
      : '';
  return `<span class="status bad" title="${e(STATUS_HINTS[d.status])}">${STATUS_WORDS[d.status]}</span>${raw}`;
}

/**
 * One device's row. Lean on purpose: at 10,000 devices each byte here is ten kilobytes of page.
 * The phone layout's labels come from the style sheet by column, not from every cell.
 */
function deviceRow(d: StatusDeviceView, view: StatusPageView, times: PageTimes, blind: boolean): string {
  const deleted = d.deletedAt !== undefined && d.deletedAt !== null;
  const badge = deleted
    ? STATE_BADGES.down
    : d.status === null && d.health === 'UP'
      ? STATE_BADGES.none
      : d.health === 'DOWN'
        ? STATE_BADGES.down
        : STATE_BADGES.up;
  const silenced =
    d.silencedUntil !== null && d.silencedUntil > view.now
      ? `<div class="muted small">silenced until ${times.time(d.silencedUntil)}</div>`
      : '';
  const since =
    d.statusSince === null
      ? '<td class="muted">–</td>'
      : `<td><div>${humanDuration(view.now - d.statusSince)}<div class="muted small">since ${times.time(d.statusSince)}</div></div></td>`;
  let changes = '';
  for (const c of d.recentChanges) {
    changes += `<li>${times.shortTime(c.at)} ${statusWord(c.from)} → <b>${statusWord(c.to)}</b></li>`;
  }
  changes =
    changes === ''
      ? '<td class="muted small">none in 7 d</td>'
      : `<td><ul class="changes">${changes}</ul></td>`;
  const check = d.lastCheckAt === null ? 'never checked' : `checked ${ago(view.now, d.lastCheckAt)}`;
  const probe = d.probeError === null ? '' : `<div class="err">last check failed: ${e(d.probeError)}</div>`;
  const lastKnown = blind && d.status !== null ? '<span class="lastknown">(last known)</span>' : '';
  const relink = d.relink
    ? `<div><a class="relink" href="reconnect/${encodeURIComponent(d.number)}">Re-link (QR code) →</a></div>`
    : '';
  const number = e(d.number);
  return `<tr class="${d.health === 'DOWN' ? 'down' : 'up'}" data-device="${number}" data-state="${d.health}">
<td><div class="name">${e(d.name)}</div><div class="muted small"><code>${number}</code> · ${e(d.account)} · ${check}</div>${probe}${silenced}</td>
<td><div>${statusWords(d, deleted)} ${badge}${lastKnown}${relink}</div></td>
${since}
${deliveryCell(d)}
<td class="num">${formatPercent(d.uptime24h)}</td>
<td class="num">${formatPercent(d.uptime7d)}</td>
${changes}
</tr>`;
}

function accountAlerts(view: StatusPageView, times: PageTimes): string {
  const out: string[] = [];
  for (const a of view.accounts) {
    if (!a.reachable || a.problem !== null) {
      const since = a.problemSince === null ? '' : ` since ${times.time(a.problemSince)}`;
      out.push(
        `<div class="alert bad" role="alert" data-account="${e(a.name)}"><strong>Account ${e(a.name)}${
          a.reachable ? ': checks failing' : ' unreachable'
        }</strong>${since}. ${a.problem === null ? '' : e(a.problem)}<br><span class="small">The monitor cannot see this account's devices: their statuses below are the last ones known, not proof that they are up or down.</span></div>`,
      );
    }
    if (a.warning != null && a.warning !== '') {
      out.push(
        `<div class="alert warn" data-account="${e(a.name)}"><strong>Account ${e(a.name)}:</strong> ${e(a.warning)}</div>`,
      );
    }
  }
  return out.join('\n');
}

export function renderStatusPage(view: StatusPageView, nonce: string): string {
  const blind = blindAccounts(view);
  const times = new PageTimes(view.timeZone, view.now);
  const { head, foot } = pageAround(view, nonce, times);
  const rows = view.devices.map((d) => deviceRow(d, view, times, blind.has(d.account)));
  return `${head}${rows.length === 0 ? NO_DEVICES : rows.join('\n')}${foot}`;
}

/** How long renderStatusPageBytes renders rows before it lets the event loop go. */
const RENDER_SLICE_MS = 10;
/** Rows encoded to UTF-8 together; the slice's time is looked at after each batch. */
const ROWS_PER_BATCH = 50;

/**
 * renderStatusPage's page as UTF-8, its rows rendered a slice of about RENDER_SLICE_MS at a time
 * with the event loop let go in between: 10,000 devices take longer than a poll may wait. Each
 * slice is encoded on its own, so that no step encodes (or measures) the whole page of megabytes
 * at once, as sending one string would.
 */
export async function renderStatusPageBytes(
  view: StatusPageView,
  nonce: string,
  slicing: { readonly letGo?: () => Promise<unknown>; readonly sliceMs?: number } = {},
): Promise<Buffer> {
  const { letGo = () => yieldToLoop(), sliceMs = RENDER_SLICE_MS } = slicing;
  const blind = blindAccounts(view);
  const times = new PageTimes(view.timeZone, view.now);
  const { head, foot } = pageAround(view, nonce, times);
  const parts = [Buffer.from(head)];
  // Rows are encoded a few at a time: encoding thousands of rows' text at once is a block of its own.
  let batch = '';
  let sliceStart = performance.now();
  for (let i = 0; i < view.devices.length; i++) {
    const d = view.devices[i]!;
    batch += `${i === 0 ? '' : '\n'}${deviceRow(d, view, times, blind.has(d.account))}`;
    if (i % ROWS_PER_BATCH === ROWS_PER_BATCH - 1) {
      parts.push(Buffer.from(batch));
      batch = '';
      if (performance.now() - sliceStart >= sliceMs) {
        await letGo();
        sliceStart = performance.now();
      }
    }
  }
  parts.push(Buffer.from(view.devices.length === 0 ? NO_DEVICES : batch));
  parts.push(Buffer.from(foot));
  return Buffer.concat(parts);
}

function blindAccounts(view: StatusPageView): Set<string> {
  return new Set(view.accounts.filter((a) => !a.reachable).map((a) => a.name));
}

const NO_DEVICES = '<tr><td colspan="7" class="muted">No devices configured.</td></tr>';

/** The page before its rows and after them. */
function pageAround(view: StatusPageView, nonce: string, times: PageTimes): { head: string; foot: string } {
  const c = view.counts;
  const title = c.down > 0 ? `${c.down} DOWN · WhatsGate devices` : 'WhatsGate devices';
  const frame = pageFrame({ title, nonce, css: CSS + AUTO_REFRESH_CSS, script: AUTO_REFRESH_SCRIPT });
  const head = `<main>
<div class="top"><h1>WhatsGate devices</h1><span class="muted small">as of ${e(localTimeWithOffset(view.now, view.timeZone))} · ${autoRefreshControl(view.refreshSeconds)}</span></div>
${accountAlerts(view, times)}
<div class="summary">
<span class="chip${c.down > 0 ? ' down' : ''}" id="count-down"><b>${c.down}</b> DOWN</span>
<span class="chip" id="count-up"><b>${c.up}</b> UP</span>
${c.unchecked > 0 ? `<span class="chip"><b>${c.unchecked}</b> not checked yet</span>` : ''}
<span class="chip"><b>${c.total}</b> devices</span>
</div>
<table id="devices">
<thead><tr>${COLUMNS.map((c) => (c.num === true ? `<th class="num">${c.label}</th>` : `<th>${c.label}</th>`)).join('')}</tr></thead>
<tbody>
`;
  const foot = `
</tbody>
</table>
<footer>Times in ${e(view.timeZone)}. Uptime counts the time the monitor observed: time before a device was first seen or while the monitor was not running is left out, not counted as up. <a href="metrics">metrics</a> · <a href="api/v1/devices">JSON</a>${
    view.version === null ? '' : ` · whatsgate-monitor ${e(view.version)}`
  }</footer>
</main>`;
  return { head: `${frame.head}${head}`, foot: `${foot}${frame.foot}` };
}
