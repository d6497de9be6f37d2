// The per-device families, written straight to text. At 10,000 devices they are ~120,000
// series; as prom-client gauges they would be a label-hash map per family, updated on every
// state change and serialised through generic code on every scrape. Writing them from a
// snapshot of the daemon's own state (device-snapshot.ts) is several times faster.
//
// The text is produced in chunks: `chunks` pauses whenever the writer holds a chunk's worth,
// so /metrics can hand it to the socket and give the event loop a turn (exposition-stream.ts).
import { DELIVERY_PROBLEMS } from '../monitor/delivery.js';
import { DEVICE_STATUSES } from '../monitor/model.js';
import { DeviceSnapshot, HAS_DELIVERY, HAS_LAST_CHECK, HAS_SINCE, UNKNOWN } from './device-snapshot.js';
import { escapeLabelValue, familyHeader, sanitizeLabelName } from './exposition.js';
import type { MetricType } from './exposition.js';
import type { Block } from './exposition-stream.js';
import type { DeviceMetricsView } from './source.js';
import { MAX_NUMBER_BYTES, TextWriter, encodeText, putBytes, putNumber, putWords } from './text-writer.js';

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

/** Indexed like DEVICE_STATUSES (and the snapshot's `status`). */
const STATUS_CLOSE: readonly Uint8Array[] = DEVICE_STATUSES.map((s) => encodeText(`",status="${s}"} `));
/** Indexed like DELIVERY_PROBLEMS (and the bits of the snapshot's `problems`). */
const PROBLEM_CLOSE: readonly Uint8Array[] = DELIVERY_PROBLEMS.map((p) => encodeText(`",problem="${p}"} `));
const ZERO = 0x30;
const ONE = 0x31;
const LINE_FEED = 0x0a;
const QUOTE = 0x22;
const BRACE = 0x7d;
const SPACE = 0x20;
/** Room for a line's end: `"} `, a value, `\n`. */
const LINE_SLACK = 4 + MAX_NUMBER_BYTES;

/** Writes `"} ` (the last label's quote, the set's end, the space before the value) at `p`. */
function closeLabels(buf: Uint8Array, p: number): number {
  buf[p] = QUOTE;
  buf[p + 1] = BRACE;
  buf[p + 2] = SPACE;
  return p + 3;
}

/** A chunk that is never full: the whole block in one piece. */
export const ONE_PIECE = Number.POSITIVE_INFINITY;

/** Distinct label sets shared before the table starts over (it only saves memory). */
const MAX_INTERNED = 4096;

/**
 * Writes the device families into a `TextWriter`. Holds only a cache of user labels, escaped,
 * keyed by the labels object (treated as immutable), so a source that hands out the config's
 * object on every scrape pays for escaping once; a fresh object each time still works. The
 * cached texts are strings, and devices with the same labels share one: at 100,000 devices a
 * Uint8Array each (with its ArrayBuffer) held ~20 MB.
 */
export class DeviceBlockRenderer {
  readonly #userLabels = new WeakMap<object, string>();
  readonly #interned = new Map<string, string>();
  readonly #userLabelsText = (labels: Readonly<Record<string, string>>): string =>
    this.#encodedUserLabels(labels);
  /**
   * Reused by the next scrape (~100 B a device, plus its name and labels encoded, ~40 B and up);
   * overlapping scrapes get their own.
   */
  #idle: DeviceSnapshot | null = null;

