// Server side of the re-link page: one QR code per device shared by every viewer for a short
// while, calls in flight shared, and a cap on QR fetches per minute across devices — each one is
// a gateway call out of the account's budget, and the page must never drain it.

import type { ConnectResult } from '../gateway/client.js';
import type { DeviceStatus } from '../monitor/model.js';

/** What the daemon answers for one QR fetch (HttpHandlers.reconnectQr). */
export type ReconnectQrResult =
  | { readonly status: 'qr'; readonly dataUrl: string }
  | { readonly status: 'connected' }
  | { readonly status: 'not_found'; readonly message: string }
  | { readonly status: 'error'; readonly message: string }
  /** The metered gateway's per-device cap refused it: no call was made. */
  | { readonly status: 'throttled'; readonly retryInMs: number }
  /** This replica does not poll (an HA standby, SPEC §11): no call was made; the leader serves QR codes. */
  | { readonly status: 'standby'; readonly message: string };

/** The gateway client's answer to `/connect`, as the re-link page needs it. */
export function reconnectResultFrom(result: ConnectResult): ReconnectQrResult {
  switch (result.kind) {
    case 'qr':
      return { status: 'qr', dataUrl: result.dataUrl };
    case 'already_connected':
      return { status: 'connected' };
    case 'not_found':
      return { status: 'not_found', message: result.message };
    case 'probe_error':
      return { status: 'error', message: `${result.reason}: ${result.message}` };
  }
}

/** A configured device as the re-link page needs it (HttpHandlers.relinkDevice). */
export interface RelinkDevice {
  readonly account: string;
  readonly number: string;
  readonly name: string;
  /** The daemon's current status; null before the first valid answer. */
  readonly status: DeviceStatus | null;
  /** The daemon's last check of the device (status or probe error), epoch ms. */
  readonly lastCheckAt: number | null;
}

export interface RelinkLimits {
  /** A QR code fetched this recently is handed to further viewers instead of a new call. */
  readonly qrCacheMs: number;
  /** QR fetches from the gateway per minute, all devices together. */
  readonly maxQrFetchesPerMinute: number;
  /** Gives up on one fetch (budget wait included) after this long. */
  readonly qrTimeoutMs: number;
  /** `watch=1` asks the daemon for a prompt re-check at most this often per device. */
  readonly checkSoonEveryMs: number;
  /** Page settings: QR codes per visit, age at which one is replaced, status poll period. */
  readonly maxQrFetchesPerVisit: number;
  readonly qrRefreshAfterMs: number;
  readonly pollMs: number;
}

export const DEFAULT_RELINK_LIMITS: RelinkLimits = {
  qrCacheMs: 20_000,
  maxQrFetchesPerMinute: 12,
  qrTimeoutMs: 60_000,
  checkSoonEveryMs: 15_000,
  maxQrFetchesPerVisit: 8,
  qrRefreshAfterMs: 45_000,
  pollMs: 3_000,
};

/** The JSON `{device}/qr` answers. */
export type QrAnswer =
  | {
      readonly status: 'qr';
      readonly dataUrl: string;
      readonly fetched_at: number;
      readonly refresh_in_ms: number;
    }
  | { readonly status: 'connected' }
  | { readonly status: 'not_found'; readonly message: string }
  | { readonly status: 'error'; readonly message: string; readonly retry_in_ms: number }
  /** Answered with 503 and Retry-After: this replica is a standby; the page tries again. */
  | { readonly status: 'standby'; readonly message: string; readonly retry_in_ms: number };

/** How soon the re-link page asks a standby again (a failover may have made it the leader). */
export const STANDBY_RETRY_MS = 15_000;

const WINDOW_MS = 60_000;
const MIN_REFRESH_MS = 5_000;

