import { describe, expect, it } from 'vitest';
import type { Policy } from '../config/types.js';
import { DEFAULT_DELIVERY_RULES } from './delivery.js';
import type { DeviceState, DeviceStep } from './device-state.js';
import { initialDeviceState, needsConfirmation, observeDevice, tickDevice } from './device-state.js';
import type { DeviceStatus, Observation } from './model.js';

const BASE: Policy = {
  intervalMs: 60_000,
  timeoutMs: 10_000,
  failureThreshold: 2,
  successThreshold: 1,
  repeatIntervalMs: 0,
  sendResolved: true,
  flapThreshold: 0,
  flapWindowMs: 0,
  reconnect: 'link',
  delivery: DEFAULT_DELIVERY_RULES,
};

// A scenario is a script: `0c 10d 25e 30t 40dm` — time in ms, then the step: c d n i u a
// status (connected, disconnected, not connected, not initialized, unknown), f the gateway's
// "device not found!" (not_found), e a probe error,
// t a tick; a trailing m mutes that step.
type Op = 'c' | 'd' | 'n' | 'i' | 'u' | 'f' | 'e' | 't';
type Script = string;

const STATUS: Record<Exclude<Op, 'e' | 't'>, [DeviceStatus, string]> = {
  c: ['connected', 'connected'],
  d: ['disconnected', 'disconnected'],
  n: ['not_connected', 'not connected'],
  i: ['not_initialized', 'not initialized'],
  u: ['unknown', 'gateway says what?'],
  f: ['not_found', 'device not found!'],
};

function parse(script: Script): { at: number; op: Op; muted: boolean }[] {
  return script
    .split(/\s+/)
    .filter((w) => w !== '')
    .map((w) => {
      const m = /^(\d+(?:e\d+)?)([cdniufet])(m?)$/.exec(w);
      if (m === null) throw new Error(`bad step '${w}'`);
      return { at: Number(m[1]), op: m[2] as Op, muted: m[3] === 'm' };
    });
}

function obsOf(op: Exclude<Op, 't'>): Observation {
  if (op === 'e') return { kind: 'probe_error', reason: 'timeout', message: 'timed out after 10s' };
  const [status, raw] = STATUS[op];
  return { kind: 'status', status, raw };
}

function run(policy: Partial<Policy>, script: Script): { state: DeviceState; steps: DeviceStep[] } {
  const p = { ...BASE, ...policy };
  let state = initialDeviceState();
  const out: DeviceStep[] = [];
  for (const { at, op, muted } of parse(script)) {
    const ctx = { now: at, policy: p, muted };
    const r = op === 't' ? tickDevice(state, ctx) : observeDevice(state, obsOf(op), ctx);
    out.push(r);
    state = r.state;
  }
  return { state, steps: out };
}

function eventsOf(policy: Partial<Policy>, script: Script): string {
  return run(policy, script)
    .steps.flatMap((s) => s.events.map((e) => `${e.type.replace('device.', '')}@${e.at}`))
    .join(' ');
}

/** Expected events, `down@20 up@30` for device.down at 20 and device.up at 30; '' for none. */
type Case = readonly [name: string, policy: Partial<Policy>, script: Script, expected: string];

