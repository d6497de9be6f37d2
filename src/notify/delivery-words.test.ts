// Delivery events (SPEC §10) as every channel renders them: what they are called, what they
// mean, what to do — email, webhook JSON, Alertmanager (alertname, resolve) and chat cards.

import { describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../monitor/delivery.js';
import { alertEffect, alertKey, alertmanagerAlert } from './channels/alertmanager/render.js';
import { renderEmail } from './channels/email/render.js';
import { webhookEvent } from './channels/webhook/render.js';
import { cardOf } from './chat/cards.js';
import { worstFirst } from './describe.js';
import { deliveryNote, deviceNote, MIN, T0, UTC } from './test-support/fixtures.js';

const READING = { at: T0, remaining: 80, successful: 500, pending: 50, failed: 30 };

const CASES: [DeliveryEvent['type'], DeliveryEvent['problem'], string, string, string][] = [
  // type, problem, tag, words of the meaning, words of the action
  ['device.stalled', 'stalled', 'STALLED', '50 messages wait as pending', 'Open WhatsApp on the phone'],
  ['device.failing', 'failing', 'FAILING', '30 failed today against 500 sent', 'Look at the failed numbers'],
  ['device.balance_low', 'balance_low', 'LOW BALANCE', 'Only 80 messages left', 'Top up'],
];

function note(type: DeliveryEvent['type'], problem: DeliveryEvent['problem'], reminder = false) {
  return deliveryNote({
    event: { type, problem, reading: READING, since: T0 - 30 * MIN, ...(reminder ? { reminder: true } : {}) },
  });
}

describe('delivery events in every channel', () => {
  it.each(CASES)('%s: email says what it means and what to do', (type, problem, tag, meaning, action) => {
    const mail = renderEmail([note(type, problem)], UTC);
    expect(mail.subject).toContain(`${tag}: Sales phone (123456789)`);
    expect(mail.text).toContain('500 sent, 50 pending, 30 failed today; 80 left in the balance');
    expect(mail.text).toContain(meaning);
    expect(mail.text).toContain(action);
    expect(mail.html).toContain(action);
  });

  it.each(CASES)(
    '%s: chat card carries the counts, meaning and action',
    (type, problem, tag, meaning, action) => {
      const card = cardOf(note(type, problem), UTC);
      expect(card.tag).toBe(tag);
      expect(card.severity).toBe('warn');
      const text = card.lines.map((l) => `${l.label}: ${l.text}`).join('\n');
      expect(text).toContain(meaning);
      expect(text).toContain(`What to do: ${action}`);
    },
  );

  it('stalled offers the re-link; failing and low balance do not', () => {
    expect(cardOf(note('device.stalled', 'stalled'), UTC).lines.some((l) => l.label === 'Re-link')).toBe(
      true,
    );
    expect(cardOf(note('device.failing', 'failing'), UTC).lines.some((l) => l.label === 'Re-link')).toBe(
      false,
    );
  });

  it.each(CASES)('%s: webhook JSON carries delivery counts and problem, no link status', (type, problem) => {
    expect(webhookEvent(note(type, problem), UTC)).toMatchObject({
      type,
      status: null,
      previous_status: null,
      since: '2026-11-24T17:00:00+00:00',
      delivery: { pending: 50, successful: 500, failed: 30, remaining: 80, problem, reminder: false },
    });
  });

  it('a reminder is marked as one in the webhook and reads "still" in the subject', () => {
    const e = note('device.stalled', 'stalled', true);
    expect(webhookEvent(e, UTC).delivery?.reminder).toBe(true);
    expect(renderEmail([e], UTC).subject).toContain('still not sending (50 pending)');
  });

  it('device.delivery_recovered says which problem ended, green, without action', () => {
    const e = note('device.delivery_recovered', 'failing');
    const card = cardOf(e, UTC);
    expect(card.severity).toBe('good');
    expect(card.lines.map((l) => l.text).join(' ')).toContain('messages failing, from 2026-11-24 17:00:00');
    expect(card.lines.some((l) => l.label === 'What to do')).toBe(false);
    expect(renderEmail([e], UTC).subject).toContain('messages failing: ended');
  });

  it.each([
    ['stalled', 'WhatsGateDeviceStalled'],
    ['failing', 'WhatsGateDeviceFailing'],
    ['balance_low', 'WhatsGateBalanceLow'],
  ] as const)(
    'Alertmanager: %s fires %s, delivery_recovered resolves that alert only',
    (problem, alertname) => {
      const type = CASES.find((c) => c[1] === problem)![0];
      const fire = note(type, problem);
      const resolve = note('device.delivery_recovered', problem);
      expect(alertEffect(fire)).toBe('fire');
      expect(alertEffect(resolve)).toBe('resolve');
      // One alert per problem, apart from the device's DOWN alert.
      expect(alertKey(fire)).toBe(alertKey(resolve));
      expect(alertKey(fire)).not.toBe(alertKey(deviceNote()));
      const firing = alertmanagerAlert(fire, UTC, T0)!;
      expect(firing.labels).toMatchObject({ alertname, account: 'main', device: '123456789', problem });
      expect(firing.startsAt).toBe(new Date(T0 - 30 * MIN).toISOString());
      expect(Date.parse(firing.endsAt)).toBeGreaterThan(T0);
      const resolved = alertmanagerAlert(resolve, UTC, T0)!;
      expect(resolved.labels['alertname']).toBe(alertname);
      expect(resolved.endsAt).toBe(new Date(T0).toISOString());
    },
  );

  it('orders a group worst first: down before delivery problems before recoveries', () => {
    const events = [
      note('device.delivery_recovered', 'stalled'),
      note('device.balance_low', 'balance_low'),
      deviceNote(),
    ];
    expect(worstFirst(events).map((e) => (e.kind === 'device' ? e.event.type : ''))).toEqual([
      'device.down',
      'device.balance_low',
      'device.delivery_recovered',
    ]);
  });
});
