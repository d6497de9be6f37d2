// A Teams Workflows message: `{"type":"message","attachments":[{Adaptive Card}]}`, the shape
// the "Post to a channel when a webhook request is received" flow posts as it is. One
// Container per event, coloured by severity. Teams refuses payloads over about 28 KB; a
// grouped message is cut well below that. Pure.

import type { NotificationEvent, RenderContext } from '../../message.js';
import {
  cardsOf,
  fitCount,
  headline,
  moreText,
  statusPage,
  zoneNote,
  type Card,
  type Severity,
} from '../../chat/cards.js';

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
export const ADAPTIVE_CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';
/** 1.4: what Teams renders on desktop, web and mobile alike. */
export const ADAPTIVE_CARD_VERSION = '1.4';
/** Bytes of JSON for the event containers: the payload as a whole stays well under 28 KB. */
export const TEAMS_BODY_BUDGET = 22_000;

type Element = Readonly<Record<string, unknown>>;

export interface TeamsMessage {
  readonly type: 'message';
  readonly attachments: readonly [
    {
      readonly contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE;
      readonly contentUrl: null;
      readonly content: {
        readonly $schema: string;
        readonly type: 'AdaptiveCard';
        readonly version: string;
        readonly msteams: { readonly width: 'Full' };
        readonly body: readonly Element[];
        readonly actions?: readonly Element[];
      };
    },
  ];
}

const STYLE: Readonly<Record<Severity, string>> = {
  bad: 'attention',
  warn: 'warning',
  good: 'good',
  info: 'emphasis',
};
const COLOR: Readonly<Record<Severity, string>> = {
  bad: 'Attention',
  warn: 'Warning',
  good: 'Good',
  info: 'Default',
};

function textBlock(text: string, extra: Element = {}): Element {
  return { type: 'TextBlock', text, wrap: true, ...extra };
}

/** Labelled lines as a FactSet; links (and what follows them) as TextBlocks, where markdown links work. */
export function cardContainer(card: Card): Element {
  const items: Element[] = [
    textBlock(`**${card.tag}** — ${card.title}`, { weight: 'Bolder', color: COLOR[card.severity] }),
  ];
  let facts: { title: string; value: string }[] = [];
  const flush = (): void => {
    if (facts.length > 0) items.push({ type: 'FactSet', facts });
    facts = [];
  };
  for (const line of card.lines) {
    if (line.href !== undefined) {
      flush();
      const label = line.label === '' ? '' : `${line.label}: `;
      items.push(textBlock(`${label}[${line.text}](${line.href})`, { spacing: 'None' }));
    } else if (line.label === '' && facts.length > 0) {
      const last = facts[facts.length - 1]!;
      facts[facts.length - 1] = { title: last.title, value: `${last.value}\n${line.text}` };
    } else {
      facts.push({ title: line.label, value: line.text });
    }
  }
  flush();
  return { type: 'Container', style: STYLE[card.severity], separator: true, spacing: 'Medium', items };
}

export function teamsMessage(events: readonly NotificationEvent[], ctx: RenderContext): TeamsMessage {
  const containers = cardsOf(events, ctx).map(cardContainer);
  const more = (hidden: number): Element =>
    textBlock(
      moreText(hidden, ctx, (href, text) => `[${text}](${href})`),
      { isSubtle: true },
    );
  const shown = fitCount(
    containers.map((c) => Buffer.byteLength(JSON.stringify(c))),
    {
      budget: TEAMS_BODY_BUDGET,
      maxCount: Number.MAX_SAFE_INTEGER,
      moreCost: Buffer.byteLength(JSON.stringify(more(containers.length))),
    },
  );
  const body: Element[] = [
    textBlock(headline(events), { size: 'Medium', weight: 'Bolder' }),
    ...containers.slice(0, shown),
  ];
  if (shown < containers.length) body.push(more(containers.length - shown));
  body.push(textBlock(zoneNote(ctx), { isSubtle: true, size: 'Small' }));
  const page = statusPage(ctx);
  const actions = page === null ? [] : [{ type: 'Action.OpenUrl', title: 'Status page', url: page }];
  return {
    type: 'message',
    attachments: [
      {
        contentType: ADAPTIVE_CARD_CONTENT_TYPE,
        contentUrl: null,
        content: {
          $schema: ADAPTIVE_CARD_SCHEMA,
          type: 'AdaptiveCard',
          version: ADAPTIVE_CARD_VERSION,
          msteams: { width: 'Full' },
          body,
          ...(actions.length === 0 ? {} : { actions }),
        },
      },
    ],
  };
}
