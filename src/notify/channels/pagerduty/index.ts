// The PagerDuty channel (SPEC §11): Events API v2, trigger on a problem, resolve on its end
// with the same dedup_key. Like Alertmanager it takes alerts only: no audit report, no event
// that concerns no alert (flapping while UP).

import { defineChannel } from '../definition.js';
import { checkPagerduty, pagerdutySchema, pagerdutySecrets, resolvePagerduty } from './config.js';
import { PagerdutyNotifier } from './notifier.js';
import { pagerdutyEffects } from './render.js';

export const pagerduty = defineChannel({
  type: 'pagerduty',
  schema: pagerdutySchema,
  check: checkPagerduty,
  resolve: resolvePagerduty,
  secrets: pagerdutySecrets,
  createNotifier: (config, ctx) => new PagerdutyNotifier(config, ctx),
  refusesAudit: 'PagerDuty channels take alerts, not reports',
  takesEvent: (event) => pagerdutyEffects(event).length > 0,
});
