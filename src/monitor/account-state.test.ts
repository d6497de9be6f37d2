import { describe, expect, it } from 'vitest';
import type { AccountCycle, AccountState, AccountStep } from './account-state.js';
import { initialAccountState, observeAccountCycle } from './account-state.js';

// ok: every check answered; part: some answered; fail: checks, none answered (timeout);
// auth: none answered, 401/403; idle: no checks. A trailing 'm' mutes that cycle.
// These tables run with roundMs 0, where every failing cycle closes a round (cycle counting):
// they pin the thresholds, muting and events; 'rounds' below pins what a round is.
type Kind = 'ok' | 'part' | 'fail' | 'auth' | 'idle';
type Cycle = readonly [at: number, kind: Kind, muted?: 'm'];

function cycleOf(c: Cycle): AccountCycle {
  return { ...cycleBody(c), rateLimitedSince: null };
}

function cycleBody([at, kind]: Cycle): Omit<AccountCycle, 'rateLimitedSince'> {
  switch (kind) {
    case 'ok':
      return { now: at, checks: 3, validAnswers: 3, unauthorized: false, lastError: null };
    case 'part':
      return {
        now: at,
        checks: 3,
        validAnswers: 1,
        unauthorized: false,
        lastError: { reason: 'timeout', message: 't' },
      };
    case 'fail':
      return {
        now: at,
        checks: 3,
        validAnswers: 0,
        unauthorized: false,
        lastError: { reason: 'timeout', message: 'timed out' },
      };
    case 'auth':
      return {
        now: at,
        checks: 1,
        validAnswers: 0,
        unauthorized: true,
        lastError: { reason: 'unauthorized', message: 'invalid Access-Token' },
      };
    case 'idle':
      return { now: at, checks: 0, validAnswers: 0, unauthorized: false, lastError: null };
  }
}

function run(
  failureThreshold: number,
  cycles: readonly Cycle[],
): { state: AccountState; steps: AccountStep[] } {
  let state = initialAccountState();
  const steps: AccountStep[] = [];
  for (const c of cycles) {
    const r = observeAccountCycle(state, cycleOf(c), { failureThreshold, roundMs: 0, muted: c[2] === 'm' });
    steps.push(r);
    state = r.state;
  }
  return { state, steps };
}

const eventsOf = (ft: number, cycles: readonly Cycle[]): string[] =>
  run(ft, cycles).steps.flatMap((s) => s.events.map((e) => `${e.type}@${e.at}`));

