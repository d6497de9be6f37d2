// Bounded, one-line text for messages: remote bodies can be megabytes and span lines.

/** Longest piece of remote text quoted in a message. */
export const MAX_QUOTE_CHARS = 300;

/** Collapses whitespace and cuts long text, so one message stays one readable line. */
export function quote(text: string, max = MAX_QUOTE_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max)}…`;
}
