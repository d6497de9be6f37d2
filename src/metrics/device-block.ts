// The per-device families, written straight to text. At 10,000 devices they are ~120,000
// series; as prom-client gauges they would be a label-hash map per family, updated on every
// state change and serialised through generic code on every scrape. Writing them from the
// daemon's own state is several times faster and holds no second copy of it.
import { DELIVERY_PROBLEMS, type DeliveryProblem } from '../monitor/delivery.js';
import { DEVICE_STATUSES } from '../monitor/model.js';
import type { DeviceStatus } from '../monitor/model.js';
import { familyHeader, sanitizeLabelName } from './exposition.js';
import type { MetricType } from './exposition.js';
import type { DeviceMetricsView } from './source.js';
import { TextWriter, encodeText } from './text-writer.js';

/** Labels that `whatsgate_device_info` sets itself; a user label of the same name is dropped. */
const RESERVED_INFO_LABELS: readonly string[] = ['account', 'device', 'name'];

interface Family {
  /** `# HELP`/`# TYPE` lines, a blank line before them to match prom-client's layout. */
  readonly header: Uint8Array;
  /** `name{account="` */
  readonly open: Uint8Array;
}

function family(name: string, type: MetricType, help: string): Family {
  return {
    header: encodeText(`\n${familyHeader(name, type, help)}`),
    open: encodeText(`${name}{account="`),
  };
}

const FAMILIES = {
  info: family(
    'whatsgate_device_info',
    'gauge',
    'Always 1: the name and user labels of a configured device, to join with * on(account,device) group_left(name).',
  ),
  status: family(
    'whatsgate_device_status',
    'gauge',
    'State set: 1 for the current status, 0 for the others; all 0 until the first valid answer.',
  ),
  up: family('whatsgate_device_up', 'gauge', '1 while the device is UP, 0 while DOWN (after thresholds).'),
  probeSuccess: family(
    'whatsgate_device_probe_success',
    'gauge',
    '1 when the last check got a valid answer, 0 on a probe error; absent before the first check.',
  ),
  lastCheck: family(
    'whatsgate_device_last_check_timestamp_seconds',
    'gauge',
    'Unix time of the last check of the device; absent before the first check.',
  ),
  statusSince: family(
    'whatsgate_device_status_since_timestamp_seconds',
    'gauge',
    'Unix time since which the current status holds; absent while unknown.',
  ),
  transitions: family('whatsgate_device_transitions_total', 'counter', 'Status changes of the device.'),
  silenced: family(
    'whatsgate_device_silenced',
    'gauge',
    '1 while a silence or maintenance window mutes notifications for the device.',
  ),
  pending: family(
    'whatsgate_device_messages_pending',
    'gauge',
    "Messages waiting to be sent, as the gateway's last balance reading reported; absent until read.",
  ),
  successful: family(
    'whatsgate_device_messages_successful',
    'gauge',
    "Messages sent today (the gateway's day), as last read; absent until read.",
  ),
  failed: family(
    'whatsgate_device_messages_failed',
    'gauge',
    "Messages failed today (the gateway's day), as last read; absent until read.",
  ),
  remaining: family(
    'whatsgate_device_balance_remaining',
    'gauge',
    'Messages left in the balance, as last read; absent until read.',
  ),
  problem: family(
    'whatsgate_device_delivery_problem',
    'gauge',
    'State set: 1 for each delivery problem that holds (stalled, failing, balance_low), else 0; absent until read.',
  ),
} as const;

const DEVICE_SEP = encodeText('",device="');
const NAME_SEP = encodeText('",name="');
const CLOSE = encodeText('"} ');
const STATUS_CLOSE: readonly (readonly [DeviceStatus, Uint8Array])[] = DEVICE_STATUSES.map(
  (s) => [s, encodeText(`",status="${s}"} `)] as const,
);
const PROBLEM_CLOSE: readonly (readonly [DeliveryProblem, Uint8Array])[] = DELIVERY_PROBLEMS.map(
  (p) => [p, encodeText(`",problem="${p}"} `)] as const,
);
const ZERO = 0x30;
const ONE = 0x31;
const LINE_FEED = 0x0a;

/**
 * Writes the device families into a `TextWriter`. Holds only a cache of encoded user labels
 * keyed by the labels object (treated as immutable), so a source that hands out the config's
 * object on every scrape pays for escaping once; a fresh object each time still works.
 */
export class DeviceBlockRenderer {
  #userLabels = new WeakMap<object, Uint8Array>();

  /** Convenience for tests and one-off use; `render(devices, writer)` avoids the allocation. */
  renderToString(devices: Iterable<DeviceMetricsView>): string {
    const writer = new TextWriter();
    this.render(devices, writer);
    return writer.toString();
  }

