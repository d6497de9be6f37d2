// The simulated gateway's message queues (SPEC §10, §11): per device, today's `successful`,
// `pending` and `failed` counts and the `remaining` balance that `/reports/balance` answers with,
// fed by `/send/text` and by optional background customer traffic.
//
// One rule: a message is pending from the moment it is accepted, and a device that is
// `connected` and not stalled finishes each pending message DELIVERY_DELAY_MS after it was
// queued (oldest first) — successful, or failed for the device's `fail` share. A device in any
// other status, or stalled, keeps them pending. Like the flap script, this is applied lazily:
// each read first catches the device up to `now()`, and the device table tells the queues of
// every status change before it applies it, so with an injected clock the counts are the same
// however often, or rarely, they are read.
//
// - Acceptance (`/send/text` and traffic alike) needs a connected sender and a balance left;
//   each accepted message takes one from `remaining`. Traffic stands for the customer's own
//   sending: it arrives evenly, `perMinute` per connected device, and is neither recorded in the
//   message log nor counted in the rate limit or stats.
// - Fail share: of the messages finished since the mode was set, exactly
//   ⌊n × share⌋ of the first n are failed (share 0.5: ok, failed, ok, failed, …).
// - Roll the day (the gateway's day boundary): the three counts drop to 0 and the messages still
//   pending are dropped with them (`expired` in the log); the balance is kept.
// - Deleting a device drops its queue (its pending messages expire); a device created later
//   under the same number starts afresh.
//
// Over 350 lines on purpose: the queue, its lazy catch-up and the delivery modes are one rule
// over one per-device record; split, each half would need the other's private state.

import { randomUUID } from 'node:crypto';
import type { DeviceChange } from './state.js';

/** How long a connected, healthy device takes to send a queued message. */
export const DELIVERY_DELAY_MS = 1_000;
export const DEFAULT_SIM_BALANCE = 1_000;
/** Highest `remaining` the control API accepts: keeps a stalled queue's memory bounded. */
export const MAX_SIM_BALANCE = 1_000_000;
/** Highest background traffic, messages a minute per device. */
export const MAX_SIM_TRAFFIC = 60_000;
/** `/send/text` messages remembered in `messages()`; the counts stay exact beyond it. */
export const MAX_RECORDED_MESSAGES = 10_000;
/** The longest `message` `/send/text` accepts, in characters. */
export const MAX_MESSAGE_CHARS = 4_096;

