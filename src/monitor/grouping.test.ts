import { describe, expect, it } from 'vitest';

import type { AccountFleet, DeliveryProblem, GroupEventType, GroupingPolicy, HeldEvent } from './grouping.js';
import {
  DEFAULT_GROUPING,
  MESSAGE_ORDER,
  cancelOut,
  compareForMessage,
  groupDueAt,
  planRelease,
  summarizeOutage,
} from './grouping.js';
import { drive } from './test-support/grouping-driver.js';

const S = 1_000;
const MIN = 60 * S;
/** 30 s / 5 min, the defaults. */
const P = DEFAULT_GROUPING;

interface EvOptions {
  readonly channel?: string;
  readonly account?: string | null;
  readonly device?: string | null;
  readonly problem?: DeliveryProblem;
  readonly heldAt?: number;
  readonly downSince?: number;
  readonly id?: string;
}

/** An event that happened at `at` and was held at once (unless `heldAt` says otherwise). */
function ev(type: GroupEventType, at: number, o: EvOptions = {}): HeldEvent {
  const device = o.device === undefined ? (type.startsWith('device.') ? '100' : null) : o.device;
  const account =
    o.account === undefined ? (type === 'test' || type === 'audit.report' ? null : 'main') : o.account;
  const base: HeldEvent = {
    channel: o.channel ?? 'mail',
    id:
      o.id ??
      `${type}@${at}/${account ?? '-'}/${device ?? '-'}${o.problem === undefined ? '' : `/${o.problem}`}`,
    type,
    heldAt: o.heldAt ?? at,
    at,
    account,
    device,
  };
  return {
    ...base,
    ...(o.problem === undefined ? {} : { problem: o.problem }),
    ...(o.downSince === undefined ? {} : { downSince: o.downSince }),
  };
}

const ids = (events: readonly HeldEvent[]): string[] => events.map((e) => e.id);
const types = (events: readonly HeldEvent[]): GroupEventType[] => events.map((e) => e.type);

describe('groupDueAt (the closed form)', () => {
  it.each([
    // firstHeldAt, lastSentAt, policy, due
    [0, null, P, 30 * S],
    [100 * S, 0, P, 300 * S], // interval not over yet: waits for it
    [400 * S, 0, P, 430 * S], // interval long over: waits group_wait only
    [290 * S, 0, P, 320 * S], // both: the later one
    [100, null, { groupWaitMs: 0, groupIntervalMs: 5 * MIN }, 100],
    [100, 50, { groupWaitMs: 0, groupIntervalMs: 0 }, 100],
  ] as const)('held at %i, last sent %s → due at %i', (firstHeldAt, lastSentAt, policy, due) => {
    expect(groupDueAt(firstHeldAt, lastSentAt, policy)).toBe(due);
  });
});

