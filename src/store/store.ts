// What the daemon, the CLI and the HTTP API persist, independent of the database behind it.
// The monitor's per-device and per-account states are opaque here (JSON-serialisable values,
// stored as given); the few columns beside them exist so readers need not understand them.
// Times are epoch milliseconds.
//
// Asynchronous because PostgreSQL (the HA store, SPEC §11) is; SQLite answers at once (its
// promises are already settled), so the daemon's single-node speed is kept.

import type { DeliveryProblem } from '../monitor/delivery.js';
import type { DeviceStatus, Health } from '../monitor/model.js';
import type { Silence } from '../monitor/silence.js';
import type { OutboxStore } from './outbox-store.js';

/** The current picture of one device, keyed by (account, device). */
export interface DeviceRow {
  readonly account: string;
  /** The number, digits only. */
  readonly device: string;
  /** Null until the first valid answer. */
  readonly status: DeviceStatus | null;
  /** The gateway's text for `status`, verbatim (telling apart the texts behind `unknown`). */
  readonly statusRaw: string | null;
  readonly health: Health;
  readonly statusSince: number | null;
  readonly lastCheckAt: number | null;
  /** The last check's probe error, null when it got a valid answer. */
  readonly probeError: string | null;
  readonly transitions: number;
  /** The monitor's state for this device; must survive `JSON.stringify`/`JSON.parse`. */
  readonly state: unknown;
}

export interface DeletedDevice {
  readonly account: string;
  readonly device: string;
  /** When it was deleted. */
  readonly at: number;
}

/** `deleted` marks a device deleted at the gateway (`delete` command, SPEC §5). */
export type HistoryStatus = DeviceStatus | 'deleted';

/** One status change. */
export interface HistoryRow {
  readonly account: string;
  readonly device: string;
  readonly at: number;
  /** Null for the first status ever seen. */
  readonly from: DeviceStatus | null;
  readonly to: HistoryStatus;
  readonly raw: string | null;
}

/** One device of a bulk read. */
export interface DeviceKey {
  readonly account: string;
  readonly device: string;
}

/**
 * A device's running totals at one instant: the rollup the store keeps with every change as it is
 * written, so uptime over any period costs a lookup per edge instead of a read of the history.
 * A moment counts as `connected` or `down` by the status recorded then (the last change at or
 * before it): `down` is any status but `connected`; before the first change and while `deleted`
 * it counts as neither. The totals run from an arbitrary origin: only the difference between
 * two instants means something (the time connected, or down, between them).
 */
export interface HistoryTotals {
  readonly connectedMs: number;
  readonly downMs: number;
  /** The last change at or before the instant (of several at that time, the last recorded); null before the first. */
  readonly last: { readonly at: number; readonly to: HistoryStatus } | null;
}

/** Where a page of one device's history ended: give it back as `after` for the next page. */
export interface HistoryPosition {
  readonly at: number;
  /** The store's own tie-breaker between changes at the same time. */
  readonly id: number;
}

export interface HistoryPageQuery {
  /** Only changes at or after this time. */
  readonly since?: number;
  /** Only changes after this position (the `next` of the page before). */
  readonly after?: HistoryPosition;
  /** At most this many changes (at least 1). */
  readonly limit: number;
}

export interface HistoryPage {
  /** Oldest first, ties in the order recorded. */
  readonly rows: HistoryRow[];
  /** Where the next page starts; null when no change follows. */
  readonly next: HistoryPosition | null;
}

/**
 * A change as the bulk reads give it (per device, so without its names), from the index alone:
 * without the gateway's text.
 */
export type HistoryChange = Pick<HistoryRow, 'at' | 'from' | 'to'>;

/** What `recentHistoryAndTotals` reads of each device. */
export interface RecentQuery {
  readonly since?: number;
  readonly limit: number;
  readonly totalsAt: number;
  readonly instants?: readonly number[];
}

/** One device's answer to `recentHistoryAndTotals`. */
export interface RecentAndTotals {
  /**
   * Its last `limit` changes at or after `since`, newest first (of several at the same time, the
   * last recorded first).
   */
  readonly changes: HistoryChange[];
  /** The running totals at the query's `totalsAt`. */
  readonly totals: HistoryTotals;
  /** The running totals at each of the query's `instants` (as historyTotals gives them); empty without. */
  readonly atInstants: HistoryTotals[];
}

