import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import {
  accountNote,
  BERLIN,
  deliveryNote,
  deviceNote,
  T0,
  upEvent,
  UTC,
} from '../../test-support/fixtures.js';
import { SLACK_MAX_BLOCKS, SLACK_SECTION_TEXT, slackMessage, type SlackBlock } from './render.js';

/** Phone 01 … Phone 50, all dropped in one cycle, listed in reverse to prove the sort. */
const fiftyDown = (): NotificationEvent[] =>
  Array.from({ length: 50 }, (_, i) => {
    const n = String(50 - i).padStart(2, '0');
    return deviceNote({ number: `10000000${n}`, name: `Phone ${n}` });
  });

const sectionTexts = (blocks: readonly SlackBlock[]): string[] =>
  blocks.flatMap((b) => (b.type === 'section' ? [b.text.text] : []));

describe('slackMessage (golden)', () => {
  it('a single DOWN: header, one section with every fact, the footer', () => {
    expect(slackMessage([deviceNote({ labels: { team: 'sales' } })], BERLIN)).toMatchInlineSnapshot(`
      {
        "blocks": [
          {
            "text": {
              "emoji": true,
              "text": "DOWN: Sales phone (123456789) disconnected",
              "type": "plain_text",
            },
            "type": "header",
          },
          {
            "text": {
              "text": ":red_circle: *DOWN* — Sales phone (123456789), account main
      *Status:* disconnected since 2026-11-24 18:29:00 +01:00 (was connected)
      *Labels:* team=sales
      *Meaning:* The device was linked, but the link is lost (the phone is offline or WhatsApp was logged out).
      *What to do:* Check the phone: powered on, online, WhatsApp open. If it stays disconnected, re-link it with a QR code.
      *Re-link:* \`whatsgate-monitor connect 123456789\`
      <https://monitor.example.com/reconnect/123456789|https://monitor.example.com/reconnect/123456789>",
              "type": "mrkdwn",
            },
            "type": "section",
          },
          {
            "elements": [
              {
                "text": "Times are in Europe/Berlin. Sent by whatsgate-monitor. <https://monitor.example.com/|Status page>",
                "type": "mrkdwn",
              },
            ],
            "type": "context",
          },
        ],
        "text": "DOWN: Sales phone (123456789) disconnected",
      }
    `);
  });

  it('an UP: the outage, no re-link', () => {
    expect(slackMessage([deviceNote({ event: upEvent() })], UTC)).toMatchInlineSnapshot(`
      {
        "blocks": [
          {
            "text": {
              "emoji": true,
              "text": "UP: Sales phone (123456789) connected",
              "type": "plain_text",
            },
            "type": "header",
          },
          {
            "text": {
              "text": ":large_green_circle: *UP* — Sales phone (123456789), account main
      *Status:* connected since 2026-11-24 18:00:00 +00:00 (was disconnected)
      *Outage:* 2026-11-24 17:29:00 +00:00 to 2026-11-24 18:00:00 +00:00 (31 min)
      *Meaning:* The device is linked and working.",
              "type": "mrkdwn",
            },
            "type": "section",
          },
          {
            "elements": [
              {
                "text": "Times are in UTC. Sent by whatsgate-monitor.",
                "type": "mrkdwn",
              },
            ],
            "type": "context",
          },
        ],
        "text": "UP: Sales phone (123456789) connected",
      }
    `);
  });

  it('a grouped outage of 50: worst first, cut cleanly inside Slack’s limits with "…and N more"', () => {
    const { text, blocks } = slackMessage(fiftyDown(), BERLIN);
    expect(text).toBe(
      'DOWN: 50 devices — Phone 01 (1000000001) disconnected, Phone 02 (1000000002) disconnected, Phone 03 (1000000003) disconnected, …',
    );
    expect(blocks.length).toBeLessThanOrEqual(SLACK_MAX_BLOCKS);
    const sections = sectionTexts(blocks);
    const cards = sections.slice(0, -1);
    for (const s of sections) expect(s.length).toBeLessThanOrEqual(SLACK_SECTION_TEXT);
    cards.forEach((card, i) =>
      expect(card.split('\n')[0]).toBe(
        `:red_circle: *DOWN* — Phone ${String(i + 1).padStart(2, '0')} (10000000${String(i + 1).padStart(2, '0')}), account main`,
      ),
    );
    expect(sections.at(-1)).toBe(
      `…and ${50 - cards.length} more — <https://monitor.example.com/|see the status page>`,
    );
    expect(cards.length).toMatchInlineSnapshot(`23`);
  });

  it('without public_url the cut points to the status command, and no link is made', () => {
    const { blocks } = slackMessage(fiftyDown(), UTC);
    const last = sectionTexts(blocks).at(-1);
    expect(last).toMatch(/^…and \d+ more — `whatsgate-monitor status` lists every device$/);
    expect(JSON.stringify(blocks)).not.toContain('<http');
  });

  it('a stalled device renders its counts, since when, meaning, what to do and the re-link, amber', () => {
    const stalled = deliveryNote();
    expect(slackMessage([stalled], UTC)).toMatchInlineSnapshot(`
      {
        "blocks": [
          {
            "text": {
              "emoji": true,
              "text": "STALLED: Sales phone (123456789) not sending (50 pending)",
              "type": "plain_text",
            },
            "type": "header",
          },
          {
            "text": {
              "text": ":large_orange_circle: *STALLED* — Sales phone (123456789), account main
      *Delivery:* 500 sent, 50 pending, 10 failed today; 1000 left in the balance
      *Since:* 2026-11-24 16:30:00 +00:00 (1 h)
      *Meaning:* The device says connected, but 50 messages wait as pending and none has been sent since 2026-11-24 16:30:00 +00:00.
      *What to do:* Open WhatsApp on the phone and check it is online (powered on, with data, not in battery saver); messages usually go out once it is. If they stay pending, re-link the device with a QR code.
      *Re-link:* \`whatsgate-monitor connect 123456789\`",
              "type": "mrkdwn",
            },
            "type": "section",
          },
          {
            "elements": [
              {
                "text": "Times are in UTC. Sent by whatsgate-monitor.",
                "type": "mrkdwn",
              },
            ],
            "type": "context",
          },
        ],
        "text": "STALLED: Sales phone (123456789) not sending (50 pending)",
      }
    `);
  });

  it('a mixed group lists the worst first; account events and a test read as the email does', () => {
    const test: NotificationEvent = { id: 't', kind: 'test', at: T0, channel: 'chat' };
    const { blocks } = slackMessage(
      [deviceNote({ number: '1', name: 'Back', event: upEvent() }), test, accountNote(), deviceNote()],
      UTC,
    );
    expect(sectionTexts(blocks).map((s) => s.split('\n')[0])).toEqual([
      ':red_circle: *DOWN* — Sales phone (123456789), account main',
      ':red_circle: *UNREACHABLE* — account main',
      ':large_green_circle: *UP* — Back (1), account main',
      ':information_source: *TEST* — channel chat',
    ]);
  });

  it('escapes mrkdwn control characters in names, so a name cannot forge a link', () => {
    const { blocks } = slackMessage([deviceNote({ name: '<!channel> & <http://x|y>' })], UTC);
    const [card] = sectionTexts(blocks);
    expect(card).toContain('&lt;!channel&gt; &amp; &lt;http://x|y&gt;');
    expect(card).not.toContain('<!channel>');
  });
});
