// `status --live`: the gateway's answer now, shown beside — never in place of — what the daemon
// stored. The two differ on purpose (the stored STATE turns DOWN or UP only after
// failure_threshold / success_threshold checks in a row), so each is labelled as what it is.

import type { DeviceStatus, Observation } from '../monitor/model.js';
import { statusText } from '../report/devices.js';
import { isoOrNull } from '../report/time.js';

/** Added to each `status --live --json` entry; the SPEC fields keep the daemon's stored view. */
export interface LiveFields {
  /** What the gateway said just now; null when it gave no status (see `live_error`). */
  readonly live_status: DeviceStatus | null;
  readonly live_status_raw: string | null;
  /** Why there is no live status: `timeout: …`, `http_5xx: …`; null when there is one. */
  readonly live_error: string | null;
  /** When it was asked (ISO 8601 with offset). */
  readonly live_checked_at: string | null;
}

export function liveFields(obs: Observation | undefined, at: number, timeZone: string): LiveFields {
  if (obs === undefined)
    return { live_status: null, live_status_raw: null, live_error: null, live_checked_at: null };
  const checkedAt = isoOrNull(at, timeZone);
  return obs.kind === 'status'
    ? { live_status: obs.status, live_status_raw: obs.raw, live_error: null, live_checked_at: checkedAt }
    : {
        live_status: null,
        live_status_raw: null,
        live_error: `${obs.reason}: ${obs.message}`,
        live_checked_at: checkedAt,
      };
}

/** The LIVE column: the status now, or why the gateway gave none. */
export function liveText(f: Partial<LiveFields>): string {
  if (f.live_error != null) return `no answer (${f.live_error})`;
  return statusText({ status: f.live_status ?? null, status_raw: f.live_status_raw ?? null });
}

/** Column titles with --live: which columns were asked now and which the daemon stored. */
export const LIVE_HEADERS = {
  live: 'LIVE (CHECKED NOW)',
  status: 'STORED STATUS',
  state: 'STORED STATE',
  lastCheck: 'LAST STORED CHECK',
} as const;

export const LIVE_FOOTER =
  'LIVE: the gateway asked just now, not recorded. STORED: the daemon’s last check; ' +
  'STORED STATE turns DOWN or UP only after failure_threshold / success_threshold checks in a row.\n';