/** A delivery problem (SPEC §10) beginning or ending, as the delivery rules decided it. */
export interface DeliveryProblemChange {
  readonly account: string;
  readonly device: string;
  readonly problem: DeliveryProblem;
  /**
   * `started` opens a period at `at` (nothing when one of the device's problem is open already);
   * `ended` closes the open one at `at` (nothing when none is open).
   */
  readonly kind: 'started' | 'ended';
  readonly at: number;
}

/** A period one delivery problem held on one device. */
export interface DeliveryProblemPeriod {
  readonly account: string;
  readonly device: string;
  readonly problem: DeliveryProblem;
  readonly startedAt: number;
  /** Null while it holds. */
  readonly endedAt: number | null;
}

/** One device's row to save, with the status change it went through in this cycle, if any. */
export interface DeviceSave {
  readonly row: DeviceRow;
  readonly change: HistoryRow | null;
  /** Delivery problems that began or ended in this cycle, in the order decided. */
  readonly deliveryChanges?: readonly DeliveryProblemChange[];
}

export interface AccountRow {
  readonly account: string;
  readonly reachable: boolean;
  /** The monitor's state for this account; must survive `JSON.stringify`/`JSON.parse`. */
  readonly state: unknown;
}

export type NewSilence = Omit<Silence, 'id'>;

/**
 * Which silences `removeSilences` deletes: `all`, or those whose `account` and/or `device`
 * equal the given values (an omitted field matches any value, null included).
 */
export type SilenceTarget = { readonly account?: string; readonly device?: string } | 'all';

export interface PruneOptions {
  /**
   * Called after each slice of history deleted (its own short transaction), with how many rows
   * it deleted and how long it held the database, before the store yields to the event loop.
   */
  readonly onSlice?: (slice: { readonly rows: number; readonly ms: number }) => void;
}

export interface PruneResult {
  readonly history: number;
  readonly silences: number;
  readonly deliveryProblems: number;
}

export interface TransactionOptions {
  /**
   * How long this transaction waits for another process's write lock, instead of the store's
   * busy timeout. For retries of a write already known to fail: the wait is synchronous, and a
   * full busy timeout at every retry would stall the daemon for as long as a lock is held.
   * Ignored by a nested call (the outer transaction already holds the lock).
   */
  readonly busyTimeoutMs?: number;
}

/** Who made a gateway call: the daemon's metered gateway, or a CLI command (`status --live`, …). */
export type ApiCallOrigin = 'daemon' | 'cli';

/**
 * One gateway call, logged before it was made (SPEC §3 "Budget": the call log lives in the store,
 * so a restart or a second process does not reset the budget).
 */
export interface ApiCallRow {
  /** Ascending in the order calls were logged: a reader asks for what came after the last it saw. */
  readonly id: number;
  readonly account: string;
  /** Wall time, epoch ms: the only clock processes share. */
  readonly at: number;
  /** `out_of_band`: a QR code, a balance read, a send — capped to a share of the budget. */
  readonly kind: 'check' | 'out_of_band';
  readonly origin: ApiCallOrigin;
  /** The process that logged it (a token per process), so it can skip its own rows. */
  readonly caller: string;
  /** The HA lease epoch it was made under (SPEC §11); null without HA. */
  readonly epoch: number | null;
}

export type NewApiCall = Omit<ApiCallRow, 'id'>;

export interface ApiCallQuery {
  /** Only rows logged after this id. */
  readonly afterId?: number;
  /** Only calls at or after this time. */
  readonly since?: number;
  /** Leaves out the rows of this caller. */
  readonly excludeCaller?: string;
}

export interface Store {
  /**
   * Every device row, ordered by account then device, read a page at a time (the event loop let go
   * in between): a row saved meanwhile may show only in a later page.
   */
  getDevices(): Promise<DeviceRow[]>;
  getDevice(account: string, device: string): Promise<DeviceRow | null>;
  /** Upserts every row and appends every change (delivery changes too), all in one transaction. */
  saveDevices(batch: readonly DeviceSave[]): Promise<void>;
  /** Forgets the current row of a device (its history stays). False when there was none. */
  removeDevice(account: string, device: string): Promise<boolean>;