  render(devices: Iterable<DeviceMetricsView>, out: TextWriter): void {
    // A family's lines must be contiguous, so the output goes family by family; the source is
    // only promised to be iterable once, hence the array.
    const list: readonly DeviceMetricsView[] = Array.isArray(devices) ? devices : [...devices];
    const first = list[0];
    if (first !== undefined) out.reserve(list.length * estimateDeviceBytes(first));

    out.bytes(FAMILIES.info.header);
    for (const d of list) {
      this.#openLine(out, FAMILIES.info, d);
      out.bytes(NAME_SEP);
      out.labelValue(d.name);
      out.bytes(this.#encodedUserLabels(d.labels));
      out.bytes(CLOSE);
      out.byte(ONE);
      out.byte(LINE_FEED);
    }

    out.bytes(FAMILIES.status.header);
    for (const d of list) {
      // Not checked yet: no state set at all, rather than six zeros that read as "none of them".
      if (d.status === null) continue;
      for (const [status, close] of STATUS_CLOSE) {
        this.#openLine(out, FAMILIES.status, d);
        out.bytes(close);
        out.byte(d.status === status ? ONE : ZERO);
        out.byte(LINE_FEED);
      }
    }

    this.#flagFamily(out, FAMILIES.up, list, (d) => d.up);
    this.#flagFamily(out, FAMILIES.probeSuccess, list, (d) => d.probeSuccess);
    this.#numberFamily(out, FAMILIES.lastCheck, list, (d) => toSeconds(d.lastCheckAt));
    this.#numberFamily(out, FAMILIES.statusSince, list, (d) => toSeconds(d.statusSince));
    this.#numberFamily(out, FAMILIES.transitions, list, (d) => d.transitions);
    this.#flagFamily(out, FAMILIES.silenced, list, (d) => d.silenced);

    this.#numberFamily(out, FAMILIES.pending, list, (d) => d.delivery?.pending ?? null);
    this.#numberFamily(out, FAMILIES.successful, list, (d) => d.delivery?.successful ?? null);
    this.#numberFamily(out, FAMILIES.failed, list, (d) => d.delivery?.failed ?? null);
    this.#numberFamily(out, FAMILIES.remaining, list, (d) => d.delivery?.remaining ?? null);
    out.bytes(FAMILIES.problem.header);
    for (const d of list) {
      const delivery = d.delivery;
      if (delivery === undefined || delivery === null) continue;
      for (const [problem, close] of PROBLEM_CLOSE) {
        this.#openLine(out, FAMILIES.problem, d);
        out.bytes(close);
        out.byte(delivery.problems.includes(problem) ? ONE : ZERO);
        out.byte(LINE_FEED);
      }
    }
  }

  /** Writes `name{account="…",device="…` — everything up to the closing quote of `device`. */
  #openLine(out: TextWriter, f: Family, d: DeviceMetricsView): void {
    out.bytes(f.open);
    out.labelValue(d.account);
    out.bytes(DEVICE_SEP);
    out.labelValue(d.device);
  }

  /** A 0/1 family; `null` leaves the device out (value unknown, not false). */
  #flagFamily(
    out: TextWriter,
    f: Family,
    list: readonly DeviceMetricsView[],
    value: (d: DeviceMetricsView) => boolean | null,
  ): void {
    out.bytes(f.header);
    for (const d of list) {
      const v = value(d);
      if (v === null) continue;
      this.#openLine(out, f, d);
      out.bytes(CLOSE);
      out.byte(v ? ONE : ZERO);
      out.byte(LINE_FEED);
    }
  }

  #numberFamily(
    out: TextWriter,
    f: Family,
    list: readonly DeviceMetricsView[],
    value: (d: DeviceMetricsView) => number | null,
  ): void {
    out.bytes(f.header);
    for (const d of list) {
      const v = value(d);
      if (v === null) continue;
      this.#openLine(out, f, d);
      out.bytes(CLOSE);
      out.number(v);
      out.byte(LINE_FEED);
    }
  }

  #encodedUserLabels(labels: Readonly<Record<string, string>>): Uint8Array {
    const cached = this.#userLabels.get(labels);
    if (cached !== undefined) return cached;
    const writer = new TextWriter(256);
    const seen = new Set<string>(RESERVED_INFO_LABELS);
    for (const [key, value] of Object.entries(labels)) {
      const name = sanitizeLabelName(key);
      // A duplicate label name makes the line unparseable, which would fail the whole scrape.
      if (seen.has(name)) continue;
      seen.add(name);
      writer.text(`",${name}="`);
      writer.labelValue(value);
    }
    const encoded = writer.toBytes();
    this.#userLabels.set(labels, encoded);
    return encoded;
  }
}

/**
 * Roughly the bytes one device adds, judged from one of them: lets the writer grow once to the
 * right size instead of doubling its way up (each step leaving a copy behind for the GC).
 */
function estimateDeviceBytes(d: DeviceMetricsView): number {
  const id = d.account.length + d.device.length + DEVICE_SEP.length + CLOSE.length + 24;
  let bytes = d.name.length * 2 + 64;
  for (const f of Object.values(FAMILIES)) bytes += f.open.length + id;
  return bytes + 4 * (FAMILIES.status.open.length + id);
}

function toSeconds(epochMs: number | null): number | null {
  return epochMs === null ? null : epochMs / 1000;
}