describe('account reachability', () => {
  it.each<[name: string, ft: number, cycles: Cycle[], expected: string[], reachable: boolean]>([
    [
      'all fine',
      2,
      [
        [0, 'ok'],
        [10, 'ok'],
      ],
      [],
      true,
    ],
    [
      'one failed cycle of two',
      2,
      [
        [0, 'ok'],
        [10, 'fail'],
      ],
      [],
      true,
    ],
    [
      'two failed cycles in a row',
      2,
      [
        [0, 'ok'],
        [10, 'fail'],
        [20, 'fail'],
      ],
      ['account.unreachable@20'],
      false,
    ],
    ['ft1: one failed cycle', 1, [[0, 'fail']], ['account.unreachable@0'], false],
    [
      'ft3: needs three',
      3,
      [
        [0, 'fail'],
        [10, 'fail'],
        [20, 'fail'],
      ],
      ['account.unreachable@20'],
      false,
    ],
    [
      'a valid answer between resets the run',
      2,
      [
        [0, 'fail'],
        [10, 'part'],
        [20, 'fail'],
      ],
      [],
      true,
    ],
    [
      'one valid answer among failures is a good cycle',
      1,
      [
        [0, 'part'],
        [10, 'part'],
      ],
      [],
      true,
    ],
    [
      'idle cycles neither count nor reset',
      2,
      [
        [0, 'fail'],
        [10, 'idle'],
        [20, 'idle'],
        [30, 'fail'],
      ],
      ['account.unreachable@30'],
      false,
    ],
    [
      'idle cycles do not recover',
      1,
      [
        [0, 'fail'],
        [10, 'idle'],
      ],
      ['account.unreachable@0'],
      false,
    ],
    [
      'raised once, not on every failed cycle',
      1,
      [
        [0, 'fail'],
        [10, 'fail'],
        [20, 'auth'],
      ],
      ['account.unreachable@0'],
      false,
    ],
    [
      '401/403 at once, whatever the threshold',
      5,
      [
        [0, 'ok'],
        [10, 'auth'],
      ],
      ['account.unreachable@10'],
      false,
    ],
    [
      'recovered on a valid answer',
      2,
      [
        [0, 'fail'],
        [10, 'fail'],
        [20, 'part'],
      ],
      ['account.unreachable@10', 'account.recovered@20'],
      true,
    ],
    [
      'recovered after 401/403 when the token works again',
      5,
      [
        [0, 'auth'],
        [10, 'ok'],
      ],
      ['account.unreachable@0', 'account.recovered@10'],
      true,
    ],
    [
      'unreachable again after recovering',
      1,
      [
        [0, 'fail'],
        [10, 'ok'],
        [20, 'fail'],
      ],
      ['account.unreachable@0', 'account.recovered@10', 'account.unreachable@20'],
      false,
    ],
    [
      'never recovered without unreachable',
      2,
      [
        [0, 'fail'],
        [10, 'ok'],
      ],
      [],
      true,
    ],
    [
      'muted: state changes, nothing sent',
      1,
      [
        [0, 'fail', 'm'],
        [10, 'fail', 'm'],
      ],
      [],
      false,
    ],
    [
      'muted: sent at the first unmuted cycle',
      1,
      [
        [0, 'fail', 'm'],
        [10, 'fail'],
      ],
      ['account.unreachable@10'],
      false,
    ],
    [
      'muted: an idle unmuted cycle delivers it too',
      1,
      [
        [0, 'fail', 'm'],
        [10, 'idle'],
      ],
      ['account.unreachable@10'],
      false,
    ],
    [
      'muted: unreachable and back while muted says nothing',
      1,
      [
        [0, 'fail', 'm'],
        [10, 'ok', 'm'],
        [20, 'ok'],
      ],
      [],
      true,
    ],
    [
      'muted: recovered held back until the mute ends',
      1,
      [
        [0, 'fail'],
        [10, 'ok', 'm'],
        [20, 'ok'],
      ],
      ['account.unreachable@0', 'account.recovered@20'],
      true,
    ],
    [
      'muted: recovered and failing again inside the mute: still the same story',
      1,
      [
        [0, 'fail'],
        [10, 'ok', 'm'],
        [20, 'fail', 'm'],
        [30, 'fail'],
      ],
      ['account.unreachable@0'],
      false,
    ],
  ])('%s', (_name, ft, cycles, expected, reachable) => {
    const r = run(ft, cycles);
    expect(r.steps.flatMap((s) => s.events.map((e) => `${e.type}@${e.at}`))).toEqual(expected);
    expect(r.state.reachable).toBe(reachable);
  });
});

describe('account events', () => {
  it('unreachable names the last error and when the failures began', () => {
    const r = run(3, [
      [0, 'ok'],
      [10, 'fail'],
      [20, 'fail'],
      [30, 'fail'],
    ]);
    expect(r.steps[3]!.events).toEqual([
      { type: 'account.unreachable', at: 30, reason: 'timeout', message: 'timed out', since: 10 },
    ]);
  });

  it('401/403 reads unauthorized even when the last error was another', () => {
    const r = observeAccountCycle(
      initialAccountState(),
      {
        now: 5,
        checks: 2,
        validAnswers: 0,
        unauthorized: true,
        lastError: { reason: 'timeout', message: 'x' },
        rateLimitedSince: null,
      },
      { failureThreshold: 3, roundMs: 60_000, muted: false },
    );
    expect(r.events).toEqual([
      {
        type: 'account.unreachable',
        at: 5,
        reason: 'unauthorized',
        message: 'the gateway rejected the access token (HTTP 401/403)',
        since: 5,
      },
    ]);
  });

  it('recovered carries the start of the episode and no error', () => {
    const r = run(1, [
      [0, 'fail'],
      [10, 'fail'],
      [20, 'ok'],
    ]);
    expect(r.steps[2]!.events).toEqual([
      { type: 'account.recovered', at: 20, reason: null, message: null, since: 0 },
    ]);
    expect(r.state).toEqual({ ...initialAccountState(), lastValidAnswerAt: 20 });
  });

  it('an idle cycle leaves the state as it was', () => {
    const { state } = run(3, [[0, 'fail']]);
    expect(
      observeAccountCycle(state, cycleOf([10, 'idle']), { failureThreshold: 3, roundMs: 0, muted: false })
        .state,
    ).toEqual(state);
  });

  it('the state is plain JSON and a restart changes no decision', () => {
    const cycles: Cycle[] = [
      [0, 'fail'],
      [10, 'fail', 'm'],
      [20, 'fail'],
      [30, 'idle'],
      [40, 'ok', 'm'],
      [50, 'ok'],
    ];
    let state = initialAccountState();
    const events: string[] = [];
    for (const c of cycles) {
      state = JSON.parse(JSON.stringify(state)) as AccountState;
      const r = observeAccountCycle(state, cycleOf(c), {
        failureThreshold: 2,
        roundMs: 0,
        muted: c[2] === 'm',
      });
      events.push(...r.events.map((e) => `${e.type}@${e.at}`));
      state = r.state;
    }
    expect(events).toEqual(eventsOf(2, cycles));
    expect(events).toEqual(['account.unreachable@20', 'account.recovered@50']);
  });
});

