// The Alertmanager channel (SPEC §8). It differs from the others in three hooks: it takes alerts
// only (no audit report, no event that concerns no alert), its firing alerts are posted
// again every minute while they hold (the sink keeps them, across restarts), and its alerts are
// never held for grouping: Alertmanager groups them itself (its own group_wait/group_interval).

import { defineChannel } from '../definition.js';
import { alertmanagerSchema, alertmanagerSecrets, resolveAlertmanager } from './config.js';
import { AlertmanagerNotifier } from './notifier.js';
import { alertEffect, alertKey, FIRING_RESEND_MS } from './render.js';

export const alertmanager = defineChannel({
  type: 'alertmanager',
  schema: alertmanagerSchema,
  resolve: resolveAlertmanager,
  secrets: alertmanagerSecrets,
  createNotifier: (config, ctx) => new AlertmanagerNotifier(config, ctx),
  refusesAudit: 'Alertmanager channels take alerts, not reports',
  takesEvent: (event) => alertEffect(event) !== null,
  groups: false,
  firing: { resendMs: FIRING_RESEND_MS, key: alertKey, effect: alertEffect },
});
