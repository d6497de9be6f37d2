// What `audit --send` and the daemon's scheduled audit (config `audit.schedule`) hand to the
// notification layer. The audit renders; the notifier only delivers — one `audit.report` event
// to each of `audit.channels` (email: subject + text + html; webhook: the JSON; Alertmanager:
// nothing, it is not an alert).

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { AuditReport } from './compute.js';
import {
  auditJsonParts,
  auditSubject,
  auditToJson,
  renderAuditText,
  type AuditDeviceJson,
  type AuditJson,
} from './render.js';
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

/**
 * buildAuditMessage for the daemon's scheduled audit: the same message, letting the event loop go
 * between the renders and between slices of the JSON's devices — at 10,000 devices the JSON alone
 * takes a quarter of a second, and the daemon polls on that loop.
 */
export async function buildAuditMessageInSlices(
  report: AuditReport,
  timeZone: string,
  letGo: () => Promise<unknown> = () => yieldToLoop(),
): Promise<AuditMessage> {
  const subject = auditSubject(report);
  const text = renderAuditText(report, timeZone);
  await letGo();
  const html = renderAuditHtml(report, timeZone);
  await letGo();
  const { head, device } = auditJsonParts(report, timeZone);
  const devices: AuditDeviceJson[] = [];
  let sliceStart = performance.now();
  for (const d of report.devices) {
    devices.push(device(d));
    if (performance.now() - sliceStart >= 10) {
      await letGo();
      sliceStart = performance.now();
    }
  }
  return { report, subject, text, html, json: { ...head, devices } };
}
