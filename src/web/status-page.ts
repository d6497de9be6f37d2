// The status page (`GET /`, SPEC §6): every device, its status, DOWN/UP, since when, uptime over
// 24 h and 7 d, its last changes; account problems on top. Two pure steps: the daemon's facts
// become a view, the view becomes HTML. The uptimes and last changes come with the facts, read
// from the history's rollups (views/pages.ts, audit/rollup.ts): the page never reads the history.
//
// Over 350 lines: the page's view model and its HTML stay together so a column and its data
// cannot drift apart.

import type { DeliveryState } from '../monitor/delivery.js';
import { deliveryWords } from '../report/delivery.js';
import { formatPercent, humanDuration, localTimeWithOffset } from '../report/format.js';
import { isoWithOffset } from '../report/time.js';
import type { DeviceStatus, Health } from '../monitor/model.js';
import type { HistoryStatus } from '../store/store.js';
import { escapeHtml as e } from '../report/html.js';
import { renderPage } from './layout.js';
import { AUTO_REFRESH_CSS, AUTO_REFRESH_SCRIPT, autoRefreshControl } from './auto-refresh.js';

export const STATUS_PAGE_REFRESH_SECONDS = 30;
/** Changes listed per device. */
export const RECENT_CHANGES = 3;

/** One configured device as the daemon sees it now. */
export interface StatusDeviceFacts {
  readonly account: string;
  readonly number: string;
  readonly name: string;
  /** Null until the first valid answer. */
  readonly status: DeviceStatus | null;
  /** The gateway's text (tells apart the texts behind `unknown`). */
  readonly statusRaw: string | null;
  readonly health: Health;
  readonly statusSince: number | null;
  readonly lastCheckAt: number | null;
  /** The last check's probe error (`reason: message`), null when it got a valid answer. */
  readonly probeError: string | null;
  /** A silence or maintenance window holds until then; null when none. */
  readonly silencedUntil: number | null;
  /** Delivery health (SPEC §10); absent or never read: the column shows `–`. */
  readonly delivery?: DeliveryState;
  /** When `delete` deleted it at the gateway (it reads `deleted` until removed from the config). */
  readonly deletedAt?: number | null;
}

/** What the history says of a device: its uptimes and last changes. Absent: none known. */
export interface StatusDeviceHistory {
  /** Fraction of observed time connected over the last 24 h / 7 d (audit/compute.ts); null when nothing observed. */
  readonly uptime24h?: number | null;
  readonly uptime7d?: number | null;
  /** Its changes of the last 7 d, newest first, at most RECENT_CHANGES. */
  readonly recentChanges?: readonly StatusChangeView[];
}

export interface StatusAccountFacts {
  readonly name: string;
  /** False while `account.unreachable` holds. */
  readonly reachable: boolean;
  /** Why its checks fail (`unauthorized: … invalid Access-Token`); null when they do not. */
  readonly problem: string | null;
  /** Since when they fail; null when they do not. */
  readonly problemSince: number | null;
  /** A note to show even while reachable, e.g. that the budget stretches the interval. */
  readonly warning?: string | null;
}

/** What the daemon hands the HTTP server for `GET /` (HttpHandlers.statusPage). */
export interface StatusPageData {
  readonly now: number;
  /** Config `timezone`: times on the page are shown in it. */
  readonly timeZone: string;
  readonly version?: string;
  readonly accounts: readonly StatusAccountFacts[];
  /** Every configured device, in config order. */
  readonly devices: readonly (StatusDeviceFacts & StatusDeviceHistory)[];
}

export interface StatusChangeView {
  readonly at: number;
  readonly from: DeviceStatus | null;
  readonly to: HistoryStatus;
}

export interface StatusDeviceView extends StatusDeviceFacts {
  /** Fraction of observed time connected over the last 24 h / 7 d; null when nothing observed. */
  readonly uptime24h: number | null;
  readonly uptime7d: number | null;
  /** Newest first, at most RECENT_CHANGES. */
  readonly recentChanges: readonly StatusChangeView[];
  /** Whether the page links the re-link page for this device. */
  readonly relink: boolean;
}