describe('planRelease: wait and interval', () => {
  it('holds the first event group_wait for company, then releases everything as one message', () => {
    const held = [ev('device.down', 0, { device: '1' }), ev('device.down', 10 * S, { device: '2' })];
    const early = planRelease(held, {}, 29_999, P);
    expect(early.release).toEqual([]);
    expect(early.wakeAt).toBe(30 * S);
    expect(early.channels).toEqual({});

    const due = planRelease([...held, ev('device.down', 29_999, { device: '3' })], {}, 30 * S, P);
    expect(due.release).toHaveLength(1);
    expect(due.release[0]!.channel).toBe('mail');
    expect(due.release[0]!.events.map((e) => e.device)).toEqual(['1', '2', '3']);
    expect(due.channels).toEqual({ mail: { lastSentAt: 30 * S } });
    expect(due.wakeAt).toBeNull();
  });

  it.each([
    // lastSentAt, events held at, now, released?, wakeAt
    ['within the interval', 30 * S, [60 * S], 329_999, false, 330 * S],
    ['interval reached', 30 * S, [60 * S], 330 * S, true, null],
    [
      'several arrivals inside the interval go out together',
      30 * S,
      [60 * S, 200 * S, 329 * S],
      330 * S,
      true,
      null,
    ],
    ['quiet for longer than the interval: group_wait again', 30 * S, [400 * S], 429_999, false, 430 * S],
    ['quiet for longer than the interval, wait over', 30 * S, [400 * S], 430 * S, true, null],
    ['arrival just before the interval ends waits group_wait', 30 * S, [320 * S], 330 * S, false, 350 * S],
    ['no message yet', null, [0], 30 * S, true, null],
  ] as const)('%s', (_name, lastSentAt, heldAts, now, released, wakeAt) => {
    const held = heldAts.map((t, i) => ev('device.down', t, { device: String(i) }));
    const plan = planRelease(held, { mail: { lastSentAt } }, now, P);
    expect(plan.release.length).toBe(released ? 1 : 0);
    if (released) {
      expect(plan.release[0]!.events).toHaveLength(heldAts.length);
      expect(plan.channels.mail).toEqual({ lastSentAt: now });
    } else {
      expect(plan.channels.mail).toEqual({ lastSentAt });
    }
    expect(plan.wakeAt).toBe(wakeAt);
  });

  it('group_wait 0 sends at once when nothing went out recently, and still honours the interval', () => {
    const zero: GroupingPolicy = { groupWaitMs: 0, groupIntervalMs: 5 * MIN };
    const r = drive(
      [
        ev('device.down', 1_000, { device: '1' }),
        ev('device.down', 2_000, { device: '2' }),
        ev('device.down', 700_000, { device: '3' }),
      ],
      zero,
    );
    expect(r.delivered.map((d) => [d.at, d.events.map((e) => e.device)])).toEqual([
      [1_000, ['1']],
      [301_000, ['2']],
      [700_000, ['3']], // quiet since 301 s: no wait
    ]);
  });

  it('plans later than due (a late tick) release everything held by then, once', () => {
    const held = [ev('device.down', 0, { device: '1' }), ev('device.down', 90 * S, { device: '2' })];
    const plan = planRelease(held, {}, 100 * S, P);
    expect(plan.release.map((r) => r.events.length)).toEqual([2]);
    expect(plan.channels.mail).toEqual({ lastSentAt: 100 * S });
  });

  it('with nothing held, plans nothing and keeps the channel states', () => {
    const channels = { mail: { lastSentAt: 5 } };
    expect(planRelease([], channels, 10, P)).toEqual({ release: [], cancelled: [], channels, wakeAt: null });
  });

  it('returns new values and leaves its inputs alone', () => {
    const held = [ev('device.up', 5, { device: '2' }), ev('device.down', 1, { device: '1' })];
    const channels = { mail: { lastSentAt: null } };
    const frozen = JSON.stringify({ held, channels });
    const plan = planRelease(held, channels, 60 * S, P);
    expect(JSON.stringify({ held, channels })).toBe(frozen);
    expect(plan.channels).not.toBe(channels);
    expect(types(plan.release[0]!.events)).toEqual(['device.down', 'device.up']);
  });
});

