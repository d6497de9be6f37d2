// Alertmanager-style grouping per channel (SPEC §8): which held events go out now, as one
// message, which cancel out, and when to look again.
//
// The rule, per channel: its held events are due at
//     max(firstHeldAt + group_wait, lastSentAt + group_interval)
// (just `firstHeldAt + group_wait` when the channel has sent no message yet), and then ALL of
// them go out as ONE message. So the first event after a quiet spell waits `group_wait` for
// company, and events arriving after a message wait until `group_interval` has passed since
// it. `test` and `audit.report` are never held: each goes out at once, alone, and does not
// count as the channel's last message (a test must not delay a real alert).
//
// Cancel-out, before that: an opening and the closing that ends it, BOTH still held, are
// never sent (history keeps both) — device.down ↔ device.up, account.unreachable ↔
// account.recovered, a delivery problem ↔ its device.delivery_recovered — and so are the
// reminders held between them. The rule that keeps it safe: cancel only what the receiver
// would end up believing anyway. A closing whose opening was already sent is kept (the
// receiver must hear the recovery), and so is a pair whose opening followed another opening
// of the same subject without a closing between (the receiver may believe "down" already).
// device.flapping and device.not_found are never cancelled.
//
// Pure: no I/O, no clock (`now` comes in), no imports but types. Inputs and outputs are plain
// JSON: the notify layer keeps held events as outbox rows ("held") and each channel's
// `lastSentAt`, so a restart rebuilds the same inputs and gets the same plan — a crash loses
// nothing and resends nothing. Planning is idempotent: what it keeps, planned again, cancels
// nothing more and is due at the same time.
//
// Over 350 lines on purpose: the due rule, cancel-out, message order and the mass-outage summary
// are the one grouping decision a release makes, kept together so they cannot disagree.

import type { EventType } from './model.js';

/** Every event a channel can receive (SPEC §8): model.ts's one list. */
export type GroupEventType = EventType;

/** The delivery problems of SPEC §10, as `whatsgate_device_delivery_problem` names them. */
export type DeliveryProblem = 'stalled' | 'failing' | 'balance_low';

/** One event held for one channel (an outbox row in state "held"), as plain JSON. */
export interface HeldEvent {
  readonly channel: string;
  /** The event's id (the same in every channel): what `cancelled` lists. */
  readonly id: string;
  readonly type: GroupEventType;
  /** When it was put on hold for this channel; due times count from here. */
  readonly heldAt: number;
  /** When it happened (the event's `at`): orders a subject's events and a message's. */
  readonly at: number;
  /** null for `test` and `audit.report`. */
  readonly account: string | null;
  /** The device number; null for account events, `test` and `audit.report`. */
  readonly device: string | null;
  /**
   * The problem a `device.delivery_recovered` ends, or a `device.reminder` is about (absent: the
   * reminder is about the device being DOWN). Openings name theirs by type.
   */
  readonly problem?: DeliveryProblem;
  /** `device.down`: when the outage began (the mass-outage summary reads it; `at` otherwise). */
  readonly downSince?: number;
}

export interface GroupingPolicy {
  /** `notify.group_wait`: how long the first event after a quiet spell waits for company. */
  readonly groupWaitMs: number;
  /** `notify.group_interval`: the least time between two messages of one channel. */
  readonly groupIntervalMs: number;
}

export const DEFAULT_GROUPING: GroupingPolicy = { groupWaitMs: 30_000, groupIntervalMs: 300_000 };

export interface ChannelGroupState {
  /** When this channel's last grouped message was released; null if none yet. */
  readonly lastSentAt: number | null;
}

/** Per channel name; a channel missing here has sent nothing yet. */
export type ChannelGroupStates = Readonly<Record<string, ChannelGroupState>>;

/** One message to queue: a channel's events, in message order. */
export interface Release<E extends HeldEvent = HeldEvent> {
  readonly channel: string;
  readonly events: readonly E[];
}

export interface ReleasePlan<E extends HeldEvent = HeldEvent> {
  /** Messages to queue now, by channel, oldest first within a channel. */
  readonly release: readonly Release<E>[];
  /**
   * Held events never to send (history keeps them): mark their rows cancelled. Reported as soon
   * as both ends of a pair are held, due or not; planning again without them changes nothing.
   */
  readonly cancelled: readonly E[];
  /** The channel states to store: `lastSentAt = now` where a grouped message was released. */
  readonly channels: Record<string, ChannelGroupState>;
  /** When the next held event falls due (plan again then); null when nothing stays held. */
  readonly wakeAt: number | null;
}

/** Never held: due at once and sent alone. */
export function isNeverHeld(type: GroupEventType): boolean {
  return type === 'test' || type === 'audit.report';
}

/** The closed form: when a channel's held events are due. */
export function groupDueAt(firstHeldAt: number, lastSentAt: number | null, policy: GroupingPolicy): number {
  const afterWait = firstHeldAt + policy.groupWaitMs;
  return lastSentAt === null ? afterWait : Math.max(afterWait, lastSentAt + policy.groupIntervalMs);
}

