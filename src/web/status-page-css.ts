// The status page's style sheet (status-page.ts): a table on a wide screen, one card per device on
// a phone. Cells are styled by column (nth-child), not by a class on each: the page has 10,000
// rows, and the phone cards' labels come from here (COLUMNS), not from an attribute per cell.

/** The table's columns, in order: its header, and the label of a phone card's line. */
export const COLUMNS: readonly { readonly label: string; readonly num?: true }[] = [
  { label: 'Device' },
  { label: 'Status' },
  { label: 'Since' },
  { label: 'Delivery today' },
  { label: 'Uptime 24 h', num: true },
  { label: 'Uptime 7 d', num: true },
  { label: 'Last changes' },
];

// The first column heads the card: no label.
const CARD_LABELS = COLUMNS.slice(1)
  .map((c, i) => ` td:nth-child(${i + 2})::before{content:"${c.label}"}\n`)
  .join('');

export const CSS = `
.summary{display:flex;gap:8px;flex-wrap:wrap;margin:0 0 14px}
.chip{background:var(--card);border:1px solid var(--line);border-radius:999px;padding:3px 12px;font-size:14px}
.chip b{font-variant-numeric:tabular-nums}
.chip.down{border-color:var(--down);color:var(--down)}
table{width:100%;border-collapse:separate;border-spacing:0;background:var(--card);border:1px solid var(--line);border-radius:12px;overflow:hidden}
th,td{text-align:left;padding:10px 12px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600;background:var(--bg);white-space:nowrap}
time{white-space:nowrap}
td:nth-child(2){min-width:170px}
td:first-child{min-width:200px}
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
 td:nth-child(2),td:first-child{min-width:0}
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
 td::before{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em;flex:0 0 7.5em;padding-top:2px}
${CARD_LABELS} td:first-child{display:block;padding-top:12px}
 td>div,td>ul{text-align:right}
 td:first-child>div{text-align:left}
 tr.down td:first-child{box-shadow:none}
 tr.down{box-shadow:inset 4px 0 0 var(--down)}
 .changes li{white-space:normal}
}
`;