export interface StatusPageView {
  readonly now: number;
  readonly timeZone: string;
  readonly version: string | null;
  readonly accounts: readonly StatusAccountFacts[];
  /** DOWN first, then by account and name. */
  readonly devices: readonly StatusDeviceView[];
  readonly counts: {
    readonly total: number;
    readonly down: number;
    readonly up: number;
    readonly unchecked: number;
  };
  readonly refreshSeconds: number;
}

export interface StatusViewOptions {
  /** The re-link page is served (basic auth set or a loopback listen address). */
  readonly relinkAvailable: boolean;
}

export function buildStatusView(data: StatusPageData, options: StatusViewOptions): StatusPageView {
  const { now } = data;
  const devices = data.devices.map((d): StatusDeviceView => ({
    ...d,
    uptime24h: d.uptime24h ?? null,
    uptime7d: d.uptime7d ?? null,
    recentChanges: (d.recentChanges ?? []).slice(0, RECENT_CHANGES),
    relink: options.relinkAvailable && d.status !== 'connected' && d.status !== null,
  }));
  const rank = (d: StatusDeviceView): number => (d.health === 'DOWN' ? 0 : d.status === null ? 1 : 2);
  // What localeCompare does, with one collator for the whole sort rather than a lookup per call.
  const { compare } = new Intl.Collator();
  devices.sort(
    (a, b) =>
      rank(a) - rank(b) ||
      compare(a.account, b.account) ||
      compare(a.name, b.name) ||
      compare(a.number, b.number),
  );
  const down = devices.filter((d) => d.health === 'DOWN').length;
  const unchecked = devices.filter((d) => d.status === null && d.health !== 'DOWN').length;
  return {
    now,
    timeZone: data.timeZone,
    version: data.version ?? null,
    accounts: data.accounts,
    devices,
    counts: { total: devices.length, down, up: devices.length - down - unchecked, unchecked },
    refreshSeconds: STATUS_PAGE_REFRESH_SECONDS,
  };
}

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

const CSS = `
.summary{display:flex;gap:8px;flex-wrap:wrap;margin:0 0 14px}
.chip{background:var(--card);border:1px solid var(--line);border-radius:999px;padding:3px 12px;font-size:14px}
.chip b{font-variant-numeric:tabular-nums}
.chip.down{border-color:var(--down);color:var(--down)}
table{width:100%;border-collapse:separate;border-spacing:0;background:var(--card);border:1px solid var(--line);border-radius:12px;overflow:hidden}
th,td{text-align:left;padding:10px 12px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600;background:var(--bg);white-space:nowrap}
time{white-space:nowrap}
td.state{min-width:170px}
td.device{min-width:200px}
tbody tr:last-child td{border-bottom:0}
tr.down td{background:var(--down-bg)}
tr.down td:first-child{box-shadow:inset 4px 0 0 var(--down)}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th.num{text-align:right}
.name{font-weight:600}
.status{font-weight:600}
.status.bad{color:var(--down)}
.status.good{color:var(--up)}
.changes{list-style:none;margin:0;padding:0;font-size:13px;color:var(--muted)}
.changes li{margin:0 0 2px;white-space:nowrap}
.err{color:var(--warn);font-size:13px;margin-top:2px;word-break:break-word}
.relink{display:inline-block;margin-top:6px;font-weight:600;font-size:13px;white-space:nowrap}
.lastknown{display:block;font-size:12px;color:var(--muted);margin-top:2px}
/* Between the phone cards and a wide screen the six columns share too little room: the last
   changes wrap (a time stays whole), the fixed minimum widths go and headers may wrap. Without
   this the table needed 1050 px and overflowed its box from 761 px up. The delivery column
   (seven columns) pushes the phone cards up to 880 px. */
@media (max-width:1100px){
 .changes li{white-space:normal}
 .changes li b{white-space:nowrap}
 td.state,td.device{min-width:0}
 th{white-space:normal}
 th,td{padding:8px 9px}
 .err,.muted.small{overflow-wrap:anywhere}
}
@media (max-width:880px){
 table,thead,tbody,tr,td{display:block;width:100%}
 table{border:0;background:none}
 thead{display:none}
 tr{background:var(--card);border:1px solid var(--line);border-radius:12px;margin:0 0 10px;overflow:hidden}
 tr.down{border-color:var(--down)}
 td{border:0;padding:6px 14px;display:flex;gap:12px;justify-content:space-between}
 td.num{text-align:left}
 td::before{content:attr(data-label);color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em;flex:0 0 7.5em;padding-top:2px}
 td.device{display:block;padding-top:12px}
 td.device::before{display:none}
 td>div{text-align:right}
 td.device>div{text-align:left}
 tr.down td:first-child{box-shadow:none}
 tr.down{box-shadow:inset 4px 0 0 var(--down)}
 .changes li{white-space:normal}
}
`;