/**
 * Decides, for every channel, what goes out at `now`, what cancels out and when to plan again.
 * `held` are all events held, of every channel, in outbox order (ties in time keep it).
 */
export function planRelease<E extends HeldEvent>(
  held: readonly E[],
  channels: ChannelGroupStates,
  now: number,
  policy: GroupingPolicy,
): ReleasePlan<E> {
  const byChannel = new Map<string, E[]>();
  for (const e of held) {
    const list = byChannel.get(e.channel);
    if (list === undefined) byChannel.set(e.channel, [e]);
    else list.push(e);
  }

  const release: Release<E>[] = [];
  const cancelled: E[] = [];
  const nextChannels: Record<string, ChannelGroupState> = { ...channels };
  let wakeAt: number | null = null;

  for (const channel of [...byChannel.keys()].sort()) {
    const events = byChannel.get(channel) ?? [];
    const alone = events.filter((e) => isNeverHeld(e.type));
    const grouped = cancelOut(events.filter((e) => !isNeverHeld(e.type)));
    cancelled.push(...grouped.cancelled);

    const out: { readonly firstHeldAt: number; readonly release: Release<E> }[] = alone.map((e) => ({
      firstHeldAt: e.heldAt,
      release: { channel, events: [e] },
    }));
    if (grouped.kept.length > 0) {
      const firstHeldAt = grouped.kept.reduce((min, e) => Math.min(min, e.heldAt), Infinity);
      const due = groupDueAt(firstHeldAt, channels[channel]?.lastSentAt ?? null, policy);
      if (due <= now) {
        out.push({ firstHeldAt, release: { channel, events: [...grouped.kept].sort(compareForMessage) } });
        nextChannels[channel] = { lastSentAt: now };
      } else if (wakeAt === null || due < wakeAt) {
        wakeAt = due;
      }
    }
    out.sort(
      (a, b) =>
        a.firstHeldAt - b.firstHeldAt ||
        compareText(a.release.events[0]?.id ?? '', b.release.events[0]?.id ?? ''),
    );
    for (const o of out) release.push(o.release);
  }
  return { release, cancelled, channels: nextChannels, wakeAt };
}

/** What an event does to its subject's story, for cancel-out. */
type Role = 'open' | 'open-kept' | 'close' | 'attached' | 'neutral';

/**
 * Cancel-out within ONE channel's held events (test and audit.report excluded by the caller).
 * Returns the kept ones in the order given and the cancelled ones in the order of their story.
 */
export function cancelOut<E extends HeldEvent>(events: readonly E[]): { kept: E[]; cancelled: E[] } {
  // Each subject's story, in the order things happened; a stable sort keeps the outbox order
  // for events of the same instant.
  const story = [...events].sort((a, b) => a.at - b.at || a.heldAt - b.heldAt);
  /** Per subject: the held opening (and its reminders) that a closing would cancel, if any. */
  const pending = new Map<string, E[]>();
  /** Per subject: whether the last opening/closing among the held events was an opening. */
  const open = new Map<string, boolean>();
  const cancelled: E[] = [];

  for (const e of story) {
    const subject = subjectOf(e);
    if (subject === null) continue;
    switch (roleOf(e.type)) {
      case 'open':
        // After another opening the receiver may already believe "down": not a candidate.
        if (open.get(subject) === true) pending.delete(subject);
        else pending.set(subject, [e]);
        open.set(subject, true);
        break;
      case 'open-kept':
        pending.delete(subject);
        open.set(subject, true);
        break;
      case 'attached':
        pending.get(subject)?.push(e);
        break;
      case 'close': {
        const cancels = pending.get(subject);
        if (cancels !== undefined) {
          cancelled.push(...cancels, e);
        }
        pending.delete(subject);
        open.set(subject, false);
        break;
      }
      case 'neutral':
        break;
    }
  }
  const gone = new Set<E>(cancelled);
  return { kept: events.filter((e) => !gone.has(e)), cancelled };
}

function roleOf(type: GroupEventType): Role {
  switch (type) {
    case 'device.down':
    case 'account.unreachable':
    case 'device.stalled':
    case 'device.failing':
    case 'device.balance_low':
      return 'open';
    case 'device.not_found':
      return 'open-kept';
    case 'device.up':
    case 'account.recovered':
    case 'device.delivery_recovered':
      return 'close';
    case 'device.reminder':
      return 'attached';
    case 'device.flapping':
    case 'test':
    case 'audit.report':
      return 'neutral';
  }
}

/** The story an event belongs to: a device's health, an account's reachability, a delivery problem. */
function subjectOf(e: HeldEvent): string | null {
  const problem = problemOf(e);
  switch (e.type) {
    case 'device.down':
    case 'device.up':
    case 'device.not_found':
      return key('health', e.account, e.device);
    case 'device.reminder':
      return problem === null
        ? key('health', e.account, e.device)
        : key('delivery', e.account, e.device, problem);
    case 'account.unreachable':
    case 'account.recovered':
      return key('account', e.account);
    case 'device.stalled':
    case 'device.failing':
    case 'device.balance_low':
    case 'device.delivery_recovered':
      // A recovery that names no problem matches no opening: sent, rather than guessed.
      return problem === null ? null : key('delivery', e.account, e.device, problem);
    case 'device.flapping':
    case 'test':
    case 'audit.report':
      return null;
  }
}