describe('planRelease: a mass outage', () => {
  // 50 devices drop together; under a 30/min budget their DOWNs are confirmed one every
  // 2 s (one check each) to 6 s (a check and a confirming re-check, with slack).
  it.each([2 * S, 4 * S, 6 * S])('50 downs confirmed every %i ms → two messages naming all 50', (pace) => {
    const downs = Array.from({ length: 50 }, (_, i) =>
      ev('device.down', 5 * S + i * pace, { device: String(1000 + i), downSince: 0 }),
    );
    for (const channel of ['mail', 'hook']) {
      const r = drive(
        downs.map((e) => ({ ...e, channel })),
        P,
      );
      expect(r.delivered.length).toBeLessThanOrEqual(2);
      expect(r.delivered.flatMap((d) => d.events.map((e) => e.device)).sort()).toEqual(
        downs.map((e) => e.device).sort(),
      );
      // the first message leaves group_wait after the first DOWN
      expect(r.delivered[0]!.at).toBe(5 * S + P.groupWaitMs);
      if (r.delivered.length === 2) expect(r.delivered[1]!.at).toBe(r.delivered[0]!.at + P.groupIntervalMs);
      expect(r.held).toEqual([]);
    }
  });

  it('the first message of a mass outage can say how many are down so far, and that it looks gateway-side', () => {
    const downs = Array.from({ length: 50 }, (_, i) =>
      ev('device.down', 5 * S + i * 4 * S, { device: String(1000 + i), downSince: 0 }),
    );
    const r = drive(downs, P);
    const first = r.delivered[0]!.events;
    expect(first).toHaveLength(8); // confirmed at 5, 9, …, 33 s; released at 35 s
    expect(summarizeOutage(first, { main: { devicesTotal: 50, devicesDown: 8 } })).toEqual([
      { account: 'main', down: 8, total: 50, likelyGatewaySide: false }, // 8 of 50 so far
    ]);
    expect(summarizeOutage(r.delivered[1]!.events, { main: { devicesTotal: 50, devicesDown: 50 } })).toEqual([
      // 42 of 50 in this one, all down since 0: most of the account at once
      { account: 'main', down: 50, total: 50, likelyGatewaySide: true },
    ]);
    expect(summarizeOutage(downs, { main: { devicesTotal: 50, devicesDown: 50 } })).toEqual([
      { account: 'main', down: 50, total: 50, likelyGatewaySide: true },
    ]);
  });
});

/** Compact cancel-out cases: [type, device, problem?]; all on account main, one minute apart. */
type Step = readonly [GroupEventType, string?, DeliveryProblem?];

function story(steps: readonly Step[]): HeldEvent[] {
  return steps.map(([type, device, problem], i) => {
    const account = type.startsWith('account.') ? 'main' : 'main';
    const o: EvOptions = { account, device: type.startsWith('account.') ? null : (device ?? '1') };
    return ev(type, (i + 1) * MIN, problem === undefined ? o : { ...o, problem });
  });
}