// A realistic account: `devices` devices each due every `roundMs`, spread evenly, a cycle every
// `cycleMs` checking those that fell due since the last; `answer(device, at)` says what one
// check got; `rateLimitedSince(now)`, when not null, is a 429 pause that holds every check back. Returns the account events as `type@seconds`.
function simulate(options: {
  devices: number;
  roundMs: number;
  cycleMs: number;
  untilMs: number;
  failureThreshold: number;
  answer: (device: number, at: number) => 'ok' | 'http_5xx' | 'not_found' | 'unauthorized';
  rateLimitedSince?: (at: number) => number | null;
}): string[] {
  const { devices, roundMs, cycleMs, untilMs, failureThreshold, answer } = options;
  let state = initialAccountState();
  const events: string[] = [];
  for (let now = cycleMs; now <= untilMs; now += cycleMs) {
    let checks = 0;
    let validAnswers = 0;
    let unauthorized = false;
    let lastError: AccountCycle['lastError'] = null;
    const rateLimitedSince = options.rateLimitedSince?.(now) ?? null;
    // While paused by a 429 nothing is checked.
    for (let d = 0; d < devices && rateLimitedSince === null; d++) {
      // device d is due at d/devices of a round, then every round
      const offset = (d * roundMs) / devices;
      for (let due = offset; due < now; due += roundMs) {
        if (due < now - cycleMs) continue;
        checks++;
        const a = answer(d, due);
        if (a === 'ok' || a === 'not_found') validAnswers++;
        else if (a === 'unauthorized') {
          unauthorized = true;
          lastError = { reason: 'unauthorized', message: 'invalid Access-Token' };
        } else lastError = { reason: 'http_5xx', message: 'HTTP 500' };
      }
    }
    const r = observeAccountCycle(
      state,
      {
        now,
        checks,
        validAnswers,
        unauthorized,
        lastError,
        rateLimitedSince,
      },
      { failureThreshold, roundMs, muted: false },
    );
    events.push(...r.events.map((e) => `${e.type}@${e.at / 1000}`));
    state = r.state;
  }
  return events;
}

