// What the simulator counts, so tests and benches can hold a monitor to the budget it claims:
// requests per endpoint, one record per API call (arrival time, device, the status it got), and
// the bytes of `huge` bodies actually handed to sockets. A call is recorded the moment it
// arrives — before faults, auth and the rate limit — because that is when the real gateway
// counts it (SPEC §5), so hung, refused and 429'd calls all show.

export type SimEndpoint = 'status' | 'connect' | 'delete' | 'balance' | 'send' | 'other';

/** API calls remembered in `stats().calls`; counts stay exact beyond it. */
export const MAX_RECORDED_CALLS = 10_000;

export interface SimCall {
  /** `now()` when the call arrived. */
  readonly at: number;
  readonly endpoint: SimEndpoint;
  readonly device: string | undefined;
  /** Undefined while unanswered (or never answered: `hang`). */
  readonly httpStatus: number | undefined;
}

export interface SimulatorStats {
  readonly requests: Readonly<Record<SimEndpoint, number>>;
  /** Every API call (auth failures and 429s included), oldest first, the last 10 000. */
  readonly calls: readonly SimCall[];
  /** Bytes of `huge` bodies handed to sockets: shows a client stopped reading early. */
  readonly hugeBytesSent: number;
}

/**
 * A call's record while its request is handled: the device is known only once a `/delete` or
 * `/send/text` body
 * is read, the status only once an answer is sent, and both must land in the recorded entry.
 */
export interface OpenCall {
  at: number;
  endpoint: SimEndpoint;
  device: string | undefined;
  httpStatus: number | undefined;
}

export class CallStats {
  private requests: Record<SimEndpoint, number> = {
    status: 0,
    connect: 0,
    delete: 0,
    balance: 0,
    send: 0,
    other: 0,
  };
  private calls: OpenCall[] = [];
  private hugeBytesSent = 0;

  record(at: number, endpoint: SimEndpoint, device: string | undefined): OpenCall {
    const call: OpenCall = { at, endpoint, device, httpStatus: undefined };
    this.requests[endpoint] += 1;
    this.calls.push(call);
    if (this.calls.length > MAX_RECORDED_CALLS) this.calls.shift();
    return call;
  }

  addHugeBytes(bytes: number): void {
    this.hugeBytesSent += bytes;
  }

  /** A copy: later calls and answers do not change what a caller already holds. */
  snapshot(): SimulatorStats {
    return {
      requests: { ...this.requests },
      calls: this.calls.map((c) => ({ ...c })),
      hugeBytesSent: this.hugeBytesSent,
    };
  }

  reset(): void {
    this.requests = { status: 0, connect: 0, delete: 0, balance: 0, send: 0, other: 0 };
    this.calls = [];
    this.hugeBytesSent = 0;
  }
}
