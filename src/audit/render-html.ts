// The audit report's HTML part, for email. Mail clients keep inline styles and some of them drop
// <style>, so the layout works at two levels:
// - inline styles alone: five columns whose cells wrap (device, status, uptime, observed,
//   outages — the nine facts of the text table folded into them), narrow enough for a phone;
// - where <style> survives (Apple Mail, Gmail apps, Outlook apps), a media query below 480 px
//   stacks each device into a card with the column names as labels.
// Measured in chromium at 360 px (test/email-layout.test.ts): the nine-column table was 885 px.
// A device number is never followed by a bare word (`4915112345678 · main`, `…connect 49… (on …)`):
// SpamAssassin's HEXHASH_WORD reads a long digit run between two words as a spammer's hash.

import { formatPercent, humanDuration } from '../report/format.js';
import { escapeHtml as e } from '../report/html.js';
import { runAtOnce, type Steps } from '../report/steps.js';
import { joinSteps } from '../report/table.js';
import type { AuditReport, DeviceAudit } from './compute.js';
import { deliveryTodayCell, stalledCell } from './delivery.js';
import {
  auditFindings,
  auditSubject,
  coverageNote,
  DELIVERY_NOTE,
  longestCell,
  outagesCell,
  periodLine,
  statusCell,
  summaryLine,
} from './render.js';

const CELL =
  'padding:6px 8px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top;overflow-wrap:anywhere';
const NUM = `${CELL};text-align:right;font-variant-numeric:tabular-nums`;
const HEAD = 'background:#f9fafb;font-weight:600;font-size:12px';

const STACKED = `@media only screen and (max-width:480px){
table.audit,table.audit tbody,table.audit tr,table.audit td{display:block!important;width:auto!important}
table.audit thead{display:none!important}
table.audit tr{border:1px solid #e3e6ea;border-radius:8px;margin:0 0 10px;padding:4px 0}
table.audit td{border:0!important;text-align:left!important;padding:3px 10px!important}
table.audit td[data-label]::before{content:attr(data-label) ": ";color:#667085;font-size:12px}
}`;

interface Column {
  readonly head: string;
  readonly numeric: boolean;
  readonly cell: (d: DeviceAudit) => string;
}

const COLUMNS: readonly Column[] = [
  {
    head: 'Device',
    numeric: false,
    cell: (d) =>
      `<strong>${e(d.name)}</strong><br><code style="font-size:12px">${e(d.number)}</code> · ${e(d.account)}`,
  },
  {
    head: 'Status',
    numeric: false,
    cell: (d) =>
      `<span style="color:${d.status === 'connected' ? '#067647' : '#b42318'};font-weight:600">${e(statusCell(d))}</span>`,
  },
  { head: 'Uptime', numeric: true, cell: (d) => e(formatPercent(d.uptime)) },
  { head: 'Observed', numeric: true, cell: (d) => e(formatPercent(d.coverage)) },
  {
    head: 'Outages',
    numeric: true,
    cell: (d) =>
      d.outages.length === 0
        ? '0'
        : `${e(outagesCell(d))}<br><span style="color:#475467;font-size:12px">${e(
            humanDuration(d.outageMs),
          )} in all, longest ${e(longestCell(d.longestOutage))}</span>`,
  },
  { head: 'Delivery today', numeric: true, cell: (d) => e(deliveryTodayCell(d.delivery)) },
  { head: 'Stalled h', numeric: true, cell: (d) => e(stalledCell(d.delivery)) },
];

function row(d: DeviceAudit): string {
  const cells = COLUMNS.map((c, i) => {
    // The first cell is the card's title when stacked: no label before it.
    const label = i === 0 ? '' : ` data-label="${c.head}"`;
    return `<td${label} style="${c.numeric ? NUM : CELL}">${c.cell(d)}</td>`;
  });
  return `<tr>${cells.join('')}</tr>`;
}

function attention(report: AuditReport, timeZone: string): string {
  const findings = auditFindings(report, timeZone);
  if (findings.length === 0) return '';
  const items = findings.map(
    (f) =>
      `<li style="margin:0 0 8px"><strong>${e(f.name)}</strong> (${e(f.number)}, account ${e(f.account)}): ${e(f.text)}` +
      (f.command === null
        ? ''
        : `<br><code style="background:#f2f4f7;padding:2px 6px;border-radius:4px;overflow-wrap:anywhere">${e(f.command)}</code> (on the monitor’s host)`) +
      '</li>',
  );
  return `<h2 style="font-size:16px;margin:24px 0 8px">Needs attention</h2>\n<ul style="padding-left:20px;margin:0">\n${items.join('\n')}\n</ul>`;
}

/** A standalone HTML document: inline styles, plus one media query for narrow screens. */
export function renderAuditHtml(report: AuditReport, timeZone: string): string {
  return runAtOnce(auditHtmlSteps(report, timeZone));
}

/** renderAuditHtml, yielding after each device's row (report/steps.ts): the daemon renders it in slices. */
export function* auditHtmlSteps(report: AuditReport, timeZone: string): Steps<string> {
  const rows: string[] = [];
  for (const d of report.devices) {
    rows.push(row(d));
    yield;
  }
  const body = yield* joinSteps(rows, '\n');
  const head = COLUMNS.map((c) => `<th style="${c.numeric ? NUM : CELL};${HEAD}">${c.head}</th>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${e(auditSubject(report))}</title>
<style>${STACKED}</style></head>
<body style="margin:0;padding:16px;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2939;background:#ffffff">
<h1 style="font-size:20px;margin:0 0 4px">WhatsGate device audit</h1>
<p style="margin:0 0 4px;color:#475467">${e(periodLine(report, timeZone))}</p>
<p style="margin:0 0 16px">${e(summaryLine(report))}</p>
<table class="audit" role="table" style="border-collapse:collapse;font-size:14px;width:100%">
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody></table>
${attention(report, timeZone)}
<p style="margin:24px 0 0;color:#667085;font-size:12px">${e(coverageNote(report))}</p>
<p style="margin:8px 0 0;color:#667085;font-size:12px">${e(DELIVERY_NOTE)}</p>
</body></html>
`;
}
