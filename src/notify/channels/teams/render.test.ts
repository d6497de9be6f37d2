import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import { BERLIN, deliveryNote, deviceNote, upEvent, UTC } from '../../test-support/fixtures.js';
import { ADAPTIVE_CARD_CONTENT_TYPE, teamsMessage } from './render.js';

const fiftyDown = (): NotificationEvent[] =>
  Array.from({ length: 50 }, (_, i) => {
    const n = String(50 - i).padStart(2, '0');
    return deviceNote({ number: `10000000${n}`, name: `Phone ${n}` });
  });

type Element = Record<string, unknown>;
const bodyOf = (events: NotificationEvent[], ctx = BERLIN): Element[] =>
  teamsMessage(events, ctx).attachments[0].content.body as Element[];

describe('teamsMessage (golden)', () => {
  it('a single DOWN: the Workflows envelope, an Adaptive Card 1.4 with one attention container', () => {
    expect(teamsMessage([deviceNote({ labels: { team: 'sales' } })], BERLIN)).toMatchInlineSnapshot(`
      {
        "attachments": [
          {
            "content": {
              "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
              "actions": [
                {
                  "title": "Status page",
                  "type": "Action.OpenUrl",
                  "url": "https://monitor.example.com/",
                },
              ],
              "body": [
                {
                  "size": "Medium",
                  "text": "DOWN: Sales phone (123456789) disconnected",
                  "type": "TextBlock",
                  "weight": "Bolder",
                  "wrap": true,
                },
                {
                  "items": [
                    {
                      "color": "Attention",
                      "text": "**DOWN** — Sales phone (123456789), account main",
                      "type": "TextBlock",
                      "weight": "Bolder",
                      "wrap": true,
                    },
                    {
                      "facts": [
                        {
                          "title": "Status",
                          "value": "disconnected since 2026-11-24 18:29:00 +01:00 (was connected)",
                        },
                        {
                          "title": "Labels",
                          "value": "team=sales",
                        },
                        {
                          "title": "Meaning",
                          "value": "The device was linked, but the link is lost (the phone is offline or WhatsApp was logged out).",
                        },
                        {
                          "title": "What to do",
                          "value": "Check the phone: powered on, online, WhatsApp open. If it stays disconnected, re-link it with a QR code.",
                        },
                        {
                          "title": "Re-link",
                          "value": "whatsgate-monitor connect 123456789",
                        },
                      ],
                      "type": "FactSet",
                    },
                    {
                      "spacing": "None",
                      "text": "[https://monitor.example.com/reconnect/123456789](https://monitor.example.com/reconnect/123456789)",
                      "type": "TextBlock",
                      "wrap": true,
                    },
                  ],
                  "separator": true,
                  "spacing": "Medium",
                  "style": "attention",
                  "type": "Container",
                },
                {
                  "isSubtle": true,
                  "size": "Small",
                  "text": "Times are in Europe/Berlin. Sent by whatsgate-monitor.",
                  "type": "TextBlock",
                  "wrap": true,
                },
              ],
              "msteams": {
                "width": "Full",
              },
              "type": "AdaptiveCard",
              "version": "1.4",
            },
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
          },
        ],
        "type": "message",
      }
    `);
  });

  it('an UP: a good container with the outage, no re-link, no actions without public_url', () => {
    expect(teamsMessage([deviceNote({ event: upEvent() })], UTC)).toMatchInlineSnapshot(`
      {
        "attachments": [
          {
            "content": {
              "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
              "body": [
                {
                  "size": "Medium",
                  "text": "UP: Sales phone (123456789) connected",
                  "type": "TextBlock",
                  "weight": "Bolder",
                  "wrap": true,
                },
                {
                  "items": [
                    {
                      "color": "Good",
                      "text": "**UP** — Sales phone (123456789), account main",
                      "type": "TextBlock",
                      "weight": "Bolder",
                      "wrap": true,
                    },
                    {
                      "facts": [
                        {
                          "title": "Status",
                          "value": "connected since 2026-11-24 18:00:00 +00:00 (was disconnected)",
                        },
                        {
                          "title": "Outage",
                          "value": "2026-11-24 17:29:00 +00:00 to 2026-11-24 18:00:00 +00:00 (31 min)",
                        },
                        {
                          "title": "Meaning",
                          "value": "The device is linked and working.",
                        },
                      ],
                      "type": "FactSet",
                    },
                  ],
                  "separator": true,
                  "spacing": "Medium",
                  "style": "good",
                  "type": "Container",
                },
                {
                  "isSubtle": true,
                  "size": "Small",
                  "text": "Times are in UTC. Sent by whatsgate-monitor.",
                  "type": "TextBlock",
                  "wrap": true,
                },
              ],
              "msteams": {
                "width": "Full",
              },
              "type": "AdaptiveCard",
              "version": "1.4",
            },
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
          },
        ],
        "type": "message",
      }
    `);
  });

  it('a grouped outage of 50: worst first, the payload well under 28 KB, "…and N more"', () => {
    const message = teamsMessage(fiftyDown(), BERLIN);
    expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThan(25_000);
    const body = message.attachments[0].content.body as Element[];
    expect(body[0]).toMatchObject({
      type: 'TextBlock',
      text: 'DOWN: 50 devices — Phone 01 (1000000001) disconnected, Phone 02 (1000000002) disconnected, Phone 03 (1000000003) disconnected, …',
    });
    const containers = body.filter((e) => e['type'] === 'Container');
    containers.forEach((c, i) => {
      const n = String(i + 1).padStart(2, '0');
      expect((c['items'] as Element[])[0]?.['text']).toBe(
        `**DOWN** — Phone ${n} (10000000${n}), account main`,
      );
    });
    expect(body.at(-2)).toEqual({
      type: 'TextBlock',
      text: `…and ${50 - containers.length} more — [see the status page](https://monitor.example.com/)`,
      wrap: true,
      isSubtle: true,
    });
    expect(containers.length).toMatchInlineSnapshot(`26`);
  });

  it('a stalled device renders its counts, since when, meaning, what to do and the re-link, as a warning', () => {
    const stalled = deliveryNote();
    const body = bodyOf([stalled], UTC);
    expect(body[1]).toMatchInlineSnapshot(`
      {
        "items": [
          {
            "color": "Warning",
            "text": "**STALLED** — Sales phone (123456789), account main",
            "type": "TextBlock",
            "weight": "Bolder",
            "wrap": true,
          },
          {
            "facts": [
              {
                "title": "Delivery",
                "value": "500 sent, 50 pending, 10 failed today; 1000 left in the balance",
              },
              {
                "title": "Since",
                "value": "2026-11-24 16:30:00 +00:00 (1 h)",
              },
              {
                "title": "Meaning",
                "value": "The device says connected, but 50 messages wait as pending and none has been sent since 2026-11-24 16:30:00 +00:00.",
              },
              {
                "title": "What to do",
                "value": "Open WhatsApp on the phone and check it is online (powered on, with data, not in battery saver); messages usually go out once it is. If they stay pending, re-link the device with a QR code.",
              },
              {
                "title": "Re-link",
                "value": "whatsgate-monitor connect 123456789",
              },
            ],
            "type": "FactSet",
          },
        ],
        "separator": true,
        "spacing": "Medium",
        "style": "warning",
        "type": "Container",
      }
    `);
  });

  it('every message has the envelope the Workflows flow expects', () => {
    const message = teamsMessage([deviceNote()], UTC);
    expect(message.type).toBe('message');
    expect(message.attachments).toHaveLength(1);
    expect(message.attachments[0].contentType).toBe(ADAPTIVE_CARD_CONTENT_TYPE);
    expect(message.attachments[0].content).toMatchObject({
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.4',
    });
  });
});
