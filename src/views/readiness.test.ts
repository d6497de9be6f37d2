import { describe, expect, it } from 'vitest';
import { initialDeviceState } from '../monitor/device-state.js';
import type { AccountPoller } from '../poll/account-poller.js';
import type { Fleet } from './fleet.js';
import { pollingReady } from './readiness.js';

// pollingReady reads a poller's round and its devices' last checks, nothing else.
function fleet(accounts: { roundMs: number; lastChecks: (number | null)[] }[]): Fleet {
  const pollers = new Map(
    accounts.map((a, i) => {
      const devices = new Map(
        a.lastChecks.map((at, d) => [String(d), { state: { ...initialDeviceState(), lastCheckAt: at } }]),
      );
      return [`a${i}`, { roundMs: () => a.roundMs, devices } as unknown as AccountPoller];
    }),
  );
  return { pollers, mutes: undefined as unknown as Fleet['mutes'] };
}

describe('pollingReady (/readyz)', () => {
  const started = 1_000_000;
  it.each([
    [
      'no device checked yet, within the first round',
      [{ roundMs: 60_000, lastChecks: [null, null] }],
      10_000,
      false,
    ],
    [
      'some checked (one tick ended), within the first round',
      [{ roundMs: 60_000, lastChecks: [started + 1, null] }],
      10_000,
      false,
    ],
    [
      'every device checked once (probe errors count)',
      [{ roundMs: 60_000, lastChecks: [started + 1, started + 5] }],
      10_000,
      true,
    ],
    [
      'checked only before this start (restored from the store): not yet',
      [{ roundMs: 60_000, lastChecks: [started - 5, started + 5] }],
      10_000,
      false,
    ],
    [
      'one round passed, some never checked (budget, 429 pause)',
      [{ roundMs: 60_000, lastChecks: [null] }],
      60_000,
      true,
    ],
    [
      'every account must be ready',
      [
        { roundMs: 60_000, lastChecks: [started + 1] },
        { roundMs: 300_000, lastChecks: [null] },
      ],
      100_000,
      false,
    ],
    ['no devices at all', [{ roundMs: 0, lastChecks: [] }], 0, true],
  ])('%s', (_name, accounts, after, ready) => {
    expect(pollingReady(fleet(accounts), started, started + after)).toBe(ready);
  });
});
