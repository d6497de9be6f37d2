// A Slack incoming-webhook message: Block Kit `blocks` with a plain `text` fallback (what
// notifications and old clients show). Slack's limits: 50 blocks, 3000 characters of section
// text, 150 of header text. Pure.

import type { NotificationEvent, RenderContext } from '../../message.js';
import {
  cardsOf,
  clip,
  fitCount,
  headline,
  moreText,
  statusPage,
  zoneNote,
  type Card,
  type Severity,
} from '../../chat/cards.js';

export const SLACK_MAX_BLOCKS = 50;
export const SLACK_SECTION_TEXT = 3000;
export const SLACK_HEADER_TEXT = 150;
/**
 * Section text of all cards together. Slack takes more, but folds long messages behind "Show
 * more"; past this a grouped message lists the rest as "…and N more".
 */
export const SLACK_TEXT_BUDGET = 12_000;

export type SlackBlock =
  | { readonly type: 'header'; readonly text: { type: 'plain_text'; text: string; emoji: boolean } }
  | { readonly type: 'section'; readonly text: { type: 'mrkdwn'; text: string } }
  | { readonly type: 'context'; readonly elements: readonly { type: 'mrkdwn'; text: string }[] };

export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

const ICONS: Readonly<Record<Severity, string>> = {
  bad: ':red_circle:',
  warn: ':large_orange_circle:',
  good: ':large_green_circle:',
  info: ':information_source:',
};

/** mrkdwn's three control characters (Slack: "Escaping text"). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function link(href: string, text: string): string {
  return `<${escapeMrkdwn(href)}|${escapeMrkdwn(text)}>`;
}

export function cardMrkdwn(card: Card): string {
  const out = [`${ICONS[card.severity]} *${escapeMrkdwn(card.tag)}* — ${escapeMrkdwn(card.title)}`];
  for (const line of card.lines) {
    const value =
      line.href !== undefined
        ? link(line.href, line.text)
        : line.code === true
          ? `\`${escapeMrkdwn(line.text)}\``
          : escapeMrkdwn(line.text);
    out.push(line.label === '' ? value : `*${escapeMrkdwn(line.label)}:* ${value}`);
  }
  return clip(out.join('\n'), SLACK_SECTION_TEXT);
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

export function slackMessage(events: readonly NotificationEvent[], ctx: RenderContext): SlackMessage {
  const title = headline(events);
  const cards = cardsOf(events, ctx).map(cardMrkdwn);
  const page = statusPage(ctx);
  const more = (hidden: number): string => moreText(hidden, ctx, link);
  // Header and footer take two of the 50 blocks.
  const shown = fitCount(
    cards.map((c) => c.length),
    { budget: SLACK_TEXT_BUDGET, maxCount: SLACK_MAX_BLOCKS - 2, moreCost: more(cards.length).length },
  );
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(title, SLACK_HEADER_TEXT), emoji: true } },
    ...cards.slice(0, shown).map(section),
  ];
  if (shown < cards.length) blocks.push(section(more(cards.length - shown)));
  const footer = escapeMrkdwn(zoneNote(ctx)) + (page === null ? '' : ` ${link(page, 'Status page')}`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: footer }] });
  return { text: clip(title, SLACK_SECTION_TEXT), blocks };
}
