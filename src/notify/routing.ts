// Which channels an alert goes to (SPEC §4): the device's own `channels`; else every route whose
// `match` equals the alert's labels on every key (the union when several match); else
// `notify.default`. Pure.
//
// Routes match on the device's labels plus two implicit ones, `account` (the account's name)
// and `device` (the number) — config validation reserves those names, so they never clash.
// Account events carry only `account`: a route matching just `account: main` claims them too;
// any route that also asks for a device label does not.

import type { Config } from '../config/types.js';
import type { MonitorAlert } from './events.js';

/** What routing reads of `notify` (not the grouping times). */
export type NotifyConfig = Pick<Config['notify'], 'default' | 'routes' | 'channels'>;

export function routingLabels(alert: MonitorAlert): Record<string, string> {
  return alert.kind === 'device'
    ? { ...alert.device.labels, account: alert.account, device: alert.device.number }
    : { account: alert.account };
}

export function routeMatches(
  match: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(match).every(([key, value]) => labels[key] === value);
}

/** Channel names, each once, in the order the config names them. */
export function routeAlert(alert: MonitorAlert, notify: NotifyConfig): string[] {
  if (alert.kind === 'device' && alert.channels !== null) return unique(alert.channels);
  const labels = routingLabels(alert);
  const matched = notify.routes.filter((r) => routeMatches(r.match, labels));
  return unique(matched.length > 0 ? matched.flatMap((r) => r.channels) : notify.default);
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}
