import { describe, expect, it } from 'vitest';
import { FakeClock } from '../test-support/fake-clock.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { CliCallBudget, UnloggedCallRefused } from './api-budget.js';

// With HA the replicas count only the calls in the shared log: a CLI call that cannot be logged
// must not go out unseen. Without HA it goes out paced, with a note (the single-node behaviour).

describe('the CLI budget when the call cannot be logged', () => {
  it('with HA (strict): refuses the call, naming why', async () => {
    const told: string[] = [];
    const budget = new CliCallBudget({
      store: null,
      account: 'main',
      ratePerMinute: 30,
      tell: (line) => told.push(line),
      clock: new FakeClock(1_000_000),
      strict: true,
    });
    const refused = await budget.reserve('check').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UnloggedCallRefused);
    expect((refused as Error).message).toMatch(
      /no database yet: with high availability .* not made \(account main\)/,
    );
  });

  it('with HA (strict): a read-only store refuses too', async () => {
    const store = openSqliteStore(':memory:');
    const budget = new CliCallBudget({
      store,
      readonly: true,
      account: 'main',
      ratePerMinute: 30,
      tell: () => undefined,
      clock: new FakeClock(1_000_000),
      strict: true,
    });
    await expect(budget.reserve('check')).rejects.toBeInstanceOf(UnloggedCallRefused);
    await store.close();
  });

  it('without HA: the call goes out paced, with one note', async () => {
    const told: string[] = [];
    const budget = new CliCallBudget({
      store: null,
      account: 'main',
      ratePerMinute: 30,
      tell: (line) => told.push(line),
      clock: new FakeClock(1_000_000),
    });
    await budget.reserve('check');
    expect(told).toEqual([expect.stringMatching(/^note: no database yet/)]);
  });
});
