// What `audit --send` and the daemon's scheduled audit (config `audit.schedule`) hand to the
// notification layer. The audit renders; the notifier only delivers — one `audit.report` event
// to each of `audit.channels` (email: subject + text + html; webhook: the JSON; Alertmanager:
// nothing, it is not an alert).

import type { AuditReport } from './compute.js';
import { auditSubject, auditToJson, renderAuditText, type AuditJson } from './render.js';
import { renderAuditHtml } from './render-html.js';

export interface AuditMessage {
  readonly report: AuditReport;
  /** `[whatsgate] Audit: 12 devices, uptime 99.20 %, 1 stale` */
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The `audit --json` document, for webhooks. */
  readonly json: AuditJson;
}

export interface AuditDelivery {
  readonly channel: string;
  /** `queued`: written to the durable outbox, delivery follows (SPEC §8). */
  readonly outcome: 'sent' | 'queued' | 'failed';
  /** Why it failed, secret-free. */
  readonly error?: string;
}

export interface AuditSender {
  /** Sends (or queues) the report to each channel; resolves per channel, never rejects for one channel's failure. */
  sendAuditReport(message: AuditMessage, channels: readonly string[]): Promise<readonly AuditDelivery[]>;
}

export function buildAuditMessage(report: AuditReport, timeZone: string): AuditMessage {
  return {
    report,
    subject: auditSubject(report),
    text: renderAuditText(report, timeZone),
    html: renderAuditHtml(report, timeZone),
    json: auditToJson(report, timeZone),
  };
}
