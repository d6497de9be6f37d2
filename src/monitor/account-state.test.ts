import { describe, expect, it } from 'vitest';
import type { AccountCycle, AccountState, AccountStep } from './account-state.js';
import { initialAccountState, observeAccountCycle } from './account-state.js';

// ok: every check answered; part: some answered; fail: checks, none answered (timeout);
// auth: none answered, 401/403; idle: no checks. A trailing 'm' mutes that cycle.
type Kind = 'ok' | 'part' | 'fail' | 'auth' | 'idle';
type Cycle = readonly [at: number, kind: Kind, muted?: 'm'];

function cycleOf([at, kind]: Cycle): AccountCycle {
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
    const r = observeAccountCycle(state, cycleOf(c), { failureThreshold, muted: c[2] === 'm' });
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
      },
      { failureThreshold: 3, muted: false },
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
    expect(r.state).toEqual(initialAccountState());
  });

  it('an idle cycle leaves the state as it was', () => {
    const { state } = run(3, [[0, 'fail']]);
    expect(
      observeAccountCycle(state, cycleOf([10, 'idle']), { failureThreshold: 3, muted: false }).state,
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
      const r = observeAccountCycle(state, cycleOf(c), { failureThreshold: 2, muted: c[2] === 'm' });
      events.push(...r.events.map((e) => `${e.type}@${e.at}`));
      state = r.state;
    }
    expect(events).toEqual(eventsOf(2, cycles));
    expect(events).toEqual(['account.unreachable@20', 'account.recovered@50']);
  });
});
