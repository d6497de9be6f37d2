// The Alertmanager channel (SPEC §8). It differs from the others in two hooks: it takes alerts
// only (no audit report, no event that concerns no alert), and its firing alerts are posted
// again every minute while they hold (the sink keeps them, across restarts).

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
  firing: { resendMs: FIRING_RESEND_MS, key: alertKey, effect: alertEffect },
});
