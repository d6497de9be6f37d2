// Runs planRelease the way the notify layer will: plans at every arrival and at every wakeAt,
// drops what was released or cancelled from the held set, stores the returned channel states.
// Tests read what each channel received and when.

import type { ChannelGroupStates, GroupingPolicy, HeldEvent, ReleasePlan } from '../grouping.js';
import { planRelease } from '../grouping.js';

export interface Delivered<E extends HeldEvent = HeldEvent> {
  readonly at: number;
  readonly channel: string;
  readonly events: readonly E[];
}

export interface DriveResult<E extends HeldEvent = HeldEvent> {
  readonly delivered: Delivered<E>[];
  readonly cancelled: E[];
  /** Still held at the end: empty unless something never fell due. */
  readonly held: E[];
  readonly channels: ChannelGroupStates;
}

export interface DriveOptions<E extends HeldEvent> {
  readonly channels?: ChannelGroupStates;
  /** Called with every plan and its inputs (for properties that look at each step). */
  readonly onPlan?: (
    plan: ReleasePlan<E>,
    held: readonly E[],
    channels: ChannelGroupStates,
    now: number,
  ) => void;
  /** Extra planning moments (a restart, a tick), besides arrivals and wake-ups. */
  readonly extraTimes?: readonly number[];
}

/** Feeds `arrivals` (held at their `heldAt`) and plans until nothing is held. */
export function drive<E extends HeldEvent>(
  arrivals: readonly E[],
  policy: GroupingPolicy,
  options: DriveOptions<E> = {},
): DriveResult<E> {
  const queue = [...arrivals].sort((a, b) => a.heldAt - b.heldAt);
  const extra = [...(options.extraTimes ?? [])].sort((a, b) => a - b);
  let channels: ChannelGroupStates = options.channels ?? {};
  let held: E[] = [];
  let wakeAt: number | null = null;
  const delivered: Delivered<E>[] = [];
  const cancelled: E[] = [];
  let next = 0;
  let nextExtra = 0;

  for (let step = 0; step < 1_000_000; step++) {
    const candidates = [queue[next]?.heldAt, extra[nextExtra], wakeAt].filter(
      (t): t is number => t !== undefined && t !== null,
    );
    if (candidates.length === 0) return { delivered, cancelled, held, channels };
    const now = Math.min(...candidates);
    while (next < queue.length && (queue[next]?.heldAt ?? Infinity) <= now) held.push(queue[next++] as E);
    while (nextExtra < extra.length && (extra[nextExtra] ?? Infinity) <= now) nextExtra++;

    const plan = planRelease(held, channels, now, policy);
    options.onPlan?.(plan, held, channels, now);
    const gone = new Set<E>(plan.cancelled);
    for (const r of plan.release) {
      delivered.push({ at: now, channel: r.channel, events: r.events });
      for (const e of r.events) gone.add(e);
    }
    cancelled.push(...plan.cancelled);
    held = held.filter((e) => !gone.has(e));
    channels = plan.channels;
    wakeAt = plan.wakeAt;
  }
  throw new Error('drive: too many steps');
}
