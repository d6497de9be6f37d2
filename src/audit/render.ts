// The audit report for people (text for terminals and email; the HTML part is render-html.ts) and
// for scripts (JSON with ISO times, SPEC §5 `audit --json`). Pure functions of the report.

import { formatDuration } from '../fields/duration.js';
import { runAtOnce, type Steps } from '../report/steps.js';
import { tableSteps } from '../report/table.js';
import { isoOrNull, isoWithOffset } from '../report/time.js';
import type { AuditReport, DeviceAudit, Outage } from './compute.js';
import { deliveryTodayCell, hours, stalledCell } from './delivery.js';
import { formatPercent, humanDuration, localTime } from '../report/format.js';

/** One line per device that needs a person's attention, with what to do. */
export interface AuditFinding {
  readonly account: string;
  readonly number: string;
  readonly name: string;
  readonly kind: 'stale' | 'not_found' | 'deleted' | 'never_connected';
  readonly text: string;
  /** A command to run, when there is one. */
  readonly command: string | null;
}

export function auditFindings(report: AuditReport, timeZone: string): AuditFinding[] {
  const out: AuditFinding[] = [];
  for (const d of report.devices) {
    const base = { account: d.account, number: d.number, name: d.name };
    if (d.notFound) {
      out.push({
        ...base,
        kind: 'not_found',
        text:
          'unknown to the gateway ("device not found!"): remove it from the config, or add it at the ' +
          'gateway and link it',
        command: null,
      });
    } else if (d.deletedAt !== null) {
      out.push({
        ...base,
        kind: 'deleted',
        text: `deleted at the gateway on ${localTime(d.deletedAt, timeZone)}: remove it from the config`,
        command: null,
      });
    } else if (d.stale && d.notConnectedSince !== null) {
      const how = d.neverConnected ? 'never connected' : `${d.status ?? 'not connected'}`;
      out.push({
        ...base,
        kind: 'stale',
        text:
          `not connected for ${humanDuration(report.now - d.notConnectedSince)} (${how} since ` +
          `${localTime(d.notConnectedSince, timeZone)}): unused? consider deleting`,
        command: d.deleteCommand,
      });
    } else if (d.neverConnected && d.notConnectedSince !== null) {
      out.push({
        ...base,
        kind: 'never_connected',
        text: `never connected since it was first seen on ${localTime(d.notConnectedSince, timeZone)}: link it`,
        command: `whatsgate-monitor connect ${d.number}`,
      });
    }
  }
  return out;
}

export function statusCell(d: DeviceAudit): string {
  return d.status ?? 'no data';
}

export function outagesCell(d: DeviceAudit): string {
  const ongoing = d.outages.at(-1)?.end === null;
  return `${d.outages.length}${ongoing ? ' (ongoing)' : ''}`;
}

export function longestCell(o: Outage | null): string {
  return o === null ? '–' : humanDuration(o.durationMs);
}

export function periodLine(report: AuditReport, timeZone: string): string {
  return (
    `${localTime(report.since, timeZone)} to ${localTime(report.now, timeZone)} ` +
    `(${humanDuration(report.now - report.since)}, ${timeZone})`
  );
}

export function summaryLine(report: AuditReport): string {
  const s = report.summary;
  const parts = [
    `${s.devices} device${s.devices === 1 ? '' : 's'}: ${s.connected} connected, ${s.notConnected} not connected` +
      (s.noData > 0 ? `, ${s.noData} without data` : '') +
      (s.deleted > 0 ? `, ${s.deleted} deleted` : ''),
    `overall uptime ${formatPercent(s.uptime)}`,
    `${s.outages} outage${s.outages === 1 ? '' : 's'}`,
  ];
  if (s.stale > 0) parts.push(`${s.stale} stale`);
  if (s.notFound > 0) parts.push(`${s.notFound} unknown to the gateway`);
  return parts.join(' · ');
}

export function coverageNote(report: AuditReport): string {
  return report.runsKnown
    ? 'Uptime counts observed time only. Time before a device was first seen, after it was deleted, or ' +
        'while the monitor was not running is unknown (OBSERVED below 100 %), never counted as up.'
    : 'Uptime counts observed time only. Time before a device was first seen or after it was deleted is ' +
        'unknown (OBSERVED below 100 %). The monitor kept no record of when it ran in this period, so a ' +
        'stop of the monitor in the middle of it cannot be told apart.';
}