describe('rounds: unreachable means no valid answer from any device across failure_threshold rounds', () => {
  const base = { devices: 12, roundMs: 60_000, cycleMs: 10_000, untilMs: 3_600_000, failureThreshold: 2 };

  it('6 of 12 devices answering 500 for an hour: never unreachable (it used to flap every interval)', () => {
    expect(simulate({ ...base, answer: (d) => (d < 6 ? 'http_5xx' : 'ok') })).toEqual([]);
  });

  it('the same with threshold 1 and a cycle reaching one device at a time', () => {
    expect(
      simulate({
        ...base,
        failureThreshold: 1,
        cycleMs: 5_000,
        answer: (d) => (d % 2 === 0 ? 'http_5xx' : 'ok'),
      }),
    ).toEqual([]);
  });

  it('11 of 12 failing, the last one answering: still reachable', () => {
    expect(simulate({ ...base, answer: (d) => (d === 11 ? 'ok' : 'http_5xx') })).toEqual([]);
  });

  it('devices the gateway does not know are valid answers', () => {
    expect(simulate({ ...base, answer: (d) => (d < 10 ? 'not_found' : 'http_5xx') })).toEqual([]);
  });

  it('all failing from 10:00: unreachable after failure_threshold full rounds, not before', () => {
    const events = simulate({
      ...base,
      untilMs: 1_200_000,
      answer: (_d, at) => (at >= 600_000 ? 'http_5xx' : 'ok'),
    });
    // first failed check in the cycle at 610 s; two rounds of 60 s later
    expect(events).toEqual(['account.unreachable@730']);
  });

  it('threshold 3: three rounds', () => {
    const events = simulate({
      ...base,
      failureThreshold: 3,
      untilMs: 1_200_000,
      answer: (_d, at) => (at >= 600_000 ? 'http_5xx' : 'ok'),
    });
    expect(events).toEqual(['account.unreachable@790']);
  });

  it('401/403 from every device: unreachable at once', () => {
    const events = simulate({
      ...base,
      untilMs: 700_000,
      answer: (_d, at) => (at >= 600_000 ? 'unauthorized' : 'ok'),
    });
    expect(events).toEqual(['account.unreachable@610']);
  });

  it('recovery: one valid answer from any device', () => {
    const events = simulate({
      ...base,
      untilMs: 1_500_000,
      answer: (d, at) => (at >= 600_000 && (at < 900_000 || d !== 4) ? 'http_5xx' : 'ok'),
    });
    // device 4 is due at 20 s past each minute: its first check from 900 s on is at 920 s
    expect(events).toEqual(['account.unreachable@730', 'account.recovered@930']);
  });

  it('a failure of one round only, then answers: nothing', () => {
    expect(
      simulate({ ...base, answer: (_d, at) => (at >= 600_000 && at < 660_000 ? 'http_5xx' : 'ok') }),
    ).toEqual([]);
  });

  it('a restart gap without checks closes one round, not many', () => {
    let state = initialAccountState();
    const ctx = { failureThreshold: 2, roundMs: 60_000, muted: false };
    const fail: AccountCycle = {
      now: 0,
      checks: 1,
      validAnswers: 0,
      unauthorized: false,
      lastError: { reason: 'timeout', message: 't' },
      rateLimitedSince: null,
    };
    state = observeAccountCycle(state, fail, ctx).state;
    const after = observeAccountCycle(state, { ...fail, now: 3_600_000 }, ctx);
    expect(after.events).toEqual([]);
    expect(after.state.failedRounds).toBe(1);
  });
});

describe('rate limited too long (reason rate_limited)', () => {
  const base = { devices: 4, roundMs: 60_000, cycleMs: 10_000, failureThreshold: 2 };

  it('paused by 429s longer than failure_threshold rounds, no checks meanwhile: unreachable, rate_limited', () => {
    let state = initialAccountState();
    const ctx = { failureThreshold: 2, roundMs: 60_000, muted: false };
    const idle = (now: number): AccountCycle => ({
      now,
      checks: 0,
      validAnswers: 0,
      unauthorized: false,
      lastError: null,
      rateLimitedSince: 5_000,
    });
    const at: string[] = [];
    for (let now = 10_000; now <= 200_000; now += 10_000) {
      const r = observeAccountCycle(state, idle(now), ctx);
      at.push(...r.events.map((e) => `${e.type}@${e.at / 1000}:${e.reason}:${e.since / 1000}`));
      state = r.state;
    }
    expect(at).toEqual(['account.unreachable@130:rate_limited:5']);
    expect(state.lastError?.message).toContain('only 429');
  });

  it('paused exactly failure_threshold rounds: not yet', () => {
    const r = observeAccountCycle(
      initialAccountState(),
      { now: 120_000, checks: 0, validAnswers: 0, unauthorized: false, lastError: null, rateLimitedSince: 0 },
      { failureThreshold: 2, roundMs: 60_000, muted: false },
    );
    expect(r.state.reachable).toBe(true);
  });

  it('a short pause now and then, others answering: nothing', () => {
    expect(
      simulate({
        ...base,
        untilMs: 1_800_000,
        answer: () => 'ok',
        rateLimitedSince: (now) => (now % 300_000 < 60_000 ? now - (now % 300_000) : null),
      }),
    ).toEqual([]);
  });

  it('recovers with the first valid answer after the pause', () => {
    const events = simulate({
      ...base,
      untilMs: 600_000,
      answer: () => 'ok',
      rateLimitedSince: (now) => (now < 300_000 ? 0 : null),
    });
    // the pause ends at 300 s; the first device due after it is checked in the cycle at 310 s
    expect(events).toEqual(['account.unreachable@130', 'account.recovered@310']);
  });
});
