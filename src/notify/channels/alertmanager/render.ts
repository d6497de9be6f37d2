// Alertmanager API v2 alerts from notification events. Pure: `now` comes in.
//
// Alertmanager is stateful where email and webhooks are not: an alert fires while it is
// re-posted and resolves when posted with `endsAt` in the past. So each event is an effect on
// one alert — fire or resolve — keyed like Alertmanager's own fingerprint would be.

import type { DeliveryEvent } from '../../../monitor/delivery.js';
import {
  countsText,
  deliveryMeaning,
  PROBLEM_ACTIONS,
  PROBLEM_ALERTNAMES,
  PROBLEM_WORDS,
} from '../../delivery-words.js';
import { isDeliveryEvent } from '../../events.js';
import type { DeviceNotification, NotificationEvent, RenderContext } from '../../message.js';
import {
  deviceLabel,
  formatTime,
  humanDuration,
  needsRelink,
  REASON_ADVICE,
  relinkHelp,
  STATUS_ADVICE,
  STATUS_WORDS,
} from '../../describe.js';

/** How often firing alerts are posted again (Alertmanager expects 30 s to 3 min). */
export const FIRING_RESEND_MS = 60_000;
/**
 * How far ahead each post of a firing alert sets `endsAt`, as Prometheus does (4 × its resend
 * delay): should the monitor stop posting (stopped, device removed, channel removed), the alert
 * resolves by itself instead of firing forever.
 */
export const FIRING_VALID_MS = 4 * FIRING_RESEND_MS;

export const ALERT_NAMES = {
  device: 'WhatsGateDeviceDown',
  account: 'WhatsGateAccountUnreachable',
  test: 'WhatsGateTest',
} as const;

/** The body of `POST /api/v2/alerts` is a list of these. */
export interface AlertmanagerAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL?: string;
}

export type AlertEffect = 'fire' | 'resolve';

/** What the event does to its alert; null when it concerns no alert. */
export function alertEffect(e: NotificationEvent): AlertEffect | null {
  if (e.kind === 'test') return 'fire';
  // A report is no alert.
  if (e.kind === 'audit') return null;
  switch (e.event.type) {
    case 'device.down':
    case 'device.not_found':
    case 'device.reminder':
    case 'account.unreachable':
      return 'fire';
    case 'device.flapping':
      // Flapping while UP is no outage; while DOWN the alert holds as it was.
      return e.event.downSince === undefined ? null : 'fire';
    case 'device.up':
    case 'account.recovered':
    case 'device.delivery_recovered':
      return 'resolve';
    // Delivery health (SPEC §10) is not an outage of the device — no WhatsGateDeviceDown for it —
    // but one alert per problem (WhatsGateDeviceStalled…), resolved by device.delivery_recovered.
    case 'device.stalled':
    case 'device.failing':
    case 'device.balance_low':
      return 'fire';
  }
}

