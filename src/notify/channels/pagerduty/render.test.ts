// Golden renderings of the Events API v2 bodies, and which event does what to which alert.

import { describe, expect, it } from 'vitest';
import type { DeviceEvent } from '../../../monitor/device-state.js';
import type { NotificationEvent } from '../../message.js';
import { accountNote, BERLIN, deviceNote, MIN, T0, upEvent, UTC } from '../../test-support/fixtures.js';
import { pagerdutyEvents } from './render.js';

const KEY = 'R0123456789abcdefghijklmnopqrstu';
const as = (type: string) => type as DeviceEvent['type'];
const actions = (events: NotificationEvent[]) =>
  pagerdutyEvents(events, KEY, UTC).map((e) => `${e.event_action} ${e.dedup_key}`);

describe('pagerdutyEvents', () => {
  it('a single DOWN', () => {
    expect(pagerdutyEvents([deviceNote({ labels: { team: 'sales' } })], KEY, BERLIN)).toStrictEqual([
      {
        routing_key: KEY,
        event_action: 'trigger',
        dedup_key: 'whatsgate/main/123456789/down',
        payload: {
          summary: 'DOWN: Sales phone (123456789) disconnected (WhatsGate account main)',
          severity: 'critical',
          timestamp: '2026-11-24T17:30:00.000Z',
          class: 'down',
          custom_details: {
            event: 'device.down',
            account: 'main',
            device: '123456789',
            name: 'Sales phone',
            labels: { team: 'sales' },
            status: 'disconnected',
            previous_status: 'connected',
            since: '2026-11-24 18:29:00 +01:00',
            down_since: '2026-11-24 18:29:00 +01:00',
            meaning:
              'The device was linked, but the link is lost (the phone is offline or WhatsApp was logged out).',
            what_to_do:
              'Check the phone: powered on, online, WhatsApp open. If it stays disconnected, re-link it with a QR code.',
            relink_command: 'whatsgate-monitor connect 123456789',
            relink_url: 'https://monitor.example.com/reconnect/123456789',
          },
          source: 'whatsgate/main/123456789',
          component: 'Sales phone (123456789)',
          group: 'main',
        },
        client: 'whatsgate-monitor',
        client_url: 'https://monitor.example.com/',
        links: [
          {
            href: 'https://monitor.example.com/reconnect/123456789',
            text: 'Re-link Sales phone (123456789)',
          },
          { href: 'https://monitor.example.com/', text: 'whatsgate-monitor status page' },
        ],
      },
    ]);
  });

  it('an UP resolves the key its DOWN triggered', () => {
    expect(pagerdutyEvents([deviceNote({ event: upEvent() })], KEY, BERLIN)).toEqual([
      { routing_key: KEY, event_action: 'resolve', dedup_key: 'whatsgate/main/123456789/down' },
    ]);
  });

  it('an outage of 50: one trigger per device, no cut (one event per call)', () => {
    const events = Array.from({ length: 50 }, (_, i) =>
      deviceNote({ number: `1000000${String(i).padStart(2, '0')}` }),
    );
    const out = pagerdutyEvents(events, KEY, BERLIN);
    expect(out).toHaveLength(50);
    expect(out[49]?.dedup_key).toBe('whatsgate/main/100000049/down');
  });

  it('in the order events happened, not worst first: an UP then a new DOWN leaves it triggered', () => {
    const up = deviceNote({ id: 'up', event: upEvent({ at: T0 }) });
    const down = deviceNote({ id: 'down', event: { at: T0 + MIN } });
    expect(actions([down, up])).toEqual([
      'resolve whatsgate/main/123456789/down',
      'trigger whatsgate/main/123456789/down',
    ]);
  });

  it.each<[string, NotificationEvent, string[]]>([
    [
      'reminder: trigger again',
      deviceNote({ event: { type: 'device.reminder' } }),
      ['trigger whatsgate/main/123456789/down'],
    ],
    [
      'flapping while DOWN',
      deviceNote({ event: { type: 'device.flapping' } }),
      ['trigger whatsgate/main/123456789/down'],
    ],
    [
      'flapping while UP: nothing',
      deviceNote({ event: { type: 'device.flapping', status: 'connected', downSince: undefined } }),
      [],
    ],
    ['account unreachable', accountNote(), ['trigger whatsgate/main/-/unreachable']],
    [
      'account recovered',
      accountNote({ event: { type: 'account.recovered' } }),
      ['resolve whatsgate/main/-/unreachable'],
    ],
    [
      'not found',
      deviceNote({ event: { type: as('device.not_found') } }),
      ['trigger whatsgate/main/123456789/down'],
    ],
    [
      'stalled',
      deviceNote({ event: { type: as('device.stalled'), status: 'connected' } }),
      ['trigger whatsgate/main/123456789/stalled'],
    ],
    [
      'a reminder about a delivery problem',
      deviceNote({ event: { type: 'device.reminder', status: 'connected', problem: 'stalled' } as never }),
      ['trigger whatsgate/main/123456789/stalled'],
    ],
    [
      'delivery recovered naming its problem',
      deviceNote({
        event: { type: as('device.delivery_recovered'), status: 'connected', problem: 'failing' } as never,
      }),
      ['resolve whatsgate/main/123456789/failing'],
    ],
    [
      'delivery recovered naming none: resolves every delivery problem',
      deviceNote({ event: { type: as('device.delivery_recovered'), status: 'connected' } }),
      [
        'resolve whatsgate/main/123456789/stalled',
        'resolve whatsgate/main/123456789/failing',
        'resolve whatsgate/main/123456789/balance_low',
      ],
    ],
    [
      'an audit report: nothing (refused)',
      { id: 'a', kind: 'audit', at: T0, subject: 's', text: 't', html: 'h', report: {} },
      [],
    ],
  ])('%s', (_name, event, expected) => {
    expect(actions([event])).toEqual(expected);
  });

  // describe.ts does not word the delivery events yet (SPEC §10).
  it('a delivery-health event: severity error, named by its type, no connection advice', () => {
    const failing = deviceNote({
      event: { type: as('device.failing'), status: 'connected', previousStatus: null, downSince: undefined },
    });
    const [event] = pagerdutyEvents([failing], KEY, BERLIN);
    expect(event).toMatchObject({
      event_action: 'trigger',
      dedup_key: 'whatsgate/main/123456789/failing',
      payload: {
        summary: 'FAILING: Sales phone (123456789) (WhatsGate account main)',
        severity: 'error',
        class: 'failing',
        custom_details: { event: 'device.failing', status: 'connected', since: '2026-11-24 18:29:00 +01:00' },
      },
      links: [{ href: 'https://monitor.example.com/', text: 'whatsgate-monitor status page' }],
    });
    expect(event?.payload?.custom_details).not.toHaveProperty('meaning');
  });
});