describe('cancelOut', () => {
  it.each<[string, Step[], number[]]>([
    // name, the story in order, indices kept
    ['down then up: both go', [['device.down'], ['device.up']], []],
    ['up then down: the up ends an outage already told, both stay', [['device.up'], ['device.down']], [0, 1]],
    ['unreachable then recovered: both go', [['account.unreachable'], ['account.recovered']], []],
    ['recovered then unreachable: both stay', [['account.recovered'], ['account.unreachable']], [0, 1]],
    [
      'stalled then its recovery: both go',
      [['device.stalled'], ['device.delivery_recovered', '1', 'stalled']],
      [],
    ],
    [
      'failing then its recovery: both go',
      [['device.failing'], ['device.delivery_recovered', '1', 'failing']],
      [],
    ],
    [
      'balance_low then its recovery: both go',
      [['device.balance_low'], ['device.delivery_recovered', '1', 'balance_low']],
      [],
    ],
    [
      'a delivery recovery then its problem: both stay',
      [['device.delivery_recovered', '1', 'stalled'], ['device.stalled']],
      [0, 1],
    ],
    [
      'a recovery of another problem: both stay',
      [['device.stalled'], ['device.delivery_recovered', '1', 'failing']],
      [0, 1],
    ],
    [
      'a delivery recovery naming no problem: both stay',
      [['device.stalled'], ['device.delivery_recovered']],
      [0, 1],
    ],
    [
      'down and up of different devices: both stay',
      [
        ['device.down', '1'],
        ['device.up', '2'],
      ],
      [0, 1],
    ],
    [
      'the down’s reminders go with it',
      [['device.down'], ['device.reminder'], ['device.reminder'], ['device.up']],
      [],
    ],
    [
      'a reminder of an outage already told stays, as does its up',
      [['device.reminder'], ['device.up']],
      [0, 1],
    ],
    ['down, up, down: the newest down remains', [['device.down'], ['device.up'], ['device.down']], [2]],
    ['down, up, down, up: all go', [['device.down'], ['device.up'], ['device.down'], ['device.up']], []],
    ['up, down, up: the first up stays', [['device.up'], ['device.down'], ['device.up']], [0]],
    ['flapping is kept', [['device.down'], ['device.flapping'], ['device.up'], ['device.down']], [1, 3]],
    ['flapping alone', [['device.flapping'], ['device.flapping']], [0, 1]],
    ['not_found is never cancelled', [['device.not_found'], ['device.up']], [0, 1]],
    [
      'a not_found between down and up keeps all three',
      [['device.down'], ['device.not_found'], ['device.up']],
      [0, 1, 2],
    ],
    [
      'down after down (no up between, send_resolved off): the receiver may believe DOWN, all stay',
      [['device.down'], ['device.down'], ['device.up']],
      [0, 1, 2],
    ],
    [
      'health and delivery of one device are separate stories',
      [['device.down'], ['device.stalled'], ['device.up'], ['device.delivery_recovered', '1', 'stalled']],
      [],
    ],
    [
      'a down’s up does not cancel a delivery problem',
      [['device.stalled'], ['device.down'], ['device.up']],
      [0],
    ],
    [
      'a delivery reminder goes with its problem, not with the down',
      [
        ['device.down'],
        ['device.stalled'],
        ['device.reminder', '1', 'stalled'],
        ['device.delivery_recovered', '1', 'stalled'],
      ],
      [0],
    ],
    [
      'a reminder of a device other than the cancelled one stays',
      [
        ['device.down', '1'],
        ['device.reminder', '2'],
        ['device.up', '1'],
      ],
      [1],
    ],
  ])('%s', (_name, steps, keptIdx) => {
    const events = story(steps);
    const { kept, cancelled } = cancelOut(events);
    expect(ids(kept)).toEqual(keptIdx.map((i) => events[i]!.id));
    expect(ids(cancelled).sort()).toEqual(
      ids(events)
        .filter((_, i) => !keptIdx.includes(i))
        .sort(),
    );
    // the story is judged in the order things happened, whatever the input order
    const reversed = cancelOut([...events].reverse());
    expect(ids(reversed.kept).sort()).toEqual(ids(kept).sort());
    // idempotent: what is kept cancels nothing more
    expect(cancelOut(kept).cancelled).toEqual([]);
  });

  it('an account’s recovery only cancels that account’s unreachable', () => {
    const events = [
      ev('account.unreachable', 1, { account: 'a', device: null }),
      ev('account.recovered', 2, { account: 'b', device: null }),
    ];
    expect(cancelOut(events).cancelled).toEqual([]);
  });

  it('the same device number under two accounts is two devices', () => {
    const events = [ev('device.down', 1, { account: 'a' }), ev('device.up', 2, { account: 'b' })];
    expect(cancelOut(events).cancelled).toEqual([]);
  });

  it('events of the same instant keep their outbox order', () => {
    const down = ev('device.down', 5);
    const up = ev('device.up', 5);
    expect(cancelOut([down, up]).kept).toEqual([]);
    expect(cancelOut([up, down]).kept).toEqual([up, down]);
  });
});