/** What the delivery columns mean (SPEC §10). */
export const DELIVERY_NOTE =
  'DELIVERY TODAY: sent/pending/failed at the gateway today and the balance left, from the last ' +
  'balance reading. STALLED H: hours in the period with messages stuck pending (still stalled: up to now).';

export function auditSubject(report: AuditReport): string {
  const s = report.summary;
  const parts = [`${s.devices} device${s.devices === 1 ? '' : 's'}`, `uptime ${formatPercent(s.uptime)}`];
  if (s.stale > 0) parts.push(`${s.stale} stale`);
  if (s.notFound > 0) parts.push(`${s.notFound} unknown to the gateway`);
  if (s.deleted > 0) parts.push(`${s.deleted} deleted`);
  return `[whatsgate] Audit: ${parts.join(', ')}`;
}

export function renderAuditText(report: AuditReport, timeZone: string): string {
  return runAtOnce(auditTextSteps(report, timeZone));
}

/** renderAuditText, yielding after each device's row (report/steps.ts): the daemon renders it in slices. */
export function* auditTextSteps(report: AuditReport, timeZone: string): Steps<string> {
  // DEVICE leads: after ACCOUNT, a number sat between two words (`main 4915112345678 Sales`),
  // which SpamAssassin's HEXHASH_WORD scores as a spammer's hash in the emailed report.
  const header = [
    'DEVICE',
    'ACCOUNT',
    'NAME',
    'STATUS',
    'UPTIME',
    'OUTAGES',
    'DOWNTIME',
    'LONGEST',
    'OBSERVED',
    'DELIVERY TODAY',
    'STALLED H',
  ];
  const rows: string[][] = [];
  for (const d of report.devices) {
    rows.push([
      d.number,
      d.account,
      d.name,
      statusCell(d),
      formatPercent(d.uptime),
      outagesCell(d),
      d.outageMs > 0 ? humanDuration(d.outageMs) : '–',
      longestCell(d.longestOutage),
      formatPercent(d.coverage),
      deliveryTodayCell(d.delivery),
      stalledCell(d.delivery),
    ]);
    yield;
  }

  const out: string[] = [
    `WhatsGate device audit — ${periodLine(report, timeZone)}`,
    summaryLine(report),
    '',
    (yield* tableSteps(header, rows)).trimEnd(),
  ];
  const findings = auditFindings(report, timeZone);
  if (findings.length > 0) {
    out.push('', 'Needs attention:');
    for (const f of findings) {
      out.push(`  - ${f.name} (${f.number}, account ${f.account}): ${f.text}`);
      if (f.command !== null) out.push(`      ${f.command}`);
    }
  }
  out.push('', wrap(coverageNote(report), 100), wrap(DELIVERY_NOTE, 100));
  return `${out.join('\n')}\n`;
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current === '' ? word : `${current} ${word}`;
  }
  if (current !== '') lines.push(current);
  return lines.join('\n');
}

/** `audit --json` (SPEC §5): snake_case, ISO times with the zone's offset, seconds for lengths. */
export interface AuditJson {
  readonly generated_at: string;
  readonly since: string;
  readonly until: string;
  readonly period: string;
  readonly stale_after: string;
  readonly runs_known: boolean;
  readonly summary: {
    readonly devices: number;
    readonly connected: number;
    readonly not_connected: number;
    readonly no_data: number;
    readonly stale: number;
    readonly not_found: number;
    readonly deleted: number;
    readonly outages: number;
    readonly uptime_percent: number | null;
  };
  readonly devices: readonly AuditDeviceJson[];
}

export interface AuditDeviceJson {
  readonly account: string;
  readonly device: string;
  readonly name: string;
  readonly status: string | null;
  readonly since: string | null;
  readonly uptime_percent: number | null;
  readonly observed_percent: number;
  readonly observed_seconds: number;
  readonly connected_seconds: number;
  readonly down_seconds: number;
  readonly unknown_seconds: number;
  readonly outages: number;
  readonly outage_seconds: number;
  readonly longest_outage: OutageJson | null;
  readonly outage_list: readonly OutageJson[];
  readonly last_connected: string | null;
  readonly not_connected_since: string | null;
  readonly never_connected: boolean;
  readonly stale: boolean;
  readonly not_found: boolean;
  readonly deleted_at: string | null;
  readonly action: string | null;
  readonly delivery: DeliveryJson;
}

