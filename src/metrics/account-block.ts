// The per-account families, counted and written by us rather than by prom-client. At 500
// accounts prom-client's text for them (~1 MB) cost ~15 ms and ~21 MiB of garbage per scrape — an
// object per histogram bucket and label set, strings joined line by line — and an exporter
// process held ~55 MB more RSS than with 10 accounts. The text is the one prom-client wrote:
// families in the order they were registered, label sets in the order accounts were first seen
// (counters, the histogram) or listed by the source (gauges), `le` first on bucket lines.
//
// Like the device block it is written from a snapshot taken when the scrape starts (the counts
// copied into one reused Float64Array), in chunks.
import { PROBE_ERROR_REASONS } from '../monitor/model.js';
import type { ProbeErrorReason } from '../monitor/model.js';
import { familyHeader } from './exposition.js';
import type { MetricType } from './exposition.js';
import type { Block } from './exposition-stream.js';
import type { AccountMetricsView } from './source.js';
import { TextWriter, encodeText } from './text-writer.js';

const REASON_INDEX = new Map<ProbeErrorReason, number>(PROBE_ERROR_REASONS.map((r, i) => [r, i]));
const REASONS = PROBE_ERROR_REASONS.length;

/** Slots of one account in a snapshot: three counters, the errors, the buckets, sum and count. */
const CHECKS = 0;
const DELIVERY_CHECKS = 1;
const SKIPPED = 2;
const ERRORS = 3;
const BUCKETS = ERRORS + REASONS;

/** A family's header; a blank line follows each family (prom-client joins them with "\n\n"). */
function header(name: string, type: MetricType, help: string): Uint8Array {
  return encodeText(familyHeader(name, type, help));
}

const FAMILIES = {
  checks: header(
    'whatsgate_checks_total',
    'counter',
    'Calls made to the WhatsGate API (status, connect and balance).',
  ),
  deliveryChecks: header(
    'whatsgate_delivery_checks_total',
    'counter',
    'Balance reads (GET /reports/balance) made to the WhatsGate API; also counted in whatsgate_checks_total.',
  ),
  deliveryInterval: header(
    'whatsgate_account_delivery_interval_seconds',
    'gauge',
    "How often each device's balance is really read, given the budget left after status checks (+Inf: none left).",
  ),
  errors: header('whatsgate_check_errors_total', 'counter', 'API calls that produced no status, by reason.'),
  duration: header('whatsgate_check_duration_seconds', 'histogram', 'Duration of one WhatsGate API call.'),
  skipped: header(
    'whatsgate_poll_cycles_skipped_total',
    'counter',
    'Scheduler ticks skipped because the previous poll cycle was still running.',
  ),
  reachable: header(
    'whatsgate_account_reachable',
    'gauge',
    '0 while account.unreachable holds (the monitor cannot see the devices), else 1.',
  ),
  interval: header(
    'whatsgate_account_interval_seconds',
    'gauge',
    'How often the configuration asks for each device of the account to be checked.',
  ),
  effectiveInterval: header(
    'whatsgate_account_effective_interval_seconds',
    'gauge',
    'How often each device of the account is really checked, given the API budget.',
  ),
  cycleDuration: header(
    'whatsgate_poll_cycle_duration_seconds',
    'gauge',
    'Duration of the last full poll cycle of the account.',
  ),
} as const;

const ACCOUNT = (name: string): Uint8Array => encodeText(`${name}{account="`);
const OPEN = {
  checks: ACCOUNT('whatsgate_checks_total'),
  deliveryChecks: ACCOUNT('whatsgate_delivery_checks_total'),
  deliveryInterval: ACCOUNT('whatsgate_account_delivery_interval_seconds'),
  errors: ACCOUNT('whatsgate_check_errors_total'),
  sum: ACCOUNT('whatsgate_check_duration_seconds_sum'),
  count: ACCOUNT('whatsgate_check_duration_seconds_count'),
  skipped: ACCOUNT('whatsgate_poll_cycles_skipped_total'),
  reachable: ACCOUNT('whatsgate_account_reachable'),
  interval: ACCOUNT('whatsgate_account_interval_seconds'),
  effectiveInterval: ACCOUNT('whatsgate_account_effective_interval_seconds'),
  cycleDuration: ACCOUNT('whatsgate_poll_cycle_duration_seconds'),
} as const;
const REASON_CLOSE = PROBE_ERROR_REASONS.map((r) => encodeText(`",reason="${r}"} `));
const CLOSE = encodeText('"} ');
const LINE_FEED = 0x0a;

