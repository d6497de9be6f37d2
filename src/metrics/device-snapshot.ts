// One scrape's copy of the device state, in columns. The device block is written family by
// family (a family's lines must be contiguous) and, since /metrics is streamed, over many turns
// of the event loop; so the state is read once, at the start, and every family is written from
// this copy — each device's lines agree with each other even if a check lands mid-scrape.
//
// Columns rather than one object per device: at 100,000 devices, view objects kept for a whole
// scrape would be ~100,000 objects that outlive a few young-generation collections, get promoted
// and wait for a full GC; typed arrays and arrays of references to strings the daemon already
// holds are a few flat blocks, reused from one scrape to the next.
import { DELIVERY_PROBLEMS } from '../monitor/delivery.js';
import { DEVICE_STATUSES } from '../monitor/model.js';
import type { DeviceStatus } from '../monitor/model.js';
import type { DeviceMetricsView } from './source.js';
import { TextWriter, encodeText, wordsOf } from './text-writer.js';

/** `status` of a device not answered yet: it has no state-set series at all. */
export const NO_STATUS = -1;
/** `status` of a value outside DEVICE_STATUSES: six zeros, as the line-by-line comparison gave. */
const UNLISTED_STATUS = DEVICE_STATUSES.length;
/** `up` and `probe`: unknown, the series is absent. */
export const UNKNOWN = -1;

/** Bits of `present`: which nullable values the device has. */
export const HAS_LAST_CHECK = 1;
export const HAS_SINCE = 2;
export const HAS_DELIVERY = 4;

/** Between the account and the device number in every series line. */
const DEVICE_SEP = encodeText('",device="');
/** Between the device number and the name on whatsgate_device_info. */
const NAME_SEP = encodeText('",name="');

const MIN_CAPACITY = 1024;

export class DeviceSnapshot {
  length = 0;
  #capacity = 0;
  readonly account: string[] = [];
  readonly device: string[] = [];
  readonly name: string[] = [];
  readonly labels: Readonly<Record<string, string>>[] = [];
  /** Index into DEVICE_STATUSES, or NO_STATUS. */
  status = new Int8Array(0);
  /** 1, 0 or UNKNOWN. */
  up = new Int8Array(0);
  probe = new Int8Array(0);
  silenced = new Uint8Array(0);
  present = new Uint8Array(0);
  /** Epoch seconds; meaningful when `present` says so. */
  lastCheck = new Float64Array(0);
  since = new Float64Array(0);
  transitions = new Float64Array(0);
  /** The last balance reading (SPEC §10), when `present` has HAS_DELIVERY. */
  pending = new Float64Array(0);
  successful = new Float64Array(0);
  failed = new Float64Array(0);
  remaining = new Float64Array(0);
  /** Bit i set: DELIVERY_PROBLEMS[i] holds. */
  problems = new Uint8Array(0);
  /**
   * `account",device="number` of each device, escaped UTF-8, back to back: device i's bytes run
   * from `idStart[i]` to `idStart[i + 1]`. Every series line repeats them (13 to 20 lines a
   * device), so they are encoded once, not per line — about a third of a render. Encoded again
   * only when a device's account or number is not the last fill's (a reload).
   */
  ids: Uint8Array = new Uint8Array(0);
  /** `ids` as a DataView, for `putWords`. */
  idWords = wordsOf(this.ids);
  idStart = new Int32Array(1);
  /**
   * `",name="…",key="value…` of each device (whatsgate_device_info's labels after `device`),
   * like `ids`: back to back, device i's from `infoStart[i]` to `infoStart[i + 1]`. Encoded by
   * `info` when a device's name or labels object is not the last fill's (a reload, a rename):
   * escaping names and labels was a fifth of a scrape. ~40 B a device plus its labels. A
   * DataView, for `putWords`.
   */
  #info = wordsOf(new Uint8Array(0));
  infoStart = new Int32Array(1);
  #infoStale = true;

