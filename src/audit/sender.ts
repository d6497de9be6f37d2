// What `audit --send` and the daemon's scheduled audit (config `audit.schedule`) hand to the
// notification layer. The audit renders; the notifier only delivers — one `audit.report` event
// to each of `audit.channels` (email: subject + text + html; webhook: the JSON; Alertmanager:
// nothing, it is not an alert).

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { AuditReport } from './compute.js';
import { runInSlices, SLICE_MS } from '../report/steps.js';
import {
  auditJsonParts,
  auditSubject,
  auditTextSteps,
  auditToJson,
  renderAuditText,
  type AuditDeviceJson,
  type AuditJson,
} from './render.js';
import { auditHtmlSteps, renderAuditHtml } from './render-html.js';

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
 * buildAuditMessage for the daemon's scheduled audit: the same message, the text, the HTML and the
 * JSON's devices each rendered in slices that let the event loop go — at 10,000 devices each takes
 * tens of milliseconds or more, and the daemon polls on that loop.
 */
export async function buildAuditMessageInSlices(
  report: AuditReport,
  timeZone: string,
  letGo: () => Promise<unknown> = () => yieldToLoop(),
  sliceMs = SLICE_MS,
): Promise<AuditMessage> {
  // The report's last step (its summary over every device) may have run just before: a slice of its own.
  await letGo();
  const subject = auditSubject(report);
  const text = await runInSlices(auditTextSteps(report, timeZone), letGo, sliceMs);
  // Between the parts too: each ends with a join of megabytes, the next begins with a pass over all.
  await letGo();
  const html = await runInSlices(auditHtmlSteps(report, timeZone), letGo, sliceMs);
  await letGo();
  const { head, device } = auditJsonParts(report, timeZone);
  const devices: AuditDeviceJson[] = [];
  let sliceStart = performance.now();
  for (const d of report.devices) {
    devices.push(device(d));
    if (performance.now() - sliceStart >= sliceMs) {
      await letGo();
      sliceStart = performance.now();
    }
  }
  return { report, subject, text, html, json: { ...head, devices } };
}