/** What one account counted since it was first seen. */
export interface Tally {
  checks: number;
  deliveryChecks: number;
  skipped: number;
  readonly errors: Float64Array;
  /** Observations per bucket (not cumulative); above the last bound only `count` grows. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** One scrape's copy of the counts (accounts in first-seen order) and the source's views. */
interface AccountSnapshot {
  readonly names: string[];
  readonly values: Float64Array;
  readonly views: readonly AccountMetricsView[];
}

export class AccountFamilies {
  readonly #bounds: readonly number[];
  readonly #bucketOpen: readonly Uint8Array[];
  readonly #stride: number;
  /** Insertion order is the order of the label sets in the text. */
  readonly #tallies = new Map<string, Tally>();
  /** Columns reused by the next scrape. */
  #idle: AccountSnapshot | null = null;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#bucketOpen = [...bounds.map(String), '+Inf'].map((le) =>
      encodeText(`whatsgate_check_duration_seconds_bucket{le="${le}",account="`),
    );
    this.#stride = BUCKETS + bounds.length + 2;
  }

  accounts(): IterableIterator<string> {
    return this.#tallies.keys();
  }

  /** Starts the account's series at zero, so rate() and increase() see the first error too. */
  ensure(account: string): Tally {
    let tally = this.#tallies.get(account);
    if (tally === undefined) {
      tally = {
        checks: 0,
        deliveryChecks: 0,
        skipped: 0,
        errors: new Float64Array(REASONS),
        buckets: new Float64Array(this.#bounds.length),
        sum: 0,
        count: 0,
      };
      this.#tallies.set(account, tally);
    }
    return tally;
  }

  forget(account: string): boolean {
    return this.#tallies.delete(account);
  }

  /** Throws after counting the call, as prom-client's histogram did, on a duration that is not finite. */
  recordCheck(account: string, seconds: number, reason: ProbeErrorReason | null): void {
    const tally = this.ensure(account);
    tally.checks += 1;
    if (!Number.isFinite(seconds)) throw new TypeError(`Value is not a valid number: ${seconds}`);
    const bounds = this.#bounds;
    for (let b = 0; b < bounds.length; b += 1) {
      if (seconds <= bounds[b]!) {
        tally.buckets[b]! += 1;
        break;
      }
    }
    tally.sum += seconds;
    tally.count += 1;
    if (reason !== null) tally.errors[REASON_INDEX.get(reason)!]! += 1;
  }

  /** One scrape's block: the counts are copied now; `views` are the source's accounts now. */
  block(views: readonly AccountMetricsView[]): Block {
    const snapshot = this.#snapshot(views);
    return {
      chunks: (out, chunkBytes) => this.#chunks(snapshot, out, chunkBytes),
      recycle: () => (this.#idle = snapshot),
    };
  }

  #snapshot(views: readonly AccountMetricsView[]): AccountSnapshot {
    const n = this.#tallies.size;
    const reuse = this.#idle;
    this.#idle = null;
    const names = reuse?.names ?? [];
    const values =
      reuse !== null && reuse.values.length >= n * this.#stride
        ? reuse.values
        : new Float64Array(Math.max(64, n * 2) * this.#stride);
    let i = 0;
    for (const [name, t] of this.#tallies) {
      const at = i * this.#stride;
      names[i] = name;
      values[at + CHECKS] = t.checks;
      values[at + DELIVERY_CHECKS] = t.deliveryChecks;
      values[at + SKIPPED] = t.skipped;
      values.set(t.errors, at + ERRORS);
      values.set(t.buckets, at + BUCKETS);
      values[at + BUCKETS + t.buckets.length] = t.sum;
      values[at + BUCKETS + t.buckets.length + 1] = t.count;
      i += 1;
    }
    names.length = n;
    return { names, values, views };
  }

  /** Writes the families, pausing as Block.chunks says. */
  *#chunks(s: AccountSnapshot, out: TextWriter, chunkBytes: number): Generator<void, void, void> {
    const { names, values, views } = s;
    const stride = this.#stride;
    const counter = function* (head: Uint8Array, open: Uint8Array, slot: number): Generator<void> {
      out.bytes(head);
      for (let i = 0; i < names.length; i += 1) {
        line(out, open, names[i]!, CLOSE, values[i * stride + slot]!);
        if (out.length >= chunkBytes) yield;
      }
      out.byte(LINE_FEED);
    };
    const gauge = function* (
      head: Uint8Array,
      open: Uint8Array,
      value: (v: AccountMetricsView) => number | null | undefined,
    ): Generator<void> {
      out.bytes(head);
      for (const v of views) {
        const x = value(v);
        if (x !== null && x !== undefined) line(out, open, v.account, CLOSE, x);
      }
      out.byte(LINE_FEED);
      if (out.length >= chunkBytes) yield;
    };

    yield* counter(FAMILIES.checks, OPEN.checks, CHECKS);
    yield* counter(FAMILIES.deliveryChecks, OPEN.deliveryChecks, DELIVERY_CHECKS);
    yield* gauge(FAMILIES.deliveryInterval, OPEN.deliveryInterval, (v) =>
      v.deliveryIntervalMs === undefined || v.deliveryIntervalMs === null
        ? null
        : v.deliveryIntervalMs / 1000,
    );
    out.bytes(FAMILIES.errors);
    for (let i = 0; i < names.length; i += 1) {
      for (let r = 0; r < REASONS; r += 1) {
        line(out, OPEN.errors, names[i]!, REASON_CLOSE[r]!, values[i * stride + ERRORS + r]!);
      }
      if (out.length >= chunkBytes) yield;
    }
    out.byte(LINE_FEED);
    out.bytes(FAMILIES.duration);
    const bounds = this.#bounds.length;
    for (let i = 0; i < names.length; i += 1) {
      const at = i * stride + BUCKETS;
      let cumulative = 0;
      for (let b = 0; b < bounds; b += 1) {
        cumulative += values[at + b]!;
        line(out, this.#bucketOpen[b]!, names[i]!, CLOSE, cumulative);
      }
      const count = values[at + bounds + 1]!;
      line(out, this.#bucketOpen[bounds]!, names[i]!, CLOSE, count);
      line(out, OPEN.sum, names[i]!, CLOSE, values[at + bounds]!);
      line(out, OPEN.count, names[i]!, CLOSE, count);
      if (out.length >= chunkBytes) yield;
    }
    out.byte(LINE_FEED);
    yield* counter(FAMILIES.skipped, OPEN.skipped, SKIPPED);
    yield* gauge(FAMILIES.reachable, OPEN.reachable, (v) => (v.reachable ? 1 : 0));
    yield* gauge(FAMILIES.interval, OPEN.interval, (v) => v.intervalMs / 1000);
    yield* gauge(FAMILIES.effectiveInterval, OPEN.effectiveInterval, (v) => v.effectiveIntervalMs / 1000);
    yield* gauge(FAMILIES.cycleDuration, OPEN.cycleDuration, (v) =>
      v.lastCycleDurationMs === null ? null : v.lastCycleDurationMs / 1000,
    );
  }

  /** The whole block as text: for tests. */
  renderToString(views: readonly AccountMetricsView[]): string {
    const out = new TextWriter();
    for (const _ of this.block(views).chunks(out, Number.POSITIVE_INFINITY));
    return out.toString();
  }
}

/** `open` + the account, escaped + `close` + the value + a line feed. */
function line(out: TextWriter, open: Uint8Array, account: string, close: Uint8Array, value: number): void {
  out.bytes(open);
  out.labelValue(account);
  out.bytes(close);
  out.number(value);
  out.byte(LINE_FEED);
}