  appendHistory(row: HistoryRow): Promise<void>;
  /** The device's changes at or after `since`, oldest first (ties in the order recorded). */
  history(account: string, device: string, options?: { readonly since?: number }): Promise<HistoryRow[]>;
  /**
   * Every change at or after `since`, plus, for each device, its last change before `since`
   * (so a period starts with a known status). Ordered by account, device, then time.
   */
  historyAll(since: number): Promise<HistoryRow[]>;
  /** One device's changes a page at a time (`history` without a bound reads them all). */
  historyPage(account: string, device: string, query: HistoryPageQuery): Promise<HistoryPage>;
  /**
   * For each query, the device's running totals at each of its instants, in the order given
   * (HistoryTotals): one lookup per instant, however long the history.
   */
  historyTotals(
    queries: readonly (DeviceKey & { readonly instants: readonly number[] })[],
  ): Promise<HistoryTotals[][]>;
  /**
   * For each device (in the order given), its last changes (RecentAndTotals) and its running
   * totals at `totalsAt` (as `historyTotals` gives them). The newest change, which the read finds
   * anyway, is the last at or before `totalsAt` unless one is later: the totals at `now` take no
   * lookup of their own. With `instants` (the same for every device), also the totals at those:
   * what the status page reads of each device, in one read where historyTotals would be another.
   */
  recentHistoryAndTotals(devices: readonly DeviceKey[], query: RecentQuery): Promise<RecentAndTotals[]>;
  /** For each device (in the order given), its changes with `from <= at < until`, oldest first. */
  historyBetween(devices: readonly DeviceKey[], from: number, until: number): Promise<HistoryChange[][]>;
  /**
   * Devices deleted at the gateway (`delete`, a `deleted` history row) that have not been seen
   * since other than as `not_found`: they read `deleted` until removed from the config.
   */
  deletedDevices(): Promise<DeletedDevice[]>;

  /** Records delivery problems beginning and ending, in the order given, in one transaction. */
  recordDeliveryProblems(changes: readonly DeliveryProblemChange[]): Promise<void>;
  /**
   * The delivery problem periods that overlap `[since, …)`: every one still open or ended at or
   * after `since`. Ordered by account, device, then start.
   */
  problemPeriods(since: number): Promise<DeliveryProblemPeriod[]>;

  /** Every account row, ordered by account. */
  getAccounts(): Promise<AccountRow[]>;
  saveAccount(row: AccountRow): Promise<void>;

  addSilence(silence: NewSilence): Promise<Silence>;
  /** Deletes the matching silences, active or expired; returns how many. */
  removeSilences(target: SilenceTarget): Promise<number>;
  /** Silences with `now < until`, oldest first. */
  activeSilences(now: number): Promise<Silence[]>;

  /**
   * Deletes history older than `before` — except each device's last change before it, which
   * is the status the device had at `before` (so its last known status is never lost) —,
   * silences that ended before `before`, and delivery problem periods that ended before it.
   * The history goes in slices of a few thousand rows, each its own short transaction, yielding
   * between them (SQLite holds the event loop while it deletes), unless called inside a
   * transaction, which it then joins whole.
   */
  prune(before: number, options?: PruneOptions): Promise<PruneResult>;

  /** Logs a call (before it is made); returns its id. */
  recordApiCall(call: NewApiCall): Promise<number>;
  /** The account's logged calls matching `query`, in the order logged (by id). */
  apiCalls(account: string, query?: ApiCallQuery): Promise<ApiCallRow[]>;
  /** Deletes calls older than `before` (all accounts); returns how many. */
  pruneApiCalls(before: number): Promise<number>;

  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;

  /**
   * Runs `fn` in one transaction (nested `tx.transaction` calls become savepoints): everything
   * it saves through `tx` — and through `tx.outbox` — is kept together, or nothing if it throws.
   * Its error is rethrown unchanged. `fn` must do only store work through `tx`: on SQLite the
   * write lock is held until it settles, and other calls on this store wait for it.
   */
  transaction<T>(fn: (tx: Store) => Promise<T>, options?: TransactionOptions): Promise<T>;

  /** The notification outbox, in the same database (so a cycle's messages join its transaction). */
  readonly outbox: OutboxStore;

  /** Idempotent. Later calls reject with a StoreError with reason `closed`. */
  close(): Promise<void>;
}
