// The re-link page (`GET /reconnect/{device}`, SPEC §3 "Reconnect"): shows a fresh QR code,
// replaces it before it expires, and says "connected" as soon as the device is back. A small
// inline script polls two JSON endpoints beside the page:
//   {device}/qr      one QR code (a gateway call, through the account's budget; cached briefly)
//   {device}/status  the daemon's view of the device (no gateway call; `watch=1` asks the daemon
//                    to re-check the device soon, throttled by the server)
// Budget: at most `maxQrFetches` QR codes per page visit, none while the tab is hidden; then the
// page asks to be reloaded.

import type { DeviceStatus } from '../monitor/model.js';
import { escapeHtml as e, scriptJson } from '../report/html.js';
import { renderPage } from './layout.js';

export interface RelinkPageView {
  readonly account: string;
  readonly number: string;
  readonly name: string;
  readonly status: DeviceStatus | null;
  /** QR codes this page may fetch before it asks for a reload. */
  readonly maxQrFetches: number;
  /** Age at which a QR code is replaced (it lives about 60 s). */
  readonly refreshAfterMs: number;
  /** How often the page asks for the device's status. */
  readonly pollMs: number;
}

export const RELINK_DEFAULTS = {
  maxQrFetches: 8,
  refreshAfterMs: 45_000,
  pollMs: 3_000,
} as const;

const CSS = `
main{max-width:560px;text-align:center}
.card{background:var(--card);border:1px solid var(--line);border-radius:16px;padding:20px 18px 22px;margin-top:14px}
h1{margin-bottom:2px}
.qrbox{margin:16px auto 8px;width:min(78vw,360px);aspect-ratio:1;display:flex;align-items:center;justify-content:center;background:#fff;border-radius:12px;border:1px solid var(--line);overflow:hidden}
.qrbox img{width:100%;height:100%;image-rendering:pixelated;display:block}
.qrbox [hidden]{display:none}
.qrbox .placeholder{color:#667085;font-size:14px;padding:20px}
[data-state=connected] .qrbox,[data-state=not_found] .qrbox,[data-state=paused] .qrbox{display:none}
#headline{font-size:20px;font-weight:700;margin:6px 0 4px}
[data-state=connected] #headline{color:var(--up)}
[data-state=error] #headline,[data-state=not_found] #headline{color:var(--down)}
#detail{margin:0 0 6px}
#countdown{font-variant-numeric:tabular-nums}
.steps{text-align:left;margin:14px auto 0;max-width:420px;padding-left:22px}
.steps li{margin:3px 0}
[data-state=connected] .steps{display:none}
button{font:inherit;font-weight:600;padding:8px 18px;border-radius:8px;border:1px solid var(--line);background:var(--code);color:var(--fg);cursor:pointer;margin-top:8px}
button[hidden]{display:none}
.back{display:inline-block;margin-top:16px}
.nojs{text-align:left;margin:6px auto 0;max-width:420px}
.nojs code{overflow-wrap:anywhere}
`;

const SCRIPT = `
(function () {
  var cfg = JSON.parse(document.getElementById('relink-config').textContent);
  var root = document.getElementById('relink');
  var img = document.getElementById('qr');
  var placeholder = document.getElementById('qr-placeholder');
  var headline = document.getElementById('headline');
  var detail = document.getElementById('detail');
  var countdown = document.getElementById('countdown');
  var lastStatus = document.getElementById('last-status');
  var reload = document.getElementById('reload');
  var fetches = 0, shownAt = null, refreshAt = null, done = false, pendingRefresh = false;
  var qrTimer = null, pollTimer = null, tickTimer = null;

  function show(state, title, text) {
    root.setAttribute('data-state', state);
    headline.textContent = title;
    detail.textContent = text;
  }
  function clearTimers() {
    if (qrTimer) clearTimeout(qrTimer);
    if (pollTimer) clearTimeout(pollTimer);
    if (tickTimer) clearInterval(tickTimer);
    qrTimer = pollTimer = tickTimer = null;
  }
  function finish(state, title, text) {
    done = true;
    clearTimers();
    countdown.textContent = '';
    show(state, title, text);
  }
  function connected() {
    img.removeAttribute('src');
    // The line above the card says what the page knows now, not what it knew when it loaded.
    lastStatus.textContent = 'connected';
    finish('connected', 'Connected', cfg.name + ' is connected. You can close this page.');
  }
  function tick() {
    if (refreshAt === null) { countdown.textContent = ''; return; }
    var s = Math.max(0, Math.round((refreshAt - Date.now()) / 1000));
    countdown.textContent = 'A new code follows in ' + s + ' s (' + fetches + ' of ' + cfg.maxQrFetches + ').';
  }
  function scheduleQr(ms) {
    if (qrTimer) clearTimeout(qrTimer);
    refreshAt = Date.now() + ms;
    qrTimer = setTimeout(function () {
      qrTimer = null;
      if (document.hidden) { pendingRefresh = true; return; }
      getQr();
    }, ms);
  }
  function getJson(url) {
    return fetch(url, { cache: 'no-store', credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) {
        return res.json().catch(function () { return { status: 'error', message: 'HTTP ' + res.status }; });
      });
  }
  function getQr() {
    if (done) return;
    if (fetches >= cfg.maxQrFetches) {
      img.removeAttribute('src');
      reload.hidden = false;
      finish('paused', 'Paused', 'No new QR codes, to spare the account\\'s API budget. Reload the page for more.');
      return;
    }
    fetches++;
    getJson(cfg.qrUrl).then(function (r) {
      if (done) return;
      if (r.status === 'qr') {
        img.src = r.dataUrl;
        img.hidden = false;
        placeholder.hidden = true;
        shownAt = r.fetched_at;
        show('qr', 'Scan this code', 'WhatsApp on the phone of ' + cfg.name + ': Settings → Linked devices → Link a device.');
        scheduleQr(r.refresh_in_ms);
        if (!pollTimer) poll();
      } else if (r.status === 'connected') {
        connected();
      } else if (r.status === 'not_found') {
        lastStatus.textContent = 'not found';
        finish('not_found', 'Unknown to the gateway', (r.message || 'device not found!') + ' — check the number in the config.');
      } else {
        show('error', 'No QR code', (r.message || 'the monitor could not get one') + ' — trying again shortly.');
        scheduleQr(r.retry_in_ms || 10000);
      }
    }, function (err) {
      if (done) return;
      show('error', 'No QR code', 'The monitor did not answer (' + err + ') — trying again shortly.');
      scheduleQr(10000);
    });
  }
  function poll() {
    pollTimer = setTimeout(function () {
      if (done) return;
      getJson(cfg.statusUrl + (shownAt !== null && !document.hidden ? '?watch=1' : '')).then(function (s) {
        if (done) return;
        // Only a check made after the code was shown counts: an older "connected" may be stale.
        if (s.connected === true && shownAt !== null && s.last_check !== null && s.last_check >= shownAt) connected();
        else poll();
      }, function () { if (!done) poll(); });
    }, cfg.pollMs);
  }
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && pendingRefresh && !done) { pendingRefresh = false; getQr(); }
  });
  reload.addEventListener('click', function () { location.reload(); });
  tickTimer = setInterval(tick, 1000);
  getQr();
})();
`;