describe('planRelease: cancel-out over time', () => {
  it('a down and its up held together go nowhere, and leave nothing to wake for', () => {
    const plan = planRelease([ev('device.down', 0), ev('device.up', 10 * S)], {}, 10 * S, P);
    expect(types(plan.cancelled)).toEqual(['device.down', 'device.up']);
    expect(plan.release).toEqual([]);
    expect(plan.wakeAt).toBeNull();
    expect(plan.channels).toEqual({});
  });

  it('a cancelled pair does not start the wait: the next event waits group_wait from its own arrival', () => {
    const r = drive(
      [ev('device.down', 0), ev('device.up', 10 * S), ev('device.down', 20 * S, { device: '2' })],
      P,
    );
    expect(r.delivered.map((d) => [d.at, ids(d.events)])).toEqual([[50 * S, ['device.down@20000/main/2']]]);
    expect(types(r.cancelled)).toEqual(['device.down', 'device.up']);
  });

  it('a recovery whose outage was already sent is sent too', () => {
    const r = drive([ev('device.down', 0), ev('device.up', 40 * S)], P);
    expect(r.delivered.map((d) => [d.at, types(d.events)])).toEqual([
      [30 * S, ['device.down']],
      [330 * S, ['device.up']],
    ]);
    expect(r.cancelled).toEqual([]);
  });

  it('sent down, then up, down, up held: the first up goes out, the held pair cancels', () => {
    const r = drive(
      [ev('device.down', 0), ev('device.up', 40 * S), ev('device.down', 50 * S), ev('device.up', 60 * S)],
      P,
    );
    expect(r.delivered.map((d) => [d.at, ids(d.events)])).toEqual([
      [30 * S, ['device.down@0/main/100']],
      [330 * S, ['device.up@40000/main/100']],
    ]);
    expect(ids(r.cancelled)).toEqual(['device.down@50000/main/100', 'device.up@60000/main/100']);
  });

  it('the same pair in two channels cancels in each; in a channel that already sent the down it does not', () => {
    const down = ev('device.down', 0);
    const up = ev('device.up', 40 * S);
    const r = drive(
      [
        { ...down, channel: 'mail' },
        { ...down, channel: 'hook', heldAt: 50 * S }, // e.g. routed later
        { ...up, channel: 'mail' },
        { ...up, channel: 'hook', heldAt: 55 * S },
      ],
      P,
    );
    expect(r.delivered.map((d) => [d.at, d.channel, types(d.events)])).toEqual([
      [30 * S, 'mail', ['device.down']],
      [330 * S, 'mail', ['device.up']],
    ]);
    expect(r.cancelled.map((e) => [e.channel, e.type])).toEqual([
      ['hook', 'device.down'],
      ['hook', 'device.up'],
    ]);
  });
});

describe('planRelease: test and audit.report are never held', () => {
  it.each(['test', 'audit.report'] as const)(
    '%s goes out at once, alone, and does not count as a message',
    (type) => {
      const channels = { mail: { lastSentAt: 100 * S } };
      const held = [
        ev('device.down', 110 * S),
        ev(type, 120 * S, { id: 'x1' }),
        ev(type, 121 * S, { id: 'x2' }),
      ];
      const plan = planRelease(held, channels, 121 * S, P);
      expect(plan.release.map((r) => ids(r.events))).toEqual([['x1'], ['x2']]);
      expect(plan.channels).toEqual(channels); // the down still waits for the interval
      expect(plan.wakeAt).toBe(400 * S);
    },
  );

  it('on a quiet channel a test does not delay the group, and the group does not wait for a test', () => {
    const r = drive([ev('test', 0, { id: 't' }), ev('device.down', 1 * S)], P);
    expect(r.delivered.map((d) => [d.at, types(d.events)])).toEqual([
      [0, ['test']],
      [31 * S, ['device.down']],
    ]);
  });

  it('a test released together with a group keeps the order of arrival', () => {
    const held = [
      ev('device.down', 0),
      ev('test', 10 * S, { id: 't' }),
      ev('device.up', 20 * S, { device: '2' }),
    ];
    const plan = planRelease(held, {}, 30 * S, P);
    expect(plan.release.map((r) => types(r.events))).toEqual([['device.down', 'device.up'], ['test']]);
  });
});