describe('thresholds', () => {
  it.each<Case>([
    ['ft1: one bad status is DOWN', { failureThreshold: 1 }, '0c 10d', 'down@10'],
    ['ft2: one bad status is not enough', { failureThreshold: 2 }, '0c 10d', ''],
    ['ft2: two in a row are DOWN', { failureThreshold: 2 }, '0c 10d 20d', 'down@20'],
    ['ft3: two are not enough', { failureThreshold: 3 }, '0c 10d 20d', ''],
    ['ft3: three are', { failureThreshold: 3 }, '0c 10d 20d 30d', 'down@30'],
    ['ft2: a connected between resets', { failureThreshold: 2 }, '0d 10c 20d 30c', ''],
    ['ft3: different bad statuses count together', { failureThreshold: 3 }, '0d 10n 20i', 'down@20'],
    ['unknown counts as not connected', { failureThreshold: 2 }, '0c 10u 20u', 'down@20'],
    ['unknown mixed with disconnected', { failureThreshold: 2 }, '0u 10d', 'down@10'],
    ['first observation bad, ft1', { failureThreshold: 1 }, '0n', 'down@0'],
    ['first observation bad, ft2: needs the threshold like any other', { failureThreshold: 2 }, '0n', ''],
    ['first observation bad, ft2, second confirms', { failureThreshold: 2 }, '0n 5n', 'down@5'],
    ['first observation connected: nothing to say', {}, '0c 10c', ''],
    ['st1: one connected is UP', { failureThreshold: 1 }, '0d 10c', 'down@0 up@10'],
    ['st2: one connected is not enough', { failureThreshold: 1, successThreshold: 2 }, '0d 10c', 'down@0'],
    ['st2: two are', { failureThreshold: 1, successThreshold: 2 }, '0d 10c 20c', 'down@0 up@20'],
    [
      'st2: a bad status between resets',
      { failureThreshold: 1, successThreshold: 2 },
      '0d 10c 20d 30c',
      'down@0',
    ],
    ['st3', { failureThreshold: 1, successThreshold: 3 }, '0d 10c 20c 30c', 'down@0 up@30'],
    ['DOWN again after UP', { failureThreshold: 1 }, '0d 10c 20d', 'down@0 up@10 down@20'],
    ['staying DOWN says nothing more (repeat 0)', { failureThreshold: 1 }, '0d 10d 20n', 'down@0'],
  ])('%s', (_name, policy, steps, expected) => {
    expect(eventsOf(policy, steps)).toEqual(expected);
  });
});

describe('probe errors', () => {
  it.each<Case>([
    ['are skipped inside a bad run (ft2)', { failureThreshold: 2 }, '0c 10d 15e 20d', 'down@20'],
    ['do not count as bad (ft2)', { failureThreshold: 2 }, '0c 10d 15e 16e 17e', ''],
    [
      'do not reset a good run (st2)',
      { failureThreshold: 1, successThreshold: 2 },
      '0d 10c 15e 20c',
      'down@0 up@20',
    ],
    ['do not count as good (st2)', { failureThreshold: 1, successThreshold: 2 }, '0d 10c 15e 16e', 'down@0'],
    ['before any status: nothing', { failureThreshold: 1 }, '0e 10e 20t', ''],
    ['never bring a DOWN device UP', { failureThreshold: 1 }, '0d 10e 20e', 'down@0'],
  ])('%s', (_name, policy, steps, expected) => {
    expect(eventsOf(policy, steps)).toEqual(expected);
  });

  it('record lastProbeError and lastCheckAt and nothing else; a status clears it', () => {
    const { state: before } = run({ failureThreshold: 3 }, '0c 10d');
    const r = observeDevice(
      before,
      { kind: 'probe_error', reason: 'http_5xx', message: 'HTTP 503' },
      { now: 20, policy: BASE, muted: false },
    );
    expect(r.change).toBeNull();
    expect(r.events).toEqual([]);
    expect(r.state).toEqual({
      ...before,
      lastCheckAt: 20,
      lastProbeError: { reason: 'http_5xx', message: 'HTTP 503', at: 20 },
    });
    const back = observeDevice(
      r.state,
      { kind: 'status', status: 'disconnected', raw: 'disconnected' },
      { now: 30, policy: BASE, muted: false },
    );
    expect(back.state.lastProbeError).toBeNull();
    expect(back.state.lastCheckAt).toBe(30);
  });
});

describe('send_resolved false', () => {
  it.each<Case>([
    ['no device.up', { failureThreshold: 1, sendResolved: false }, '0d 10c', 'down@0'],
    [
      'the next outage is a new device.down',
      { failureThreshold: 1, sendResolved: false },
      '0d 10c 20d',
      'down@0 down@20',
    ],
    [
      'no reminders after the silent recovery',
      { failureThreshold: 1, sendResolved: false, repeatIntervalMs: 100 },
      '0d 10c 500t',
      'down@0',
    ],
  ])('%s', (_name, policy, steps, expected) => {
    expect(eventsOf(policy, steps)).toEqual(expected);
  });
});