export function renderRelinkPage(view: RelinkPageView, nonce: string): string {
  const number = encodeURIComponent(view.number);
  const config = {
    name: view.name,
    qrUrl: `${number}/qr`,
    statusUrl: `${number}/status`,
    maxQrFetches: view.maxQrFetches,
    pollMs: view.pollMs,
  };
  const body = `<main id="relink" data-state="loading">
<h1>Re-link ${e(view.name)}</h1>
<div class="muted small"><code>${e(view.number)}</code> · account ${e(view.account)} · last status: <span id="last-status">${e(
    view.status === null ? 'not checked yet' : view.status.replace(/_/g, ' '),
  )}</span></div>
<div class="card">
<div id="headline">Fetching a QR code…</div>
<p id="detail" class="muted">Asking the gateway for a fresh code.</p>
<div class="qrbox"><img id="qr" alt="QR code to link ${e(view.name)}" hidden><span id="qr-placeholder" class="placeholder">QR code loading…</span></div>
<div id="countdown" class="muted small" aria-live="polite"></div>
<button id="reload" type="button" hidden>Reload for a new code</button>
<noscript><style nonce="${e(nonce)}">#headline,#detail,.qrbox,#countdown{display:none}</style>
<div class="nojs"><p><strong>This page needs JavaScript to fetch live QR codes</strong> (a code lives about 60 s, so
the page fetches and replaces them as you go).</p>
<p>Without JavaScript, run this on the monitor's host: it writes a fresh code as a PNG file.<br>
<code>whatsgate-monitor connect ${e(view.number)}</code></p></div></noscript>
<ol class="steps small">
<li>Open WhatsApp on the phone of ${e(view.name)}.</li>
<li>Settings → Linked devices → Link a device.</li>
<li>Point the camera at the code. A code lives about 60 s; this page replaces it before then.</li>
</ol>
</div>
<a class="back" href="../">← all devices</a>
</main>
<script type="application/json" id="relink-config">${scriptJson(config)}</script>`;
  return renderPage({ title: `Re-link ${view.name} · WhatsGate`, nonce, body, css: CSS, script: SCRIPT });
}

/** 404 page when re-linking is not allowed on this listen address (SPEC §6). */
export function renderRelinkUnavailable(nonce: string): string {
  const body = `<main>
<h1>Re-link page not available</h1>
<p>This page shows QR codes that link a WhatsApp account to the gateway, so it is served only when
<code>web.basic_auth</code> is set in the config or <code>listen</code> is a loopback address
(127.0.0.1, ::1, localhost).</p>
<p>Set <code>web.basic_auth</code> (a user and a bcrypt hash from <code>htpasswd -nBC 10 USER</code>),
or fetch a code on the monitor's host with <code>whatsgate-monitor connect NUMBER</code>.</p>
<p><a href="../">← all devices</a></p>
</main>`;
  return renderPage({ title: 'Re-link page not available · WhatsGate', nonce, body });
}

/** 404 page for a number that is not configured. */
export function renderRelinkUnknownDevice(device: string, nonce: string): string {
  const body = `<main>
<h1>Unknown device</h1>
<p>No configured device has the number <code>${e(device)}</code>.</p>
<p><a href="../">← all devices</a></p>
</main>`;
  return renderPage({ title: 'Unknown device · WhatsGate', nonce, body });
}