/** One key per alert (its labels minus the ones that may change): the firing table's key. */
export function alertKey(e: NotificationEvent): string | null {
  switch (e.kind) {
    case 'device':
      return isDeliveryEvent(e.event)
        ? `delivery/${e.account}/${e.device.number}/${e.event.problem}`
        : `device/${e.account}/${e.device.number}`;
    case 'account':
      return `account/${e.account}`;
    case 'test':
    case 'audit':
      return null;
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

function withGenerator(
  alert: Omit<AlertmanagerAlert, 'generatorURL'>,
  ctx: RenderContext,
): AlertmanagerAlert {
  return ctx.publicUrl === null ? alert : { ...alert, generatorURL: `${ctx.publicUrl}/` };
}

/** The alert the event posts at `now`; null when the event concerns no alert. */
export function alertmanagerAlert(
  e: NotificationEvent,
  ctx: RenderContext,
  now: number,
): AlertmanagerAlert | null {
  const effect = alertEffect(e);
  if (effect === null || e.kind === 'audit') return null;
  const time = (ms: number): string => formatTime(ms, ctx.timeZone);

  if (e.kind === 'test') {
    return withGenerator(
      {
        labels: { alertname: ALERT_NAMES.test, channel: e.channel },
        annotations: {
          summary: `Test alert from whatsgate-monitor (channel ${e.channel})`,
          description: `Sent by \`whatsgate-monitor test-notify\` at ${time(e.at)}; it resolves by itself.`,
        },
        startsAt: iso(e.at),
        endsAt: iso(now + FIRING_VALID_MS),
      },
      ctx,
    );
  }

  if (e.kind === 'account') {
    const { event } = e;
    const labels = { alertname: ALERT_NAMES.account, account: e.account };
    if (effect === 'resolve') {
      return withGenerator(
        {
          labels,
          annotations: {
            summary: `WhatsGate account ${e.account} is reachable again`,
            description: `The monitor can check the account’s devices again (unreachable from ${time(event.since)}, ${humanDuration(event.at - event.since)}).`,
          },
          startsAt: iso(event.since),
          endsAt: iso(event.at),
        },
        ctx,
      );
    }
    const error =
      event.message === null ? '' : ` (${event.reason === null ? '' : `${event.reason}: `}${event.message})`;
    const advice = event.reason === null ? '' : ` ${REASON_ADVICE[event.reason]}`;
    return withGenerator(
      {
        labels,
        annotations: {
          summary: `WhatsGate account ${e.account} is unreachable`,
          description: `The monitor cannot check the devices of account ${e.account} since ${time(event.since)}${error}. Their statuses are unknown meanwhile, not down.${advice}`,
        },
        startsAt: iso(event.since),
        endsAt: iso(now + FIRING_VALID_MS),
      },
      ctx,
    );
  }

  if (isDeliveryEvent(e.event)) return deliveryAlert(e, e.event, effect, ctx, now);
  const { event, device } = e;
  // Ours last: config validation reserves these names, this keeps them ours regardless.
  const labels = {
    ...device.labels,
    alertname: ALERT_NAMES.device,
    account: e.account,
    device: device.number,
    name: device.name,
  };
  const downSince = event.downSince ?? event.since;
  const who = deviceLabel(device);
  if (effect === 'resolve') {
    // The outage ended when the device turned UP, before `at` if the device.up was held back.
    const upAt = event.upAt ?? event.at;
    return withGenerator(
      {
        labels,
        annotations: {
          summary: `${who} is connected again`,
          description: `Account ${e.account}: down from ${time(downSince)} to ${time(upAt)} (${humanDuration(upAt - downSince)}).`,
        },
        startsAt: iso(downSince),
        endsAt: iso(upAt),
      },
      ctx,
    );
  }
  const advice = STATUS_ADVICE[event.status];
  const annotations: Record<string, string> = {
    summary:
      event.type === 'device.flapping'
        ? `${who} is flapping (now ${STATUS_WORDS[event.status]})`
        : `${who} is DOWN: ${STATUS_WORDS[event.status]}`,
    description:
      `Account ${e.account}, down since ${time(downSince)}. ${advice.meaning} ${advice.action}`.trim(),
  };
  if (needsRelink(e)) {
    const help = relinkHelp(device.number, ctx);
    annotations['description'] +=
      ` Re-link: \`${help.command}\`${help.url === null ? '' : ` or ${help.url}`}.`;
    if (help.url !== null) annotations['reconnect_url'] = help.url;
  }
  return withGenerator(
    { labels, annotations, startsAt: iso(downSince), endsAt: iso(now + FIRING_VALID_MS) },
    ctx,
  );
}

/** `WhatsGateDeviceStalled` etc.: fires with the problem, resolves at device.delivery_recovered. */
function deliveryAlert(
  e: DeviceNotification,
  event: DeliveryEvent,
  effect: AlertEffect,
  ctx: RenderContext,
  now: number,
): AlertmanagerAlert {
  const { device } = e;
  const labels = {
    ...device.labels,
    alertname: PROBLEM_ALERTNAMES[event.problem],
    account: e.account,
    device: device.number,
    name: device.name,
    problem: event.problem,
  };
  const who = deviceLabel(device);
  const time = (ms: number): string => formatTime(ms, ctx.timeZone);
  if (effect === 'resolve') {
    return withGenerator(
      {
        labels,
        annotations: {
          summary: `${who}: ${PROBLEM_WORDS[event.problem]} — ended`,
          description: `Account ${e.account}: ${deliveryMeaning(event, ctx.timeZone)} From ${time(event.since)} to ${time(event.at)} (${humanDuration(event.at - event.since)}); now ${countsText(event.reading)}.`,
        },
        startsAt: iso(event.since),
        endsAt: iso(event.at),
      },
      ctx,
    );
  }
  const annotations: Record<string, string> = {
    summary: `${who}: ${PROBLEM_WORDS[event.problem]}`,
    description: `Account ${e.account}: ${deliveryMeaning(event, ctx.timeZone)} ${countsText(event.reading)}. ${PROBLEM_ACTIONS[event.problem]}`,
  };
  if (needsRelink(e)) {
    const help = relinkHelp(device.number, ctx);
    annotations['description'] +=
      ` Re-link: \`${help.command}\`${help.url === null ? '' : ` or ${help.url}`}.`;
    if (help.url !== null) annotations['reconnect_url'] = help.url;
  }
  return withGenerator(
    { labels, annotations, startsAt: iso(event.since), endsAt: iso(now + FIRING_VALID_MS) },
    ctx,
  );
}

export function alertmanagerAlerts(
  events: readonly NotificationEvent[],
  ctx: RenderContext,
  now: number,
): AlertmanagerAlert[] {
  return events.flatMap((e) => {
    const alert = alertmanagerAlert(e, ctx, now);
    return alert === null ? [] : [alert];
  });
}