describe('reminders', () => {
  const p = { failureThreshold: 1, repeatIntervalMs: 100 };
  it.each<Case>([
    [
      'one per repeat interval, on ticks',
      p,
      '0d 50t 99t 100t 150t 199t 200t',
      'down@0 reminder@100 reminder@200',
    ],
    [
      'counted from the last one sent, not a fixed grid',
      p,
      '0d 130t 229t 230t',
      'down@0 reminder@130 reminder@230',
    ],
    ['also due on an observation', p, '0d 100d', 'down@0 reminder@100'],
    ['also due on a probe error', p, '0d 100e', 'down@0 reminder@100'],
    ['a long gap sends one, not a backlog', p, '0d 1000t 1001t', 'down@0 reminder@1000'],
    ['stop when UP', p, '0d 50c 500t', 'down@0 up@50'],
    ['counted from the deferred device.down', p, '0dm 50t 149t 150t', 'down@50 reminder@150'],
    ['repeat 0: never', { failureThreshold: 1, repeatIntervalMs: 0 }, '0d 1e9t 2e9d', 'down@0'],
    [
      'not while UP with a pending bad run',
      { failureThreshold: 3, repeatIntervalMs: 100 },
      '0d 500d 1000t',
      '',
    ],
  ])('%s', (_name, policy, steps, expected) => {
    expect(eventsOf(policy, steps)).toEqual(expected);
  });
});

describe('flapping', () => {
  const p = { failureThreshold: 1, successThreshold: 1, flapThreshold: 4, flapWindowMs: 1000 };
  it.each<Case>([
    [
      'the 4th transition in the window is device.flapping instead of its own alert',
      p,
      '0d 10c 20d 30c',
      'down@0 up@10 down@20 flapping@30',
    ],
    [
      'one device.flapping per episode, transitions paused',
      p,
      '0d 10c 20d 30c 40d 50c 60d',
      'down@0 up@10 down@20 flapping@30',
    ],
    [
      'stable UP, down was told: device.up',
      p,
      '0d 10c 20d 30c 1029t 1030t',
      'down@0 up@10 down@20 flapping@30 up@1030',
    ],
    [
      'each transition restarts the stability clock',
      p,
      '0d 10c 20d 30c 500d 1030t 1499t 1500t',
      'down@0 up@10 down@20 flapping@30',
    ],
    [
      'stable DOWN, down was told: nothing',
      p,
      '0d 10c 20d 30c 40d 1040t',
      'down@0 up@10 down@20 flapping@30',
    ],
    [
      'stable DOWN, up was told: device.down',
      { ...p, flapThreshold: 3 },
      '0d 10c 20d 1019t 1020t',
      'down@0 up@10 flapping@20 down@1020',
    ],
    [
      'stable UP, up was told: nothing',
      { ...p, flapThreshold: 3 },
      '0d 10c 20d 30c 1030t',
      'down@0 up@10 flapping@20',
    ],
    [
      'stable UP, send_resolved false: nothing',
      { ...p, sendResolved: false },
      '0d 10c 20d 30c 1030t 1040d',
      'down@0 down@20 flapping@30 down@1040',
    ],
    [
      'reminders pause while flapping',
      { ...p, flapThreshold: 3, repeatIntervalMs: 100 },
      '0d 10c 20d 200t 500t 1020t 1120t',
      'down@0 up@10 flapping@20 down@1020 reminder@1120',
    ],
    [
      'reminder right away when stable DOWN and one came due',
      { ...p, repeatIntervalMs: 100 },
      '0d 10c 20d 30c 40d 1040t',
      'down@0 up@10 down@20 flapping@30 reminder@1040',
    ],
    [
      'stability is also noticed by an observation',
      p,
      '0d 10c 20d 30c 2000c',
      'down@0 up@10 down@20 flapping@30 up@2000',
    ],
    [
      'a transition after stability is judged afresh',
      p,
      '0d 10c 20d 30c 2000d',
      'down@0 up@10 down@20 flapping@30',
    ],
    [
      'transitions spread wider than the window never flap',
      p,
      '0d 400c 800d 1200c 1600d',
      'down@0 up@400 down@800 up@1200 down@1600',
    ],
    [
      'a new episode after a stable spell flaps again',
      { ...p, flapThreshold: 2 },
      '0d 10c 1010t 2000d 2010c',
      'down@0 flapping@10 up@1010 down@2000 flapping@2010',
    ],
    [
      'flap_threshold 0 turns it off',
      { ...p, flapThreshold: 0 },
      '0d 10c 20d 30c',
      'down@0 up@10 down@20 up@30',
    ],
  ])('%s', (_name, policy, steps, expected) => {
    expect(eventsOf(policy, steps)).toEqual(expected);
  });

  it('needs status changes of health, not of status', () => {
    // disconnected ↔ not_connected flips the status but never the health
    const steps = '0d 10n 20d 30n 40d';
    const r = run({ failureThreshold: 1, flapThreshold: 2, flapWindowMs: 1000 }, steps);
    expect(r.state.flapping).toBe(false);
    expect(r.steps.flatMap((s) => s.events.map((e) => e.type))).toEqual(['device.down']);
  });

  it('the device.up sent when flapping settles gives the outage end as the time it turned UP', () => {
    const r = run(p, '0d 10c 20d 30c 1030t');
    const up = r.steps[4]!.events[0]!;
    expect(up).toMatchObject({ type: 'device.up', at: 1030, downSince: 20, upAt: 30 });
  });

  it('device.flapping carries downSince only while DOWN', () => {
    const up = run(p, '0d 10c 20d 30c').steps[3]!.events[0]!;
    expect(up).toEqual({
      type: 'device.flapping',
      at: 30,
      status: 'connected',
      previousStatus: 'disconnected',
      since: 30,
    });
    const down = run({ ...p, flapThreshold: 3 }, '0d 10c 20d').steps[2]!.events[0]!;
    expect(down).toEqual({
      type: 'device.flapping',
      at: 20,
      status: 'disconnected',
      previousStatus: 'connected',
      since: 20,
      downSince: 20,
    });
  });
});