  /** One scrape's block: `devices` are read now, into a snapshot. */
  block(devices: Iterable<DeviceMetricsView>): Block {
    const snapshot = this.#idle ?? new DeviceSnapshot();
    this.#idle = null;
    snapshot.fill(devices);
    return {
      chunks: (out, chunkBytes) => this.chunks(snapshot, out, chunkBytes),
      recycle: () => (this.#idle = snapshot),
    };
  }

  /** The whole block in one piece: for tests and one-off use. */
  renderToString(devices: Iterable<DeviceMetricsView>): string {
    const snapshot = new DeviceSnapshot();
    snapshot.fill(devices);
    const out = new TextWriter();
    for (const _ of this.chunks(snapshot, out, ONE_PIECE));
    return out.toString();
  }

  /**
   * Writes the block into `out`, pausing (a `yield`) after any device that leaves `out` holding
   * `chunkBytes` or more; the caller takes the bytes (`out.take`) before resuming. When the
   * generator ends, `out` holds the rest. `snapshot` must not change until then.
   *
   * Each line goes straight into the writer's buffer (`reserve` once per device, then put*),
   * the line's parts pre-encoded: its family's `name{account="`, the device's id bytes, its
   * info tail (name and user labels), the closing text; only the value is formatted.
   */
  *chunks(s: DeviceSnapshot, out: TextWriter, chunkBytes: number): Generator<void, void, void> {
    const n = s.length;
    const ids = s.idWords;
    const idStart = s.idStart;

    out.bytes(FAMILIES.info.header);
    const info = s.info(this.#userLabelsText);
    const infoStart = s.infoStart;
    const infoOpen = FAMILIES.info.open;
    for (let i = 0; i < n; i += 1) {
      const a = idStart[i]!;
      const b = idStart[i + 1]!;
      const c = infoStart[i]!;
      const d = infoStart[i + 1]!;
      const buf = out.reserve(infoOpen.length + (b - a) + (d - c) + LINE_SLACK);
      const words = out.words;
      let p = putBytes(buf, out.length, infoOpen);
      p = putWords(words, p, ids, a, b);
      p = putWords(words, p, info, c, d);
      p = closeLabels(buf, p);
      buf[p++] = ONE;
      buf[p++] = LINE_FEED;
      out.commit(p);
      if (p >= chunkBytes) yield;
    }

    out.bytes(FAMILIES.status.header);
    yield* this.#stateSet(out, chunkBytes, FAMILIES.status, s, STATUS_CLOSE, 0);
    yield* this.#flagFamily(out, chunkBytes, FAMILIES.up, s, s.up);
    yield* this.#flagFamily(out, chunkBytes, FAMILIES.probeSuccess, s, s.probe);
    yield* this.#numberFamily(out, chunkBytes, FAMILIES.lastCheck, s, s.lastCheck, HAS_LAST_CHECK);
    yield* this.#numberFamily(out, chunkBytes, FAMILIES.statusSince, s, s.since, HAS_SINCE);
    yield* this.#numberFamily(out, chunkBytes, FAMILIES.transitions, s, s.transitions, 0);
    yield* this.#flagFamily(out, chunkBytes, FAMILIES.silenced, s, s.silenced);

    yield* this.#numberFamily(out, chunkBytes, FAMILIES.pending, s, s.pending, HAS_DELIVERY);
    yield* this.#numberFamily(out, chunkBytes, FAMILIES.successful, s, s.successful, HAS_DELIVERY);
    yield* this.#numberFamily(out, chunkBytes, FAMILIES.failed, s, s.failed, HAS_DELIVERY);
    yield* this.#numberFamily(out, chunkBytes, FAMILIES.remaining, s, s.remaining, HAS_DELIVERY);
    out.bytes(FAMILIES.problem.header);
    yield* this.#stateSet(out, chunkBytes, FAMILIES.problem, s, PROBLEM_CLOSE, HAS_DELIVERY);
  }

  /**
   * A state set: a line per state, 1 for the device's. Status: the index in `s.status` (< 0: not
   * answered yet, no lines at all rather than zeros that read as "none of them"); problems
   * (`needs` HAS_DELIVERY): the bits of `s.problems`.
   */
  *#stateSet(
    out: TextWriter,
    chunkBytes: number,
    f: Family,
    s: DeviceSnapshot,
    closes: readonly Uint8Array[],
    needs: number,
  ): Generator<void, void, void> {
    const ids = s.idWords;
    const idStart = s.idStart;
    const open = f.open;
    const byStatus = needs === 0;
    let room = 0;
    for (const close of closes) room += open.length + close.length + 2;
    for (let i = 0; i < s.length; i += 1) {
      let ones: number;
      if (byStatus) {
        const status = s.status[i]!;
        if (status < 0) continue;
        ones = 1 << status;
      } else {
        if ((s.present[i]! & needs) !== needs) continue;
        ones = s.problems[i]!;
      }
      const a = idStart[i]!;
      const b = idStart[i + 1]!;
      const buf = out.reserve(room + closes.length * (b - a));
      // The lines share `name{account="…",device="…`: written once, then copied within the
      // buffer (one native copy, rather than the family name and the id byte by byte again).
      const lineStart = out.length;
      let p = putWords(out.words, putBytes(buf, lineStart, open), ids, a, b);
      const prefix = p - lineStart;
      for (let k = 0; k < closes.length; k += 1) {
        if (k > 0) {
          buf.copyWithin(p, lineStart, lineStart + prefix);
          p += prefix;
        }
        p = putBytes(buf, p, closes[k]!);
        buf[p++] = (ones >> k) & 1 ? ONE : ZERO;
        buf[p++] = LINE_FEED;
      }
      out.commit(p);
      if (p >= chunkBytes) yield;
    }
  }

  /** A 0/1 family; UNKNOWN leaves the device out (value unknown, not false). */
  *#flagFamily(
    out: TextWriter,
    chunkBytes: number,
    f: Family,
    s: DeviceSnapshot,
    column: Int8Array | Uint8Array,
  ): Generator<void, void, void> {
    out.bytes(f.header);
    const ids = s.idWords;
    const idStart = s.idStart;
    const open = f.open;
    for (let i = 0; i < s.length; i += 1) {
      const v = column[i]!;
      if (v === UNKNOWN) continue;
      const a = idStart[i]!;
      const b = idStart[i + 1]!;
      const buf = out.reserve(open.length + (b - a) + LINE_SLACK);
      let p = putWords(out.words, putBytes(buf, out.length, open), ids, a, b);
      p = closeLabels(buf, p);
      buf[p++] = v === 1 ? ONE : ZERO;
      buf[p++] = LINE_FEED;
      out.commit(p);
      if (p >= chunkBytes) yield;
    }
  }