  /**
   * Copies every device the source lists, reading each view before asking for the next (so a
   * source may hand out one object, updated in place).
   */
  fill(devices: Iterable<DeviceMetricsView>): void {
    const before = this.length;
    let idsChanged = false;
    let infoChanged = false;
    let i = 0;
    for (const d of devices) {
      if (i === this.#capacity) this.#resize(Math.max(MIN_CAPACITY, this.#capacity * 2), i);
      // Stored only when changed: mostly they are not, and a stored reference costs a barrier.
      const fresh = i >= before;
      if (fresh || this.account[i] !== d.account || this.device[i] !== d.device) {
        this.account[i] = d.account;
        this.device[i] = d.device;
        idsChanged = true;
      }
      if (fresh || this.name[i] !== d.name || this.labels[i] !== d.labels) {
        this.name[i] = d.name;
        this.labels[i] = d.labels;
        infoChanged = true;
      }
      this.status[i] = d.status === null ? NO_STATUS : statusIndex(d.status);
      this.up[i] = flag(d.up);
      this.probe[i] = flag(d.probeSuccess);
      this.silenced[i] = d.silenced ? 1 : 0;
      let present = 0;
      if (d.lastCheckAt !== null) {
        present |= HAS_LAST_CHECK;
        this.lastCheck[i] = d.lastCheckAt / 1000;
      }
      if (d.statusSince !== null) {
        present |= HAS_SINCE;
        this.since[i] = d.statusSince / 1000;
      }
      this.transitions[i] = d.transitions;
      const delivery = d.delivery;
      if (delivery !== undefined && delivery !== null) {
        present |= HAS_DELIVERY;
        this.pending[i] = delivery.pending;
        this.successful[i] = delivery.successful;
        this.failed[i] = delivery.failed;
        this.remaining[i] = delivery.remaining;
        // Over the problems that hold (mostly none), not over every problem with `includes`.
        const holding = delivery.problems;
        let bits = 0;
        for (let q = 0; q < holding.length; q += 1) {
          const p = DELIVERY_PROBLEMS.indexOf(holding[q]!);
          if (p >= 0) bits |= 1 << p;
        }
        this.problems[i] = bits;
      }
      this.present[i] = present;
      i += 1;
    }
    this.length = i;
    if (idsChanged || i !== before) this.#encodeIds();
    if (infoChanged || i !== before) this.#infoStale = true;
    // Drops references to devices a reload removed, and columns grown for a fleet since shrunk.
    for (const column of [this.account, this.device, this.name, this.labels]) column.length = i;
    if (this.#capacity > MIN_CAPACITY && i * 4 < this.#capacity) {
      this.#resize(Math.max(MIN_CAPACITY, i * 2), i);
    }
  }

  /**
   * The info bytes of every device (see `infoStart`), encoded again only if the fill changed
   * a name or labels. `userLabels`: a device's labels as `",key="value…`, escaped.
   */
  info(userLabels: (labels: Readonly<Record<string, string>>) => string): DataView {
    if (!this.#infoStale) return this.#info;
    const n = this.length;
    const out = new TextWriter(Math.max(1024, n * 48));
    const starts = new Int32Array(n + 1);
    for (let i = 0; i < n; i += 1) {
      starts[i] = out.length;
      out.bytes(NAME_SEP);
      out.labelValue(this.name[i]!);
      out.text(userLabels(this.labels[i]!));
    }
    starts[n] = out.length;
    this.#info = wordsOf(out.toBytes());
    this.infoStart = starts;
    this.#infoStale = false;
    return this.#info;
  }

  #encodeIds(): void {
    const n = this.length;
    const out = new TextWriter(Math.max(1024, n * 32));
    const starts = new Int32Array(n + 1);
    for (let i = 0; i < n; i += 1) {
      starts[i] = out.length;
      out.labelValue(this.account[i]!);
      out.bytes(DEVICE_SEP);
      out.labelValue(this.device[i]!);
    }
    starts[n] = out.length;
    this.ids = out.toBytes();
    this.idWords = wordsOf(this.ids);
    this.idStart = starts;
  }

  /** New columns of `capacity` entries, the first `keep` copied over. */
  #resize(capacity: number, keep: number): void {
    const grow = <T extends Int8Array | Uint8Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old.subarray(0, keep));
      return next;
    };
    this.status = grow(this.status, (n) => new Int8Array(n));
    this.up = grow(this.up, (n) => new Int8Array(n));
    this.probe = grow(this.probe, (n) => new Int8Array(n));
    this.silenced = grow(this.silenced, (n) => new Uint8Array(n));
    this.present = grow(this.present, (n) => new Uint8Array(n));
    this.problems = grow(this.problems, (n) => new Uint8Array(n));
    this.lastCheck = grow(this.lastCheck, (n) => new Float64Array(n));
    this.since = grow(this.since, (n) => new Float64Array(n));
    this.transitions = grow(this.transitions, (n) => new Float64Array(n));
    this.pending = grow(this.pending, (n) => new Float64Array(n));
    this.successful = grow(this.successful, (n) => new Float64Array(n));
    this.failed = grow(this.failed, (n) => new Float64Array(n));
    this.remaining = grow(this.remaining, (n) => new Float64Array(n));
    this.#capacity = capacity;
  }
}

/** A few comparisons, cheaper than a Map lookup once per device and scrape. */
function statusIndex(status: DeviceStatus): number {
  for (let k = 0; k < DEVICE_STATUSES.length; k += 1) if (DEVICE_STATUSES[k] === status) return k;
  return UNLISTED_STATUS;
}

function flag(value: boolean | null): number {
  return value === null ? UNKNOWN : value ? 1 : 0;
}
