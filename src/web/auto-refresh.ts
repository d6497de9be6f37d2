// The status page's refresh: a reload every N seconds with a visible pause control. It replaced
// `<meta http-equiv="refresh">`, which axe reports as critical (WCAG 2.2.1 Timing Adjustable: a
// page that reloads on its own must let the reader stop it — a screen reader user loses their
// place at every reload). Without JavaScript the page does not reload; a "refresh" link stands in.
//
// Pausing holds across reloads of the tab (sessionStorage), so a reader who paused to read or
// copy a number is not surprised by the next visit's reload; the pause ends with the tab.

export const AUTO_REFRESH_CSS = `
.refresh{display:inline-flex;align-items:center;gap:8px;flex-wrap:wrap}
.refresh button{font:inherit;font-size:13px;padding:2px 10px;border-radius:999px;border:1px solid var(--line);background:var(--card);color:var(--fg);cursor:pointer}
.refresh button[aria-pressed=true]{background:var(--warn-bg);border-color:var(--warn)}
.refresh button:focus-visible{outline:2px solid var(--link);outline-offset:2px}
.refresh button[hidden]{display:none}
`;

/** The control in the page's header: a note, the pause button (shown by the script), the no-JS link. */
export function autoRefreshControl(seconds: number): string {
  return `<span class="refresh muted small"><span id="refresh-note" data-seconds="${seconds}">not refreshing by itself</span>
<button type="button" id="refresh-pause" aria-pressed="false" hidden>Pause auto-refresh</button>
<noscript><a href="./">refresh</a></noscript></span>`;
}

/** Runs with the page's CSP nonce; reads the interval from the note's data-seconds. */
export const AUTO_REFRESH_SCRIPT = `
(function () {
  var KEY = 'whatsgate-monitor.refresh-paused';
  var note = document.getElementById('refresh-note');
  var button = document.getElementById('refresh-pause');
  var seconds = Number(note.getAttribute('data-seconds'));
  var timer = null;
  function paused() {
    try { return sessionStorage.getItem(KEY) === '1'; } catch (e) { return false; }
  }
  function remember(value) {
    try { if (value) sessionStorage.setItem(KEY, '1'); else sessionStorage.removeItem(KEY); } catch (e) {}
  }
  function render() {
    var p = paused();
    button.setAttribute('aria-pressed', p ? 'true' : 'false');
    note.textContent = p ? 'auto-refresh paused' : 'refreshes every ' + seconds + ' s';
  }
  function schedule() {
    if (timer !== null) clearTimeout(timer);
    timer = paused() ? null : setTimeout(function () { location.reload(); }, seconds * 1000);
  }
  button.addEventListener('click', function () {
    remember(!paused());
    render();
    schedule();
  });
  button.hidden = false;
  render();
  schedule();
})();
`;