  /** A family of numbers; `needs` (a bit of `present`, or 0 for always) leaves the others out. */
  *#numberFamily(
    out: TextWriter,
    chunkBytes: number,
    f: Family,
    s: DeviceSnapshot,
    column: Float64Array,
    needs: number,
  ): Generator<void, void, void> {
    out.bytes(f.header);
    const ids = s.idWords;
    const idStart = s.idStart;
    const present = s.present;
    const open = f.open;
    for (let i = 0; i < s.length; i += 1) {
      if ((present[i]! & needs) !== needs) continue;
      const a = idStart[i]!;
      const b = idStart[i + 1]!;
      const buf = out.reserve(open.length + (b - a) + LINE_SLACK);
      let p = putWords(out.words, putBytes(buf, out.length, open), ids, a, b);
      p = closeLabels(buf, p);
      p = putNumber(buf, p, column[i]!);
      buf[p++] = LINE_FEED;
      out.commit(p);
      if (p >= chunkBytes) yield;
    }
  }

  /** `",key="value` for each user label, escaped, as text (UTF-8 encoding happens as it is written). */
  #encodedUserLabels(labels: Readonly<Record<string, string>>): string {
    const cached = this.#userLabels.get(labels);
    if (cached !== undefined) return cached;
    let text = '';
    const seen = new Set<string>(RESERVED_INFO_LABELS);
    for (const [key, value] of Object.entries(labels)) {
      const name = sanitizeLabelName(key);
      // A duplicate label name makes the line unparseable, which would fail the whole scrape.
      if (seen.has(name)) continue;
      seen.add(name);
      text += `",${name}="${escapeLabelValue(value)}`;
    }
    let shared = this.#interned.get(text);
    if (shared === undefined) {
      if (this.#interned.size >= MAX_INTERNED) this.#interned.clear();
      this.#interned.set(text, text);
      shared = text;
    }
    this.#userLabels.set(labels, shared);
    return shared;
  }
}