describe('planRelease: channels are independent', () => {
  it('each channel has its own wait, interval and cancel-out', () => {
    const held = [
      ev('device.down', 0, { channel: 'a' }),
      ev('device.down', 0, { channel: 'b' }),
      ev('device.up', 10 * S, { channel: 'b' }),
      ev('device.down', 20 * S, { channel: 'c', device: '7' }),
    ];
    const channels = { a: { lastSentAt: -60 * S }, c: { lastSentAt: null } };
    const at30 = planRelease(held, channels, 30 * S, P);
    expect(at30.release).toEqual([]); // a: interval since −60 s not over; c: waits until 50 s
    expect(at30.cancelled.map((e) => e.channel)).toEqual(['b', 'b']);
    expect(at30.wakeAt).toBe(50 * S);

    const rest = held.filter((e) => e.channel !== 'b');
    const at50 = planRelease(rest, channels, 50 * S, P);
    expect(at50.release.map((r) => r.channel)).toEqual(['c']);
    expect(at50.wakeAt).toBe(240 * S);
    expect(at50.channels).toEqual({ a: { lastSentAt: -60 * S }, c: { lastSentAt: 50 * S } });

    const at240 = planRelease(rest.slice(0, 1), at50.channels, 240 * S, P);
    expect(at240.release.map((r) => r.channel)).toEqual(['a']);
    expect(at240.channels).toEqual({ a: { lastSentAt: 240 * S }, c: { lastSentAt: 50 * S } });
  });

  it('releases come by channel name, whatever the input order', () => {
    const held = ['z', 'm', 'a'].map((channel) => ev('device.down', 0, { channel }));
    expect(planRelease(held, {}, 30 * S, P).release.map((r) => r.channel)).toEqual(['a', 'm', 'z']);
  });
});

describe('planRelease: wakeAt', () => {
  it.each([
    ['nothing held', [], {}, 0, null],
    ['only a cancelled pair', [ev('device.down', 0), ev('device.up', 1)], {}, 1, null],
    [
      'the earliest channel due',
      [ev('device.down', 5, { channel: 'a' }), ev('device.down', 3, { channel: 'b' })],
      {},
      10,
      30_003,
    ],
    [
      'the interval, not the wait, when the interval ends later',
      [ev('device.down', 100 * S)],
      { mail: { lastSentAt: 90 * S } },
      100 * S,
      390 * S,
    ],
    ['only tests: nothing to wake for', [ev('test', 5, { id: 't' })], {}, 5, null],
    [
      'a channel released now does not count',
      [ev('device.down', 0, { channel: 'a' }), ev('device.down', 10 * S, { channel: 'b' })],
      {},
      30 * S,
      40 * S,
    ],
  ] as const)('%s', (_name, held, channels, now, wakeAt) => {
    expect(planRelease(held, channels, now, P).wakeAt).toBe(wakeAt);
  });

  it('planning at wakeAt releases (no off-by-one)', () => {
    const held = [ev('device.down', 7)];
    const { wakeAt } = planRelease(held, {}, 7, P);
    expect(planRelease(held, {}, wakeAt! - 1, P).release).toEqual([]);
    expect(planRelease(held, {}, wakeAt!, P).release).toHaveLength(1);
  });
});

describe('planRelease: restart', () => {
  const held = [
    ev('device.down', 0, { device: '1', channel: 'mail' }),
    ev('device.down', 2 * S, { device: '2', channel: 'mail' }),
    ev('device.up', 4 * S, { device: '1', channel: 'mail' }),
    ev('device.down', 2 * S, { device: '2', channel: 'hook' }),
    ev('account.unreachable', 3 * S, { device: null, channel: 'hook' }),
    ev('test', 4 * S, { id: 't', channel: 'hook' }),
  ];
  const channels = { mail: { lastSentAt: -100 * S }, hook: { lastSentAt: null } };

  it.each([10 * S, 32 * S, 200 * S, 201 * S])(
    'rows read back from the store (JSON, any order) give the same plan at %i',
    (now) => {
      const plan = planRelease(held, channels, now, P);
      const rows = JSON.parse(JSON.stringify(held)) as HeldEvent[];
      const restored = JSON.parse(JSON.stringify(channels)) as typeof channels;
      expect(planRelease([...rows].reverse(), restored, now, P)).toEqual(plan);
    },
  );

  it('a restart in the middle of the wait changes nothing', () => {
    const arrivals = held.filter((e) => e.channel === 'mail');
    const straight = drive(arrivals, P, { channels });
    const restarted = drive(arrivals, P, { channels, extraTimes: [1 * S, 3 * S, 150 * S, 199_999] });
    expect(restarted.delivered).toEqual(straight.delivered);
    expect(straight.delivered.map((d) => [d.at, ids(d.events)])).toEqual([
      [200 * S, ['device.down@2000/main/2']],
    ]);
  });
});

