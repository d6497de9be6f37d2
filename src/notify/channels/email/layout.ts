// The email's two layouts of the same blocks: plain text (aligned labels) and HTML (a coloured
// bar per block, inline styles only, as mail clients need). Pure.

export interface InlineImage {
  /** Referenced from the HTML as `cid:…`. */
  readonly cid: string;
  readonly filename: string;
  readonly contentType: string;
  readonly base64: string;
}

export interface Line {
  readonly text: string;
  readonly href?: string;
  /** A command to type: monospace in HTML. */
  readonly code?: boolean;
  /** Said after the line in parentheses, e.g. where to run a command. */
  readonly note?: string;
}

export interface Row {
  readonly label: string;
  readonly lines: readonly Line[];
}

export interface Block {
  readonly tag: string;
  readonly severity: 'bad' | 'warn' | 'good' | 'info';
  readonly title: string;
  readonly rows: readonly Row[];
  readonly image: InlineImage | null;
}

export const plain = (text: string): Line => ({ text });

const LABEL_WIDTH = 12;

/** `intro`: paragraphs between the headline and the blocks (a grouped message's outage line). */
export function renderText(
  headline: string,
  blocks: readonly Block[],
  footer: readonly Line[],
  intro: readonly string[] = [],
): string {
  const out: string[] = [headline, ''];
  for (const p of intro) out.push(p, '');
  for (const b of blocks) {
    out.push(`${b.tag} — ${b.title}`);
    for (const row of b.rows) {
      row.lines.forEach((line, i) => {
        const label = i === 0 ? `${row.label}:` : '';
        out.push(
          `  ${label.padEnd(LABEL_WIDTH)} ${line.text}${line.note === undefined ? '' : ` (${line.note})`}`,
        );
      });
    }
    out.push('');
  }
  out.push('-- ');
  for (const line of footer) out.push(line.text);
  return out.join('\n') + '\n';
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const COLOURS: Readonly<Record<Block['severity'], string>> = {
  bad: '#b91c1c',
  warn: '#b45309',
  good: '#15803d',
  info: '#1d4ed8',
};

// A long URL or command has no break opportunity: on a 360 px phone it widened the whole mail
// (460 px). Links may break anywhere; commands at any character too, but only when they must.
const LINK_STYLE = 'word-break: break-all; overflow-wrap: anywhere;';
const CODE_STYLE = 'overflow-wrap: anywhere; word-break: break-word;';

function htmlLine(line: Line): string {
  const text = escapeHtml(line.text);
  const note = line.note === undefined ? '' : ` (${escapeHtml(line.note)})`;
  if (line.href !== undefined)
    return `<a href="${escapeHtml(line.href)}" style="${LINK_STYLE}">${text}</a>${note}`;
  if (line.code === true) return `<code style="${CODE_STYLE}">${text}</code>${note}`;
  return `${text}${note}`;
}

export function renderHtml(
  headline: string,
  blocks: readonly Block[],
  footer: readonly Line[],
  intro: readonly string[] = [],
): string {
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>',
    '<body style="font-family: -apple-system, Segoe UI, Roboto, sans-serif; font-size: 15px; color: #111;">',
    `<p style="font-size: 17px; font-weight: bold;">${escapeHtml(headline)}</p>`,
    ...intro.map((p) => `<p>${escapeHtml(p)}</p>`),
  ];
  for (const b of blocks) {
    const colour = COLOURS[b.severity];
    parts.push(
      `<div style="border-left: 4px solid ${colour}; padding: 4px 12px; margin: 16px 0;">`,
      `<p style="margin: 4px 0 8px;"><strong style="color: ${colour};">${escapeHtml(b.tag)}</strong> — ${escapeHtml(b.title)}</p>`,
      '<table role="presentation" style="border-collapse: collapse; width: 100%;">',
    );
    for (const row of b.rows) {
      parts.push(
        '<tr>',
        `<td style="vertical-align: top; padding: 2px 12px 2px 0; color: #555; white-space: nowrap;">${escapeHtml(row.label)}</td>`,
        `<td style="vertical-align: top; padding: 2px 0; ${CODE_STYLE}">${row.lines.map(htmlLine).join('<br>')}</td>`,
        '</tr>',
      );
    }
    parts.push('</table>');
    if (b.image !== null) {
      parts.push(
        `<p><img src="cid:${escapeHtml(b.image.cid)}" alt="QR code to link the device" width="264" height="264" style="max-width: 100%; height: auto;"></p>`,
      );
    }
    parts.push('</div>');
  }
  parts.push(
    `<p style="color: #555; font-size: 13px;">${footer.map(htmlLine).join('<br>')}</p>`,
    '</body></html>',
  );
  return parts.join('\n') + '\n';
}