export const DELIVERY_MODES = ['normal', 'stall', 'fail'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/** One device's message counters as `/reports/balance` reads them, plus the behaviour set. */
export interface SimDelivery {
  readonly device: string;
  readonly mode: DeliveryMode;
  /** 0..1; 0 unless `mode` is `fail`. */
  readonly failShare: number;
  readonly remaining: number;
  readonly successful: number;
  readonly pending: number;
  readonly failed: number;
}

/** A behaviour change from the control API; fields left out stay as they are. */
export interface DeliveryChange {
  readonly mode?: DeliveryMode;
  /** Required with `fail`, refused with the other modes. */
  readonly failShare?: number;
  readonly remaining?: number;
}

export type SimMessageStatus = 'pending' | 'successful' | 'failed' | 'expired';

/** A message `/send/text` accepted. */
export interface SimMessage {
  readonly id: string;
  readonly sender: string;
  readonly phone: string;
  readonly message: string;
  /** `now()` when it was accepted. */
  readonly at: number;
  readonly status: SimMessageStatus;
}

export type SendOutcome =
  | { readonly ok: true; readonly id: string }
  | { readonly ok: false; readonly reason: 'unknown_sender' | 'not_connected' | 'no_balance' };

/** What the queues need of the device table. */
export interface DeviceLookup {
  /** Applies the scripted status changes due by now (the table reports each one first). */
  tick(): void;
  /** The raw status text; undefined when the device does not exist. */
  statusOf(device: string | undefined): string | undefined;
  /** Every device, in creation order. */
  list(): ReadonlyArray<{ readonly device: string }>;
}

export interface MessageQueuesOptions {
  readonly devices: DeviceLookup;
  readonly now: () => number;
  readonly log: (line: string) => void;
  /** Each device's `remaining` when its queue starts. Default 1000. */
  readonly balance?: number;
  /** Background customer traffic per connected device. Default 0 (off). */
  readonly trafficPerMinute?: number;
}

interface MutableMessage {
  readonly id: string;
  readonly sender: string;
  readonly phone: string;
  readonly message: string;
  readonly at: number;
  status: SimMessageStatus;
}

interface Queued {
  readonly at: number;
  /** Set for `/send/text` messages, so the log shows how each ended. */
  readonly record: MutableMessage | undefined;
}

interface Queue {
  /** The time up to which traffic and deliveries have been applied. */
  caughtUpTo: number;
  mode: DeliveryMode;
  failShare: number;
  /** Messages finished since `mode` was last set: the fail share counts from there. */
  finishedInMode: number;
  remaining: number;
  successful: number;
  failed: number;
  /** Oldest first. */
  pending: Queued[];
}

export class MessageQueues {
  private readonly queues = new Map<string, Queue>();
  private log: MutableMessage[] = [];
  private readonly balance: number;
  private trafficPerMinute: number;
  /** When the traffic rate was last set: arrivals are counted from here. */
  private trafficSince: number;

  constructor(private readonly options: MessageQueuesOptions) {
    this.balance = options.balance ?? DEFAULT_SIM_BALANCE;
    this.trafficPerMinute = options.trafficPerMinute ?? 0;
    checkWhole('balance', this.balance, MAX_SIM_BALANCE);
    checkWhole('traffic', this.trafficPerMinute, MAX_SIM_TRAFFIC);
    this.trafficSince = options.now();
  }

  /** The device table's hook: settle a device under its old status before it changes. */
  beforeDeviceChange(device: string, at: number, change: DeviceChange): void {
    switch (change) {
      case 'created':
        this.queues.set(device, this.freshQueue(at));
        return;
      case 'status':
        this.settle(device, at);
        return;
      case 'removed':
        this.settle(device, at);
        for (const { record } of this.queues.get(device)?.pending ?? []) {
          if (record !== undefined) record.status = 'expired';
        }
        this.queues.delete(device);
        return;
    }
  }

  /** A device's counters as of now; undefined when the device does not exist. */
  reading(device: string): SimDelivery | undefined {
    this.options.devices.tick();
    const queue = this.caughtUp(device);
    return queue === undefined ? undefined : toDelivery(device, queue);
  }

  /** `/send/text` once its body is valid: queues the message on `sender` and logs it. */
  send(sender: string, phone: string, message: string): SendOutcome {
    this.options.devices.tick();
    const queue = this.caughtUp(sender);
    if (queue === undefined) return { ok: false, reason: 'unknown_sender' };
    if (this.options.devices.statusOf(sender) !== 'connected') return { ok: false, reason: 'not_connected' };
    if (queue.remaining === 0) return { ok: false, reason: 'no_balance' };
    const record: MutableMessage = {
      id: randomUUID(),
      sender,
      phone,
      message,
      at: this.options.now(),
      status: 'pending',
    };
    queue.remaining -= 1;
    queue.pending.push({ at: record.at, record });
    this.log.push(record);
    if (this.log.length > MAX_RECORDED_MESSAGES) this.log.shift();
    return { ok: true, id: record.id };
  }

  /** Sets a device's behaviour and/or balance; undefined when the device does not exist. */
  setDelivery(device: string, change: DeliveryChange): SimDelivery | undefined {
    const share = change.failShare;
    if (
      (change.mode === 'fail') !== (share !== undefined) ||
      (share !== undefined && !(share >= 0 && share <= 1))
    ) {
      throw new TypeError(`failShare goes with mode fail, and only with it: a number from 0 to 1`);
    }
    if (change.remaining !== undefined) checkWhole('remaining', change.remaining, MAX_SIM_BALANCE);
    this.options.devices.tick();
    const queue = this.caughtUp(device);
    if (queue === undefined) return undefined;
    if (change.mode !== undefined) {
      queue.mode = change.mode;
      queue.failShare = share ?? 0;
      queue.finishedInMode = 0;
    }
    if (change.remaining !== undefined) queue.remaining = change.remaining;
    this.settle(device, this.options.now()); // back to normal: the overdue backlog goes now
    const after = toDelivery(device, queue);
    this.options.log(
      `control: ${device} delivery → ${after.mode}${after.mode === 'fail' ? ` ${after.failShare}` : ''}` +
        `, remaining ${after.remaining}`,
    );
    return after;
  }

  /** The gateway's day boundary, for every device: today's counts drop to 0. */
  rollDay(): void {
    this.settleAll();
    for (const queue of this.queues.values()) {
      for (const { record } of queue.pending) if (record !== undefined) record.status = 'expired';
      queue.pending = [];
      queue.successful = 0;
      queue.failed = 0;
    }
    this.options.log('control: day rolled over → message counts 0');
  }

  /** Background customer traffic, per connected device; 0 turns it off. */
  setTraffic(perMinute: number): void {
    checkWhole('traffic', perMinute, MAX_SIM_TRAFFIC);
    this.settleAll();
    this.trafficPerMinute = perMinute;
    this.trafficSince = this.options.now();
    this.options.log(`control: traffic → ${perMinute === 0 ? 'off' : `${perMinute}/min per device`}`);
  }

  traffic(): number {
    return this.trafficPerMinute;
  }

  /** The messages `/send/text` accepted, oldest first, each with how it stands now. */
  messages(sender?: string): SimMessage[] {
    this.settleAll();
    return this.log.filter((m) => sender === undefined || m.sender === sender).map((m) => ({ ...m }));
  }

  /** Forgets the message log (the counters stay). */
  clearLog(): void {
    this.log = [];
  }

  private settleAll(): void {
    for (const { device } of this.options.devices.list()) this.caughtUp(device);
  }

  /** The device's queue caught up to now; undefined (and dropped) when the device is gone. */
  private caughtUp(device: string): Queue | undefined {
    this.settle(device, this.options.now());
    return this.queues.get(device);
  }

  /** Applies traffic and deliveries up to `to`, under the device's current status and mode. */
  private settle(device: string, to: number): void {
    const status = this.options.devices.statusOf(device);
    if (status === undefined) {
      this.queues.delete(device);
      return;
    }
    let queue = this.queues.get(device);
    if (queue === undefined) {
      // A device from the start: its queue begins when traffic last changed (before that, no
      // traffic was running that this queue would have missed — setTraffic settles every device).
      queue = this.freshQueue(this.trafficSince);
      this.queues.set(device, queue);
    }
    // Equal times still deliver: a device back (or un-stalled) at `to` sends its overdue backlog.
    if (to < queue.caughtUpTo) return;
    const connected = status === 'connected';
    if (connected && this.trafficPerMinute > 0) this.addTraffic(queue, to);
    if (connected && queue.mode !== 'stall') this.deliver(queue, to);
    queue.caughtUpTo = to;
  }

  /** Traffic arrivals in (caughtUpTo, to]: arrival k at trafficSince + k·60 s / perMinute. */
  private addTraffic(queue: Queue, to: number): void {
    const rate = this.trafficPerMinute;
    const from = Math.max(queue.caughtUpTo, this.trafficSince);
    const first = Math.floor(((from - this.trafficSince) * rate) / 60_000) + 1;
    const last = Math.floor(((to - this.trafficSince) * rate) / 60_000);
    for (let k = first; k <= last && queue.remaining > 0; k += 1) {
      queue.remaining -= 1;
      queue.pending.push({ at: this.trafficSince + Math.ceil((k * 60_000) / rate), record: undefined });
    }
  }

  private deliver(queue: Queue, to: number): void {
    let done = 0;
    for (const message of queue.pending) {
      if (message.at + DELIVERY_DELAY_MS > to) break;
      const n = queue.finishedInMode;
      const failed = Math.floor((n + 1) * queue.failShare + 1e-9) > Math.floor(n * queue.failShare + 1e-9);
      queue.finishedInMode += 1;
      if (failed) queue.failed += 1;
      else queue.successful += 1;
      if (message.record !== undefined) message.record.status = failed ? 'failed' : 'successful';
      done += 1;
    }
    if (done > 0) queue.pending.splice(0, done);
  }

  private freshQueue(at: number): Queue {
    return {
      caughtUpTo: at,
      mode: 'normal',
      failShare: 0,
      finishedInMode: 0,
      remaining: this.balance,
      successful: 0,
      failed: 0,
      pending: [],
    };
  }
}

function toDelivery(device: string, q: Queue): SimDelivery {
  return {
    device,
    mode: q.mode,
    failShare: q.failShare,
    remaining: q.remaining,
    successful: q.successful,
    pending: q.pending.length,
    failed: q.failed,
  };
}

function checkWhole(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new TypeError(`${what} must be a whole number from 0 to ${max}: ${value}`);
  }
}