export class QrBroker {
  readonly #fetch: (device: string, signal: AbortSignal) => Promise<ReconnectQrResult>;
  readonly #limits: RelinkLimits;
  readonly #now: () => number;
  readonly #cache = new Map<string, { dataUrl: string; fetchedAt: number }>();
  readonly #inFlight = new Map<string, Promise<QrAnswer>>();
  #fetches: number[] = [];
  readonly #checkSoonAt = new Map<string, number>();

  constructor(
    fetch: (device: string, signal: AbortSignal) => Promise<ReconnectQrResult>,
    limits: RelinkLimits,
    now: () => number,
  ) {
    this.#fetch = fetch;
    this.#limits = limits;
    this.#now = now;
  }

  get limits(): RelinkLimits {
    return this.#limits;
  }

  qr(device: string): Promise<QrAnswer> {
    const now = this.#now();
    const cached = this.#cache.get(device);
    if (cached !== undefined && now - cached.fetchedAt < this.#limits.qrCacheMs) {
      return Promise.resolve(this.#answerQr(cached.dataUrl, cached.fetchedAt, now));
    }
    const pending = this.#inFlight.get(device);
    if (pending !== undefined) return pending;
    this.#fetches = this.#fetches.filter((t) => t > now - WINDOW_MS);
    const oldest = this.#fetches[0];
    if (oldest !== undefined && this.#fetches.length >= this.#limits.maxQrFetchesPerMinute) {
      return Promise.resolve({
        status: 'error',
        message: 'too many QR codes asked for in the last minute',
        retry_in_ms: Math.max(1000, oldest + WINDOW_MS - now),
      });
    }
    this.#fetches.push(now);
    const call = this.#call(device, now);
    this.#inFlight.set(device, call);
    void call.finally(() => this.#inFlight.delete(device));
    return call;
  }

  /** Whether a `watch=1` poll should ask the daemon for a prompt check now. */
  shouldCheckSoon(device: string): boolean {
    const now = this.#now();
    const last = this.#checkSoonAt.get(device);
    if (last !== undefined && now - last < this.#limits.checkSoonEveryMs) return false;
    this.#checkSoonAt.set(device, now);
    if (this.#checkSoonAt.size > 1000) this.#checkSoonAt.clear();
    return true;
  }

  async #call(device: string, slot: number): Promise<QrAnswer> {
    let result: ReconnectQrResult;
    try {
      result = await this.#fetch(device, AbortSignal.timeout(this.#limits.qrTimeoutMs));
    } catch (err) {
      result = { status: 'error', message: err instanceof Error ? err.message : String(err) };
    }
    const now = this.#now();
    switch (result.status) {
      case 'qr':
        this.#cache.set(device, { dataUrl: result.dataUrl, fetchedAt: now });
        return this.#answerQr(result.dataUrl, now, now);
      case 'connected':
        this.#cache.delete(device);
        return { status: 'connected' };
      case 'not_found':
        this.#cache.delete(device);
        return { status: 'not_found', message: result.message };
      case 'error':
        return { status: 'error', message: result.message, retry_in_ms: 10_000 };
      case 'standby': {
        // No gateway call was made: the slot is not spent.
        const i = this.#fetches.indexOf(slot);
        if (i >= 0) this.#fetches.splice(i, 1);
        this.#cache.delete(device);
        return { status: 'standby', message: result.message, retry_in_ms: STANDBY_RETRY_MS };
      }
      case 'throttled': {
        const wait = Math.max(1000, Math.ceil(result.retryInMs / 1000) * 1000);
        return {
          status: 'error',
          message: `too many QR requests for this device, wait ${wait / 1000} s`,
          retry_in_ms: wait,
        };
      }
    }
  }

  #answerQr(dataUrl: string, fetchedAt: number, now: number): QrAnswer {
    return {
      status: 'qr',
      dataUrl,
      fetched_at: fetchedAt,
      refresh_in_ms: Math.max(
        Math.min(MIN_REFRESH_MS, this.#limits.qrRefreshAfterMs),
        fetchedAt + this.#limits.qrRefreshAfterMs - now,
      ),
    };
  }
}
