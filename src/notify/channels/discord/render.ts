// A Discord webhook message: a `content` line and one embed per event, coloured by severity,
// mentions switched off (`allowed_mentions: {parse: []}`: a device named "@everyone" pings no
// one). Discord's limits: 2000 characters of content, 10 embeds, a title of 256, a description
// of 4096, 6000 characters over all embeds. Pure.

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

export const DISCORD_MAX_EMBEDS = 10;
export const DISCORD_CONTENT = 2000;
export const DISCORD_TITLE = 256;
export const DISCORD_DESCRIPTION = 4096;
export const DISCORD_EMBEDS_TOTAL = 6000;

/** Red for down/unreachable, amber for reminders, flapping and delivery problems, green for recoveries, grey for tests and reports. */
export const DISCORD_COLOURS: Readonly<Record<Severity, number>> = {
  bad: 0xd83c3e,
  warn: 0xf0b232,
  good: 0x23a55a,
  info: 0x99aab5,
};

export interface DiscordEmbed {
  readonly title?: string;
  readonly description: string;
  readonly color: number;
  readonly timestamp?: string;
}

export interface DiscordMessage {
  readonly content: string;
  readonly embeds: readonly DiscordEmbed[];
  readonly allowed_mentions: { readonly parse: readonly never[] };
}

/** Markdown characters in names and labels would format; backticks stay (describe.ts quotes commands with them). */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\*_~|[\]])/g, '\\$1');
}

/** `<url>`: a link without Discord's preview card. */
function bare(url: string): string {
  return `<${url}>`;
}

export function cardEmbed(card: Card): DiscordEmbed {
  const lines = card.lines.map((line) => {
    const value =
      line.href !== undefined
        ? `[${escapeMarkdown(line.text)}](${line.href})`
        : line.code === true
          ? `\`${line.text}\``
          : escapeMarkdown(line.text);
    return line.label === '' ? value : `**${line.label}:** ${value}`;
  });
  return {
    title: clip(escapeMarkdown(`${card.tag} — ${card.title}`), DISCORD_TITLE),
    description: clip(lines.join('\n'), DISCORD_DESCRIPTION),
    color: DISCORD_COLOURS[card.severity],
    timestamp: new Date(card.at).toISOString(),
  };
}

/** What counts towards the 6000: titles and descriptions (no fields, footers or authors here). */
export function embedChars(embed: DiscordEmbed): number {
  return (embed.title?.length ?? 0) + embed.description.length;
}

export function discordMessage(events: readonly NotificationEvent[], ctx: RenderContext): DiscordMessage {
  const embeds = cardsOf(events, ctx).map(cardEmbed);
  const more = (hidden: number): DiscordEmbed => ({
    description: moreText(hidden, ctx, (href, text) => `[${text}](${href})`),
    color: DISCORD_COLOURS.info,
  });
  const shown = fitCount(embeds.map(embedChars), {
    budget: DISCORD_EMBEDS_TOTAL,
    maxCount: DISCORD_MAX_EMBEDS,
    moreCost: embedChars(more(embeds.length)),
  });
  const out = embeds.slice(0, shown);
  if (shown < embeds.length) out.push(more(embeds.length - shown));
  const page = statusPage(ctx);
  const content = [
    `**${escapeMarkdown(headline(events))}**`,
    `${zoneNote(ctx)}${page === null ? '' : ` Status page: ${bare(page)}`}`,
  ].join('\n');
  return { content: clip(content, DISCORD_CONTENT), embeds: out, allowed_mentions: { parse: [] } };
}