describe('message order', () => {
  it('is worst first, recoveries last', () => {
    expect(MESSAGE_ORDER).toEqual([
      'device.down',
      'account.unreachable',
      'device.not_found',
      'device.stalled',
      'device.failing',
      'device.balance_low',
      'device.flapping',
      'device.reminder',
      'device.up',
      'account.recovered',
      'device.delivery_recovered',
      'audit.report',
      'test',
    ]);
  });

  it.each<[string, HeldEvent, HeldEvent]>([
    ['a down before an earlier up', ev('device.down', 9), ev('device.up', 1)],
    [
      'unreachable before not_found',
      ev('account.unreachable', 9, { device: null }),
      ev('device.not_found', 1),
    ],
    ['a reminder before a recovery', ev('device.reminder', 9), ev('device.delivery_recovered', 1)],
    ['same type: older first', ev('device.down', 1, { device: '9' }), ev('device.down', 2, { device: '1' })],
    [
      'same type and time: by account',
      ev('device.down', 1, { account: 'a' }),
      ev('device.down', 1, { account: 'b' }),
    ],
    [
      'same account: by device',
      ev('device.down', 1, { device: '10' }),
      ev('device.down', 1, { device: '11' }),
    ],
    ['all else equal: by id', ev('device.down', 1, { id: 'a' }), ev('device.down', 1, { id: 'b' })],
  ])('%s', (_name, first, second) => {
    expect(compareForMessage(first, second)).toBeLessThan(0);
    expect(compareForMessage(second, first)).toBeGreaterThan(0);
  });

  it('orders a released message', () => {
    const held = [
      ev('device.up', 1, { device: '5' }),
      ev('device.delivery_recovered', 2, { problem: 'failing', device: '6' }),
      ev('device.flapping', 3, { device: '7' }),
      ev('device.down', 4, { device: '2' }),
      ev('account.unreachable', 5, { account: 'other', device: null }),
      ev('device.down', 4, { device: '1' }),
      ev('device.balance_low', 6, { device: '8' }),
    ];
    const [release] = planRelease(held, {}, 60 * S, P).release;
    expect(release!.events.map((e) => `${e.type}:${e.device ?? e.account}`)).toEqual([
      'device.down:1',
      'device.down:2',
      'account.unreachable:other',
      'device.balance_low:8',
      'device.flapping:7',
      'device.up:5',
      'device.delivery_recovered:6',
    ]);
  });
});