function ago(now: number, at: number): string {
  return now - at < 1000 ? 'just now' : `${humanDuration(now - at)} ago`;
}

/** `<time>` with the local time as text and, as its title, with the zone's offset. One formatting for both. */
function timeElement(ms: number, view: StatusPageView, short: boolean): string {
  const iso = isoWithOffset(ms, view.timeZone);
  const local = `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
  // `11-24 19:17` for the changes listed: at most 7 days old, the year is clear from the page.
  return `<time datetime="${new Date(ms).toISOString()}" title="${e(`${local} (${iso.slice(19)})`)}">${e(
    short ? local.slice(5) : local,
  )}</time>`;
}

function time(ms: number, view: StatusPageView): string {
  return timeElement(ms, view, false);
}

function shortTime(ms: number, view: StatusPageView): string {
  return timeElement(ms, view, true);
}

/** Today's sent / pending / failed, and the delivery problem in words (SPEC §10). */
function deliveryCell(d: StatusDeviceFacts): string {
  if (d.delivery === undefined || d.delivery.last === null) return '<span class="muted">–</span>';
  const words = deliveryWords(d.delivery);
  const problem = words.problem === null ? '' : `<div class="err">${e(words.problem)}</div>`;
  return `<div class="small">${e(words.counts)}</div>${problem}`;
}

function deviceRow(d: StatusDeviceView, view: StatusPageView, blind: boolean): string {
  const deleted = d.deletedAt !== undefined && d.deletedAt !== null;
  const bad = deleted || (d.status !== null && d.status !== 'connected');
  const statusText = deleted ? 'deleted' : d.status === null ? 'not checked yet' : STATUS_WORDS[d.status];
  const hint = deleted
    ? 'deleted at the gateway with the delete command: remove it from the config'
    : d.status === null
      ? 'no valid answer from the gateway yet'
      : STATUS_HINTS[d.status];
  const raw =
    !deleted && d.status === 'unknown' && d.statusRaw !== null
      ? ` <span class="muted small">(“${e(d.statusRaw)}”)</span>`
      : '';
  const stateBadge = deleted
    ? '<span class="badge down">DOWN</span>'
    : d.status === null && d.health === 'UP'
      ? '<span class="badge muted">–</span>'
      : d.health === 'DOWN'
        ? '<span class="badge down">DOWN</span>'
        : '<span class="badge up">UP</span>';
  const silenced =
    d.silencedUntil !== null && d.silencedUntil > view.now
      ? `<div class="muted small">silenced until ${time(d.silencedUntil, view)}</div>`
      : '';
  const since =
    d.statusSince === null
      ? '<span class="muted">–</span>'
      : `<div>${e(humanDuration(view.now - d.statusSince))}<div class="muted small">since ${time(d.statusSince, view)}</div></div>`;
  const changes =
    d.recentChanges.length === 0
      ? '<span class="muted small">none in 7 d</span>'
      : `<ul class="changes">${d.recentChanges
          .map(
            (c) =>
              `<li>${shortTime(c.at, view)} ${e(statusWord(c.from))} → <b>${e(statusWord(c.to))}</b></li>`,
          )
          .join('')}</ul>`;
  const check = d.lastCheckAt === null ? 'never checked' : `checked ${e(ago(view.now, d.lastCheckAt))}`;
  const probe = d.probeError === null ? '' : `<div class="err">last check failed: ${e(d.probeError)}</div>`;
  const lastKnown = blind && d.status !== null ? '<span class="lastknown">(last known)</span>' : '';
  const relink = d.relink
    ? `<a class="relink" href="reconnect/${encodeURIComponent(d.number)}">Re-link (QR code) →</a>`
    : '';
  return `<tr class="${d.health === 'DOWN' ? 'down' : 'up'}" data-device="${e(d.number)}" data-state="${d.health}">
<td class="device"><div class="name">${e(d.name)}</div><div class="muted small"><code>${e(d.number)}</code> · ${e(d.account)} · ${check}</div>${probe}${silenced}</td>
<td class="state" data-label="Status"><div><span class="status ${bad ? 'bad' : d.status === 'connected' ? 'good' : ''}" title="${e(hint)}">${e(statusText)}</span>${raw} ${stateBadge}${lastKnown}${relink === '' ? '' : `<div>${relink}</div>`}</div></td>
<td data-label="Since">${since}</td>
<td class="delivery" data-label="Delivery today">${deliveryCell(d)}</td>
<td class="num" data-label="Uptime 24 h">${e(formatPercent(d.uptime24h))}</td>
<td class="num" data-label="Uptime 7 d">${e(formatPercent(d.uptime7d))}</td>
<td class="changes-cell" data-label="Last changes"><div>${changes}</div></td>
</tr>`;
}

function accountAlerts(view: StatusPageView): string {
  const out: string[] = [];
  for (const a of view.accounts) {
    if (!a.reachable || a.problem !== null) {
      const since = a.problemSince === null ? '' : ` since ${time(a.problemSince, view)}`;
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
  const c = view.counts;
  const blindAccounts = new Set(view.accounts.filter((a) => !a.reachable).map((a) => a.name));
  const title = c.down > 0 ? `${c.down} DOWN · WhatsGate devices` : 'WhatsGate devices';
  const rows =
    view.devices.length === 0
      ? '<tr><td colspan="7" class="muted">No devices configured.</td></tr>'
      : view.devices.map((d) => deviceRow(d, view, blindAccounts.has(d.account))).join('\n');
  const body = `<main>
<div class="top"><h1>WhatsGate devices</h1><span class="muted small">as of ${e(localTimeWithOffset(view.now, view.timeZone))} · ${autoRefreshControl(view.refreshSeconds)}</span></div>
${accountAlerts(view)}
<div class="summary">
<span class="chip${c.down > 0 ? ' down' : ''}" id="count-down"><b>${c.down}</b> DOWN</span>
<span class="chip" id="count-up"><b>${c.up}</b> UP</span>
${c.unchecked > 0 ? `<span class="chip"><b>${c.unchecked}</b> not checked yet</span>` : ''}
<span class="chip"><b>${c.total}</b> devices</span>
</div>
<table id="devices">
<thead><tr><th>Device</th><th>Status</th><th>Since</th><th>Delivery today</th><th class="num">Uptime 24 h</th><th class="num">Uptime 7 d</th><th>Last changes</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<footer>Times in ${e(view.timeZone)}. Uptime counts the time the monitor observed: time before a device was first seen or while the monitor was not running is left out, not counted as up. <a href="metrics">metrics</a> · <a href="api/v1/devices">JSON</a>${
    view.version === null ? '' : ` · whatsgate-monitor ${e(view.version)}`
  }</footer>
</main>`;
  return renderPage({ title, nonce, body, css: CSS + AUTO_REFRESH_CSS, script: AUTO_REFRESH_SCRIPT });
}
