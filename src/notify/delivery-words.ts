// The words of delivery health (SPEC §10), shared by every channel renderer: what each problem
// is called, what the event means, what to do. Pure: no I/O, no clock. describe.ts uses the
// short phrases; email, chat cards, webhook and Alertmanager render `deliveryFacts`.

import type { DeliveryEvent, DeliveryProblem, DeliveryReading } from '../monitor/delivery.js';
import { isoWithOffset } from '../report/time.js';

export { PROBLEM_WORDS } from '../report/delivery.js';
import { PROBLEM_WORDS } from '../report/delivery.js';

/** Alertmanager's alertname for each problem (resolved by device.delivery_recovered). */
export const PROBLEM_ALERTNAMES: Readonly<Record<DeliveryProblem, string>> = {
  stalled: 'WhatsGateDeviceStalled',
  failing: 'WhatsGateDeviceFailing',
  balance_low: 'WhatsGateBalanceLow',
};

export const PROBLEM_ACTIONS: Readonly<Record<DeliveryProblem, string>> = {
  stalled:
    'Open WhatsApp on the phone and check it is online (powered on, with data, not in battery saver); messages usually go out once it is. If they stay pending, re-link the device with a QR code.',
  failing:
    'Look at the failed numbers in the WhatsGate dashboard: wrong or non-WhatsApp numbers, or recipients who blocked or reported the sender (WhatsApp may restrict the number).',
  balance_low: 'Top up the WhatsGate message balance before sending stops.',
};

/** `500 sent, 50 pending, 10 failed today; 1000 left in the balance`. */
export function countsText(
  r: Pick<DeliveryReading, 'successful' | 'pending' | 'failed' | 'remaining'>,
): string {
  return `${r.successful} sent, ${r.pending} pending, ${r.failed} failed today; ${r.remaining} left in the balance`;
}

/** The short phrase naming the event in a subject: `messages stuck pending (50 pending)`. */
export function deliveryPhrase(e: DeliveryEvent): string {
  const r = e.reading;
  const still = e.reminder === true ? 'still ' : '';
  switch (e.type) {
    case 'device.stalled':
      return `${still}not sending (${r.pending} pending)`;
    case 'device.failing':
      return `${still}failing to deliver (${r.failed} failed today)`;
    case 'device.balance_low':
      return `${still}low on balance (${r.remaining} left)`;
    case 'device.delivery_recovered':
      return `${PROBLEM_WORDS[e.problem]}: ended`;
  }
}

/** What the event means, in a sentence or two, counts included. */
export function deliveryMeaning(e: DeliveryEvent, timeZone: string): string {
  const r = e.reading;
  const since = shortTime(e.since, timeZone);
  switch (e.type) {
    case 'device.stalled':
      return `The device says connected, but ${r.pending} message${r.pending === 1 ? '' : 's'} wait as pending and none has been sent since ${since}.`;
    case 'device.failing':
      return `Many messages fail to deliver: ${r.failed} failed today against ${r.successful} sent (failing since ${since}).`;
    case 'device.balance_low':
      return `Only ${r.remaining} message${r.remaining === 1 ? '' : 's'} left in the balance (low since ${since}); sending stops at 0.`;
    case 'device.delivery_recovered':
      return RECOVERED[e.problem];
  }
}

const RECOVERED: Readonly<Record<DeliveryProblem, string>> = {
  stalled: 'Messages are being sent again: the stall has ended.',
  failing: 'Messages are delivered again: the failures have stopped.',
  balance_low: 'The balance is above the alert threshold again.',
};

export interface DeliveryFact {
  readonly label: string;
  readonly text: string;
}

/** The labelled lines every channel shows for a delivery event, in order. */
export function deliveryFacts(e: DeliveryEvent, timeZone: string): DeliveryFact[] {
  const facts: DeliveryFact[] = [{ label: 'Delivery', text: countsText(e.reading) }];
  const span = humanSpan(e.at - e.since);
  if (e.type === 'device.delivery_recovered') {
    facts.push({
      label: 'Problem',
      text: `${PROBLEM_WORDS[e.problem]}, from ${shortTime(e.since, timeZone)} (${span})`,
    });
  } else {
    facts.push({ label: 'Since', text: `${shortTime(e.since, timeZone)} (${span})` });
  }
  facts.push({ label: 'Meaning', text: deliveryMeaning(e, timeZone) });
  if (e.type !== 'device.delivery_recovered')
    facts.push({ label: 'What to do', text: PROBLEM_ACTIONS[e.problem] });
  return facts;
}

function shortTime(ms: number, timeZone: string): string {
  const iso = isoWithOffset(ms, timeZone);
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} ${iso.slice(19)}`;
}

function humanSpan(ms: number): string {
  const min = Math.max(0, Math.floor(ms / 60_000));
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
}