describe('summarizeOutage', () => {
  const downs = (account: string, times: readonly number[]): HeldEvent[] =>
    times.map((t, i) => ev('device.down', t, { account, device: String(i) }));

  it.each<[string, number[], AccountFleet, boolean]>([
    // name, down times (one device each), fleet, likelyGatewaySide
    ['3 of 3 at once', [0, 1, 2], { devicesTotal: 3, devicesDown: 3 }, true],
    ['2 of 2 at once: too few devices to tell', [0, 1], { devicesTotal: 2, devicesDown: 2 }, false],
    ['2 of 3 at once: too few drops to tell', [0, 1], { devicesTotal: 3, devicesDown: 2 }, false],
    ['3 of 5: more than half', [0, 1, 2], { devicesTotal: 5, devicesDown: 3 }, true],
    ['3 of 6: exactly half is not most', [0, 1, 2], { devicesTotal: 6, devicesDown: 3 }, false],
    ['4 of 6', [0, 1, 2, 3], { devicesTotal: 6, devicesDown: 4 }, true],
    [
      '3 of 4 within exactly 5 min (bounds included)',
      [0, 150 * S, 300 * S],
      { devicesTotal: 4, devicesDown: 3 },
      true,
    ],
    ['3 of 4 over 5 min + 1 ms', [0, 150 * S, 300 * S + 1], { devicesTotal: 4, devicesDown: 3 }, false],
    [
      'the best window counts: 3 close together after one long before',
      [0, 20 * MIN, 21 * MIN, 22 * MIN],
      { devicesTotal: 5, devicesDown: 4 },
      true,
    ],
    ['a few of a large fleet', [0, 1, 2, 3, 4], { devicesTotal: 40, devicesDown: 5 }, false],
  ])('%s', (_name, times, fleet, likely) => {
    expect(summarizeOutage(downs('main', times), { main: fleet })).toEqual([
      { account: 'main', down: fleet.devicesDown, total: fleet.devicesTotal, likelyGatewaySide: likely },
    ]);
  });

  it('judges by downSince when the downs carry it, not by when they were confirmed', () => {
    const events = [0, 4 * MIN, 8 * MIN].map((at, i) =>
      ev('device.down', at, { device: String(i), downSince: i * S }),
    );
    expect(summarizeOutage(events, { main: { devicesTotal: 4, devicesDown: 3 } })[0]!.likelyGatewaySide).toBe(
      true,
    );
    const spread = [0, 4 * MIN, 8 * MIN].map((at, i) => ev('device.down', at, { device: String(i) }));
    expect(summarizeOutage(spread, { main: { devicesTotal: 4, devicesDown: 3 } })[0]!.likelyGatewaySide).toBe(
      false,
    );
  });

  it.each([
    [{ windowMs: 10 * MIN }, true],
    [{ windowMs: 5 * MIN }, false],
    [{ minDevices: 4 }, false],
    [{ minDevices: 2, windowMs: 3 * MIN }, false], // 2 within 3 min are 2 of 4: not most
  ])('options %o → %s', (options, likely) => {
    const events = downs('main', [0, 3 * MIN, 6 * MIN]);
    expect(
      summarizeOutage(events, { main: { devicesTotal: 4, devicesDown: 3 } }, options)[0]!.likelyGatewaySide,
    ).toBe(likely);
  });

  it('counts a device once, other events not at all, and leaves out accounts it cannot size', () => {
    const events = [
      ev('device.down', 0, { device: '1' }),
      ev('device.down', 1, { device: '1', id: 'again' }),
      ev('device.down', 2, { device: '1', id: 'and again' }),
      ev('device.not_found', 0, { device: '2' }),
      ev('device.up', 0, { device: '3' }),
      ev('account.unreachable', 0, { device: null }),
      ev('device.down', 0, { account: 'unknown-to-fleet' }),
    ];
    expect(summarizeOutage(events, { main: { devicesTotal: 3, devicesDown: 2 } })).toEqual([
      { account: 'main', down: 2, total: 3, likelyGatewaySide: false },
    ]);
  });

  it('lists accounts with downs only, most down first', () => {
    const events = [...downs('b', [0]), ...downs('a', [0, 1]), ev('device.up', 0, { account: 'c' })];
    const fleet = {
      a: { devicesTotal: 10, devicesDown: 2 },
      b: { devicesTotal: 10, devicesDown: 9 },
      c: { devicesTotal: 10, devicesDown: 0 },
    };
    expect(summarizeOutage(events, fleet).map((s) => s.account)).toEqual(['b', 'a']);
    expect(summarizeOutage([], fleet)).toEqual([]);
  });
});