describe('muting', () => {
  const p = { failureThreshold: 1, repeatIntervalMs: 100 };
  const flap = { failureThreshold: 1, flapThreshold: 3, flapWindowMs: 1000 };
  it.each<Case>([
    ['DOWN while muted: alerted at the first tick after', p, '0dm 50tm 60t', 'down@60'],
    ['DOWN while muted: alerted at the first observation after', p, '0dm 70d', 'down@70'],
    ['DOWN while muted: alerted at a probe error after', p, '0dm 70e', 'down@70'],
    ['DOWN and UP entirely while muted: nothing', p, '0dm 10cm 20t 30c', ''],
    ['ft2 confirmation spanning the mute end', { failureThreshold: 2 }, '0c 10dm 20d', 'down@20'],
    ['DOWN confirmed while muted, still DOWN after', { failureThreshold: 2 }, '0c 10dm 20dm 30t', 'down@30'],
    ['told DOWN, UP while muted: device.up when the mute ends', p, '0d 10cm 20tm 30t', 'down@0 up@30'],
    [
      'told DOWN, UP while muted, send_resolved false: nothing',
      { ...p, sendResolved: false },
      '0d 10cm 30t 40d',
      'down@0 down@40',
    ],
    [
      'told DOWN, UP and DOWN again while muted: nothing (still the same story)',
      p,
      '0d 10cm 20dm 30t',
      'down@0',
    ],
    [
      'reminders due while muted: skipped, one at the end, then the cadence',
      p,
      '0d 100tm 200tm 250t 300t 349t 350t',
      'down@0 reminder@250 reminder@350',
    ],
    ['no reminder due during the mute: none at its end', p, '0d 20tm 50t 100t', 'down@0 reminder@100'],
    [
      'repeat 0: nothing at the end of a mute when down was told',
      { failureThreshold: 1 },
      '0d 20tm 5000t',
      'down@0',
    ],
    [
      'flapping while muted: no event; stable afterwards reconciles',
      flap,
      '0dm 10cm 20dm 1020t',
      'down@1020',
    ],
    ['mute ends while flapping: device.flapping then', flap, '0dm 10cm 20dm 30t', 'flapping@30'],
    [
      'flapping begins unmuted, stabilises while muted, reconciled at the end',
      flap,
      '0d 10c 20d 1020tm 1100t',
      'down@0 up@10 flapping@20 down@1100',
    ],
  ])('%s', (_name, policy, steps, expected) => {
    expect(eventsOf(policy, steps)).toEqual(expected);
  });

  it('never changes status, health, changes or counters', () => {
    const loud = run({}, '0c 10d 20d 30e 40c 50u');
    const muted = run({}, '0cm 10dm 20dm 30em 40cm 50um');
    expect(muted.steps.map((s) => s.change)).toEqual(loud.steps.map((s) => s.change));
    const core = ({
      downNotified: _a,
      notifiedDownSince: _b,
      lastDownNotificationAt: _c,
      flapNotified: _d,
      ...rest
    }: DeviceState) => rest;
    expect(core(muted.state)).toEqual(core(loud.state));
    expect(muted.steps.flatMap((s) => s.events)).toEqual([]);
  });
});