/** Parses the control API's delivery body; a string is the reason it was refused. */
export function deliveryChangeFromJson(body: unknown): DeliveryChange | string {
  const expected =
    'expected {"mode": "normal" | "stall" | "fail", "fail_share": 0..1 (with "fail"), "remaining": N}';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return expected;
  const { mode, fail_share: failShare, remaining } = body as Record<string, unknown>;
  if (mode === undefined && remaining === undefined) return expected;
  if (mode !== undefined && !(DELIVERY_MODES as readonly unknown[]).includes(mode)) {
    return `"mode" must be one of ${DELIVERY_MODES.join(', ')}`;
  }
  if (mode === 'fail') {
    if (typeof failShare !== 'number' || !(failShare >= 0 && failShare <= 1)) {
      return '"fail" needs "fail_share": a number from 0 to 1';
    }
  } else if (failShare !== undefined) {
    return '"fail_share" goes with "mode": "fail" only';
  }
  if (
    remaining !== undefined &&
    (typeof remaining !== 'number' ||
      !Number.isInteger(remaining) ||
      remaining < 0 ||
      remaining > MAX_SIM_BALANCE)
  ) {
    return `"remaining" must be a whole number from 0 to ${MAX_SIM_BALANCE}`;
  }
  return {
    ...(mode === undefined ? {} : { mode: mode as DeliveryMode }),
    ...(typeof failShare === 'number' ? { failShare } : {}),
    ...(typeof remaining === 'number' ? { remaining } : {}),
  };
}

/** The control API's form of a device's delivery state. */
export function deliveryToJson(d: SimDelivery): Record<string, unknown> {
  return {
    device: d.device,
    mode: d.mode,
    fail_share: d.failShare,
    remaining: d.remaining,
    successful_count: d.successful,
    pending: d.pending,
    failed: d.failed,
  };
}

/** The control API's form of a logged message. */
export function messageToJson(m: SimMessage): Record<string, unknown> {
  return {
    id: m.id,
    sender_device: m.sender,
    phone: m.phone,
    message: m.message,
    at: m.at,
    status: m.status,
  };
}