function problemOf(e: HeldEvent): DeliveryProblem | null {
  switch (e.type) {
    case 'device.stalled':
      return 'stalled';
    case 'device.failing':
      return 'failing';
    case 'device.balance_low':
      return 'balance_low';
    default:
      return e.problem ?? null;
  }
}

function key(...parts: (string | null)[]): string {
  return JSON.stringify(parts);
}

// ---- Message order ------------------------------------------------------------------------

const RANK = {
  'device.down': 0,
  'account.unreachable': 1,
  'device.not_found': 2,
  'device.stalled': 3,
  'device.failing': 4,
  'device.balance_low': 5,
  'device.flapping': 6,
  'device.reminder': 7,
  'device.up': 8,
  'account.recovered': 9,
  'device.delivery_recovered': 10,
  'audit.report': 11,
  test: 12,
} as const satisfies Record<GroupEventType, number>;

/** Event types worst first: the order of events inside a message, for every renderer. */
export const MESSAGE_ORDER: readonly GroupEventType[] = (Object.keys(RANK) as GroupEventType[]).sort(
  (a, b) => RANK[a] - RANK[b],
);

/** What ordering needs of an event; HeldEvent has it, a renderer maps its own events to it. */
export interface MessageOrderKey {
  readonly type: GroupEventType;
  readonly at: number;
  readonly account: string | null;
  readonly device: string | null;
  readonly id: string;
}

/** Worst first (MESSAGE_ORDER), then oldest first, then by account and device, then id. */
export function compareForMessage(a: MessageOrderKey, b: MessageOrderKey): number {
  return (
    RANK[a.type] - RANK[b.type] ||
    a.at - b.at ||
    compareText(a.account ?? '', b.account ?? '') ||
    compareText(a.device ?? '', b.device ?? '') ||
    compareText(a.id, b.id)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- Mass-outage summary ----------------------------------------------------------------

/** Per account, from the caller's fleet snapshot at release time. */
export interface AccountFleet {
  readonly devicesTotal: number;
  readonly devicesDown: number;
}

export interface OutageSummary {
  readonly account: string;
  /** The account's devices DOWN so far (fleet snapshot). */
  readonly down: number;
  readonly total: number;
  /** Most of the account's devices went down within `windowMs`: likely the gateway's side. */
  readonly likelyGatewaySide: boolean;
}

export interface OutageOptions {
  /** How close together the drops must be (by `downSince`, else `at`). Default 5 min. */
  readonly windowMs?: number;
  /** The fewest drops within the window that can point at the gateway. Default 3. */
  readonly minDevices?: number;
}

export const DEFAULT_OUTAGE_WINDOW_MS = 300_000;
export const DEFAULT_OUTAGE_MIN_DEVICES = 3;

/**
 * The opening line's data for a released message: one entry per account with a device.down
 * in `events` that the fleet snapshot knows, most devices down first. `likelyGatewaySide` when
 * at least `minDevices` distinct devices of the account went down within `windowMs` of each
 * other (bounds included) and they are more than half of its devices.
 */
export function summarizeOutage(
  events: readonly HeldEvent[],
  fleet: Readonly<Record<string, AccountFleet>>,
  options: OutageOptions = {},
): OutageSummary[] {
  const windowMs = options.windowMs ?? DEFAULT_OUTAGE_WINDOW_MS;
  const minDevices = options.minDevices ?? DEFAULT_OUTAGE_MIN_DEVICES;
  /** account → device → when it went down (its latest outage in `events`). */
  const drops = new Map<string, Map<string, number>>();
  for (const e of events) {
    if (e.type !== 'device.down' || e.account === null) continue;
    const devices = drops.get(e.account) ?? new Map<string, number>();
    drops.set(e.account, devices);
    const at = e.downSince ?? e.at;
    const device = e.device ?? e.id;
    devices.set(device, Math.max(at, devices.get(device) ?? at));
  }

  const out: OutageSummary[] = [];
  for (const [account, devices] of drops) {
    const snapshot = fleet[account];
    if (snapshot === undefined) continue;
    const together = mostWithin([...devices.values()], windowMs);
    out.push({
      account,
      down: snapshot.devicesDown,
      total: snapshot.devicesTotal,
      likelyGatewaySide: together >= minDevices && together * 2 > snapshot.devicesTotal,
    });
  }
  return out.sort((a, b) => b.down - a.down || compareText(a.account, b.account));
}

/** The most of `times` that fit in one window of `windowMs` (both ends included). */
function mostWithin(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] ?? 0) - (sorted[lo] ?? 0) > windowMs) lo++;
    most = Math.max(most, hi - lo + 1);
  }
  return most;
}