describe('not_found (SPEC §3)', () => {
  const p = { failureThreshold: 2, repeatIntervalMs: 100 };
  it.each<Case>([
    [
      'DOWN after failure_threshold answers, told once as device.not_found, no reminders',
      p,
      '0f 10f 500t 900f',
      'not_found@10',
    ],
    ['a probe error in between does not count', p, '0f 5e 10f', 'not_found@10'],
    ['back and connected: device.up', p, '0f 10f 20c', 'not_found@10 up@20'],
    [
      'DOWN for another status, then deleted: device.not_found too, once',
      p,
      '0d 10d 20f 30f 400t',
      'down@10 not_found@20',
    ],
    [
      'not found, then re-added but unpaired: reminders resume',
      p,
      '0f 10f 20n 120t',
      'not_found@10 reminder@120',
    ],
    ['a silence holds it back until it ends', p, '0fm 10fm 20t', 'not_found@20'],
    ['a second outage tells again', p, '0f 10f 20c 30f 40f', 'not_found@10 up@20 not_found@40'],
  ])('%s', (_name, policy, script, expected) => {
    expect(eventsOf(policy, script)).toBe(expected);
  });

  it('is DOWN like any unhealthy status; the event carries the outage start', () => {
    const r = run(p, '0c 10f 20f');
    expect(r.state.health).toBe('DOWN');
    expect(r.steps[2]!.events).toEqual([
      {
        type: 'device.not_found',
        at: 20,
        status: 'not_found',
        previousStatus: 'connected',
        since: 10,
        downSince: 10,
      },
    ]);
  });
});

describe('status changes', () => {
  it('the first status is a change from null, then every change whatever the thresholds', () => {
    const r = run({ failureThreshold: 3 }, '0c 10d 20d 30c 40e 50c 60u');
    expect(r.steps.map((s) => s.change)).toEqual([
      { from: null, to: 'connected', at: 0, raw: 'connected' },
      { from: 'connected', to: 'disconnected', at: 10, raw: 'disconnected' },
      null,
      { from: 'disconnected', to: 'connected', at: 30, raw: 'connected' },
      null,
      null,
      { from: 'connected', to: 'unknown', at: 60, raw: 'gateway says what?' },
    ]);
    expect(r.state.transitions).toBe(3);
    expect(r.state.health).toBe('UP');
  });

  it('a new raw text for the same status updates statusRaw without a change', () => {
    const s1 = observeDevice(
      initialDeviceState(),
      { kind: 'status', status: 'unknown', raw: 'a' },
      { now: 0, policy: BASE, muted: false },
    );
    const s2 = observeDevice(
      s1.state,
      { kind: 'status', status: 'unknown', raw: 'b' },
      { now: 10, policy: BASE, muted: false },
    );
    expect(s2.change).toBeNull();
    expect(s2.state.statusRaw).toBe('b');
    expect(s2.state.statusSince).toBe(0);
  });
});