/** Today's counts (null until the balance was read) and the hours each problem held in the period. */
export interface DeliveryJson {
  readonly successful: number | null;
  readonly pending: number | null;
  readonly failed: number | null;
  readonly remaining: number | null;
  readonly stalled_hours: number;
  readonly failing_hours: number;
  readonly balance_low_hours: number;
}

export interface OutageJson {
  readonly start: string;
  readonly end: string | null;
  readonly seconds: number;
  readonly started_before_period: boolean;
}

const seconds = (ms: number): number => Math.round(ms / 1000);
const percent = (f: number | null): number | null => (f === null ? null : Math.floor(f * 10_000) / 100);

function outageJson(o: Outage, timeZone: string): OutageJson {
  return {
    start: isoWithOffset(o.start, timeZone),
    end: isoOrNull(o.end, timeZone),
    seconds: seconds(o.durationMs),
    started_before_period: o.startedBefore,
  };
}

export function auditToJson(report: AuditReport, timeZone: string): AuditJson {
  const { head, device } = auditJsonParts(report, timeZone);
  return { ...head, devices: report.devices.map(device) };
}

/** auditToJson in parts: all but the devices, and one device (so that a fleet may go a slice at a time). */
export function auditJsonParts(
  report: AuditReport,
  timeZone: string,
): { head: Omit<AuditJson, 'devices'>; device: (d: DeviceAudit) => AuditDeviceJson } {
  const s = report.summary;
  const findings = new Map(auditFindings(report, timeZone).map((f) => [`${f.account}\0${f.number}`, f]));
  const head = {
    generated_at: isoWithOffset(report.now, timeZone),
    since: isoWithOffset(report.since, timeZone),
    until: isoWithOffset(report.now, timeZone),
    period: formatDuration(report.now - report.since),
    stale_after: formatDuration(report.staleAfterMs),
    runs_known: report.runsKnown,
    summary: {
      devices: s.devices,
      connected: s.connected,
      not_connected: s.notConnected,
      no_data: s.noData,
      stale: s.stale,
      not_found: s.notFound,
      deleted: s.deleted,
      outages: s.outages,
      uptime_percent: percent(s.uptime),
    },
  };
  const device = (d: DeviceAudit): AuditDeviceJson => {
    const f = findings.get(`${d.account}\0${d.number}`);
    return {
      account: d.account,
      device: d.number,
      name: d.name,
      status: d.status,
      since: isoOrNull(d.statusSince, timeZone),
      uptime_percent: percent(d.uptime),
      observed_percent: percent(d.coverage) ?? 0,
      observed_seconds: seconds(d.observedMs),
      connected_seconds: seconds(d.connectedMs),
      down_seconds: seconds(d.downMs),
      unknown_seconds: seconds(d.unknownMs),
      outages: d.outages.length,
      outage_seconds: seconds(d.outageMs),
      longest_outage: d.longestOutage === null ? null : outageJson(d.longestOutage, timeZone),
      outage_list: d.outages.map((o) => outageJson(o, timeZone)),
      last_connected: isoOrNull(d.lastConnectedAt, timeZone),
      not_connected_since: isoOrNull(d.notConnectedSince, timeZone),
      never_connected: d.neverConnected,
      stale: d.stale,
      not_found: d.notFound,
      deleted_at: isoOrNull(d.deletedAt, timeZone),
      action: f === undefined ? null : f.command === null ? f.text : `${f.text}: ${f.command}`,
      delivery: deliveryJson(d),
    };
  };
  return { head, device };
}

function deliveryJson(d: DeviceAudit): DeliveryJson {
  const r = d.delivery.today;
  const ms = d.delivery.problemMs;
  return {
    successful: r?.successful ?? null,
    pending: r?.pending ?? null,
    failed: r?.failed ?? null,
    remaining: r?.remaining ?? null,
    stalled_hours: hours(ms.stalled),
    failing_hours: hours(ms.failing),
    balance_low_hours: hours(ms.balance_low),
  };
}
