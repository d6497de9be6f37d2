// The frame shared by the pages: one HTML document, inline CSS only (SPEC §6: no build step, no
// external assets), readable on a phone, light and dark.

import { escapeHtml } from '../report/html.js';

export interface PageOptions {
  readonly title: string;
  /** CSP nonce for the page's <style> and <script>. */
  readonly nonce: string;
  readonly body: string;
  /** Inline script, run with the nonce. */
  readonly script?: string;
  /** Page-specific CSS appended to the shared sheet. */
  readonly css?: string;
}

export const BASE_CSS = `
:root{--bg:#f6f7f9;--card:#fff;--fg:#1d2939;--muted:#667085;--line:#e4e7ec;--down:#b42318;--down-bg:#fef3f2;
--up:#067647;--up-bg:#ecfdf3;--warn:#b54708;--warn-bg:#fffaeb;--link:#175cd3;--code:#f2f4f7}
@media (prefers-color-scheme:dark){:root{--bg:#0f1419;--card:#182029;--fg:#e6e9ee;--muted:#98a2b3;--line:#2b3642;
--down:#fda29b;--down-bg:#3b1716;--up:#75e0a7;--up-bg:#0f2e21;--warn:#fec84b;--warn-bg:#3a2a0a;--link:#84adff;--code:#243040}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:20px 16px 40px}
h1{font-size:22px;margin:0}
a{color:var(--link)}
code{font:13px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code);padding:1px 5px;border-radius:4px}
.muted{color:var(--muted)}
.small{font-size:13px}
.top{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;gap:6px 16px;margin-bottom:14px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:700;letter-spacing:.03em;white-space:nowrap}
.badge.down{background:var(--down);color:var(--card)}
.badge.up{background:var(--up-bg);color:var(--up);border:1px solid currentColor}
.badge.muted{background:var(--code);color:var(--muted)}
.alert{border-radius:10px;padding:10px 14px;margin:0 0 12px;border:1px solid;overflow-wrap:anywhere}
.alert.bad{background:var(--down-bg);border-color:var(--down);color:var(--fg)}
.alert.warn{background:var(--warn-bg);border-color:var(--warn);color:var(--fg)}
.alert strong{color:inherit}
footer{margin-top:18px;font-size:12px;color:var(--muted)}
`;

export function renderPage(options: PageOptions): string {
  const { head, foot } = pageFrame(options);
  return `${head}${options.body}${foot}`;
}

/** The document around a body, for a page that writes its body in parts (the status page). */
export function pageFrame(options: Omit<PageOptions, 'body'>): { head: string; foot: string } {
  const nonce = escapeHtml(options.nonce);
  const script = options.script === undefined ? '' : `<script nonce="${nonce}">${options.script}</script>\n`;
  return {
    head: `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(options.title)}</title>
<style nonce="${nonce}">${BASE_CSS}${options.css ?? ''}</style>
</head>
<body>
`,
    foot: `
${script}</body>
</html>
`,
  };
}

/** The Content-Security-Policy that goes with a page rendered with `nonce`. */
export function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    'img-src data:',
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