describe('event fields', () => {
  it('a confirmed drop from connected reads connected → disconnected, since the first bad check', () => {
    const r = run({ failureThreshold: 2 }, '0c 10d 20d');
    expect(r.steps[2]!.events).toEqual([
      {
        type: 'device.down',
        at: 20,
        status: 'disconnected',
        previousStatus: 'connected',
        since: 10,
        downSince: 10,
      },
    ]);
  });

  it('downSince is the start of the bad run even when the status moved within it', () => {
    const r = run({ failureThreshold: 3 }, '0c 10d 20n 30n');
    expect(r.steps[3]!.events).toEqual([
      {
        type: 'device.down',
        at: 30,
        status: 'not_connected',
        previousStatus: 'disconnected',
        since: 20,
        downSince: 10,
      },
    ]);
  });

  it('device.up and device.reminder carry the outage start', () => {
    const r = run(
      { failureThreshold: 1, successThreshold: 2, repeatIntervalMs: 100 },
      '0c 10d 110t 120c 130c',
    );
    expect(r.steps[2]!.events).toEqual([
      {
        type: 'device.reminder',
        at: 110,
        status: 'disconnected',
        previousStatus: 'connected',
        since: 10,
        downSince: 10,
      },
    ]);
    expect(r.steps[4]!.events).toEqual([
      {
        type: 'device.up',
        at: 130,
        status: 'connected',
        previousStatus: 'disconnected',
        since: 120,
        downSince: 10,
        upAt: 130,
      },
    ]);
    expect(r.state.downSince).toBeNull();
  });

  it('a first-seen bad device has no previous status', () => {
    const r = run({ failureThreshold: 1 }, '5i');
    expect(r.steps[0]!.events).toEqual([
      { type: 'device.down', at: 5, status: 'not_initialized', previousStatus: null, since: 5, downSince: 5 },
    ]);
  });
});

describe('tick', () => {
  it('before any observation does nothing', () => {
    const s = initialDeviceState();
    const r = tickDevice(s, { now: 1e12, policy: { ...BASE, repeatIntervalMs: 1 }, muted: false });
    expect(r).toEqual({ state: s, change: null, events: [] });
    expect(r.state).toBe(s);
  });

  it('returns the very same state when nothing is due', () => {
    const { state } = run({ failureThreshold: 1, repeatIntervalMs: 100 }, '0d');
    const r = tickDevice(state, {
      now: 50,
      policy: { ...BASE, failureThreshold: 1, repeatIntervalMs: 100 },
      muted: false,
    });
    expect(r.state).toBe(state);
    expect(r.events).toEqual([]);
  });

  it('never changes status, health or counters, even with a pending run', () => {
    const { state } = run({ failureThreshold: 2 }, '0c 10d');
    for (const muted of [false, true]) {
      const r = tickDevice(state, { now: 1e9, policy: { ...BASE, failureThreshold: 1 }, muted });
      expect(r.state).toBe(state);
      expect(r.change).toBeNull();
    }
  });

  it.each<Case>([
    [
      'observe and tick agree on a due reminder',
      { failureThreshold: 1, repeatIntervalMs: 100 },
      '0d 100t 200d',
      'down@0 reminder@100 reminder@200',
    ],
    [
      'a tick at the same instant as the observation adds nothing',
      { failureThreshold: 1, repeatIntervalMs: 100 },
      '0d 0t 0t',
      'down@0',
    ],
  ])('%s', (_name, policy, steps, expected) => {
    expect(eventsOf(policy, steps)).toEqual(expected);
  });
});

describe('needsConfirmation', () => {
  it.each<[name: string, policy: Partial<Policy>, script: Script, expected: boolean]>([
    ['never observed', {}, '', false],
    ['UP and connected', {}, '0c', false],
    ['one bad status of two', { failureThreshold: 2 }, '0c 10d', true],
    ['bad run then a probe error: still pending', { failureThreshold: 2 }, '0c 10d 20e', true],
    ['first seen bad, ft2', { failureThreshold: 2 }, '0n', true],
    ['confirmed DOWN', { failureThreshold: 2 }, '0d 10d', false],
    ['DOWN, one connected of two', { failureThreshold: 1, successThreshold: 2 }, '0d 10c', true],
    ['back UP', { failureThreshold: 1, successThreshold: 2 }, '0d 10c 20c', false],
    ['ft1 never pends', { failureThreshold: 1 }, '0c 10d', false],
  ])('%s', (_name, policy, steps, expected) => {
    expect(needsConfirmation(run(policy, steps).state)).toBe(expected);
  });
});

describe('persistence', () => {
  it('the state is plain JSON', () => {
    const r = run(
      { failureThreshold: 1, flapThreshold: 3, flapWindowMs: 1000, repeatIntervalMs: 100 },
      '0d 10c 20e 30d',
    );
    expect(JSON.parse(JSON.stringify(r.state))).toEqual(r.state);
  });
});
