import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { FakeClock } from '../test-support/fake-clock.js';
import type { Fence, LeaseHolder, LeaseStore } from '../store/lease.js';
import { LeaseKeeper } from './lease-keeper.js';

const LEASE = 15_000;
const log = pino({ level: 'silent' });

/**
 * The lease row's rules (postgres-lease.ts states them in SQL, tested on a real PostgreSQL), on
 * a clock the test drives: the keeper's logic is what is under test here.
 */
class LeaseRow implements LeaseStore {
  row: { holder: string; epoch: number; expiresAt: number } | null = null;
  /** Set to make the database unreachable. */
  down = false;
  constructor(private readonly clock: FakeClock) {}
  acquireLease(_name: string, holder: string, ttlMs: number): Promise<number | null> {
    if (this.down) return Promise.reject(new Error('connection refused'));
    const now = this.clock.now();
    if (this.row !== null && this.row.expiresAt > now) return Promise.resolve(null);
    this.row = { holder, epoch: (this.row?.epoch ?? 0) + 1, expiresAt: now + ttlMs };
    return Promise.resolve(this.row.epoch);
  }
  renewLease(_name: string, holder: string, epoch: number, ttlMs: number): Promise<boolean> {
    if (this.down) return Promise.reject(new Error('connection refused'));
    const now = this.clock.now();
    const r = this.row;
    if (r === null || r.holder !== holder || r.epoch !== epoch || r.expiresAt <= now)
      return Promise.resolve(false);
    r.expiresAt = now + ttlMs;
    return Promise.resolve(true);
  }
  releaseLease(_name: string, holder: string, epoch: number): Promise<void> {
    if (this.row?.holder === holder && this.row.epoch === epoch) this.row.expiresAt = this.clock.now();
    return Promise.resolve();
  }
  leaseHolder(): Promise<LeaseHolder | null> {
    const r = this.row;
    return Promise.resolve(
      r === null ? null : { holder: r.holder, epoch: r.epoch, expiresInMs: r.expiresAt - this.clock.now() },
    );
  }
  setFence(_fence: Fence | null): void {}
}

function keeper(clock: FakeClock, store: LeaseRow, name: string, events: string[]): LeaseKeeper {
  return new LeaseKeeper({
    store,
    name: 'test',
    holder: name,
    leaseMs: LEASE,
    clock,
    log,
    onGained: (epoch) => {
      events.push(`${name} gained ${epoch}`);
      return Promise.resolve();
    },
    onLost: (why) => {
      events.push(`${name} lost: ${why}`);
      return Promise.resolve();
    },
  });
}

async function settle(clock: FakeClock, ms = 0): Promise<void> {
  await clock.advance(ms);
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('LeaseKeeper', () => {
  it('one of two replicas leads; it renews, and the other stays standby as long as it does', async () => {
    const clock = new FakeClock(1_000_000);
    const db = new LeaseRow(clock);
    const events: string[] = [];
    const a = keeper(clock, db, 'a', events);
    const b = keeper(clock, db, 'b', events);
    a.start();
    await settle(clock);
    b.start();
    await settle(clock);
    expect(events).toEqual(['a gained 1']);
    for (let i = 0; i < 30; i++) await settle(clock, 1_000);
    expect(events).toEqual(['a gained 1']);
    expect(a.leading()).toBe(true);
    expect(a.epoch()).toBe(1);
    expect(b.leading()).toBe(false);
    expect(b.epoch()).toBeNull();
    await a.stop();
    await b.stop();
  });

  it('a clean stop releases the lease: the standby leads at its next try, at a new epoch', async () => {
    const clock = new FakeClock(0);
    const db = new LeaseRow(clock);
    const events: string[] = [];
    const a = keeper(clock, db, 'a', events);
    const b = keeper(clock, db, 'b', events);
    a.start();
    await settle(clock);
    b.start();
    await settle(clock);
    await a.stop();
    await settle(clock, 5_000);
    expect(events).toEqual(['a gained 1', 'a lost: stopping', 'b gained 2']);
    await b.stop();
  });

  it('a holder cut off from the database stops leading when its lease lapses on its own clock, before anyone can claim', async () => {
    const clock = new FakeClock(0);
    const db = new LeaseRow(clock);
    const events: string[] = [];
    const a = keeper(clock, db, 'a', events);
    a.start();
    await settle(clock);
    db.down = true;
    let lastLeading = 0;
    for (let t = 0; t < 20_000; t += 250) {
      await settle(clock, 250);
      if (a.leading()) lastLeading = clock.monotonic();
    }
    // Renewed last at 0: it leads strictly before 15 s, and the database frees the row at 15 s.
    expect(lastLeading).toBeLessThan(LEASE);
    expect(events).toEqual(['a gained 1', 'a lost: the lease lapsed before it could be renewed']);
    db.down = false;
    await settle(clock, 5_000);
    expect(events.at(-1)).toBe('a gained 2');
    await a.stop();
  });

  it('stops leading on its own clock while a renewal hangs, before any answer comes', async () => {
    const clock = new FakeClock(0);
    const db = new LeaseRow(clock);
    const events: string[] = [];
    const a = keeper(clock, db, 'a', events);
    a.start();
    await settle(clock);
    let answer!: (renewed: boolean) => void;
    db.renewLease = () => new Promise<boolean>((resolve) => (answer = resolve));
    await settle(clock, 5_000); // the renewal is sent, and hangs
    await settle(clock, 9_999);
    expect(a.leading()).toBe(true);
    await settle(clock, 1);
    // 15 s after the last renewal was sent: no call, no send from here — and the daemon is told
    // to stand down by the deadline's own timer, while the renewal still hangs.
    expect(a.leading()).toBe(false);
    expect(a.epoch()).toBeNull();
    await settle(clock);
    expect(events).toEqual(['a gained 1', 'a lost: the lease lapsed before it could be renewed']);
    answer(false);
    await settle(clock);
    // Refused; the row has lapsed and nobody else wants it, so it claims anew at the next epoch.
    expect(events).toEqual([
      'a gained 1',
      'a lost: the lease lapsed before it could be renewed',
      'a gained 2',
    ]);
    await a.stop();
  });

  it('a replica that fails to start leading lets the lease go, and another leads', async () => {
    const clock = new FakeClock(0);
    const db = new LeaseRow(clock);
    const events: string[] = [];
    const a = new LeaseKeeper({
      store: db,
      name: 'test',
      holder: 'a',
      leaseMs: LEASE,
      clock,
      log,
      onGained: () => Promise.reject(new Error('the database went away while loading')),
      onLost: (why) => {
        events.push(`a lost: ${why}`);
        return Promise.resolve();
      },
    });
    const b = keeper(clock, db, 'b', events);
    a.start();
    await settle(clock);
    expect(events).toEqual(['a lost: could not start leading']);
    expect(a.leading()).toBe(false);
    expect(db.row!.expiresAt).toBeLessThanOrEqual(clock.now());
    b.start();
    await settle(clock);
    expect(events).toEqual(['a lost: could not start leading', 'b gained 2']);
    await a.stop();
    await b.stop();
  });

  it('renews while the daemon is still starting to lead: a slow start does not lose the lease', async () => {
    const clock = new FakeClock(0);
    const db = new LeaseRow(clock);
    let started!: () => void;
    const a = new LeaseKeeper({
      store: db,
      name: 'test',
      holder: 'a',
      leaseMs: LEASE,
      clock,
      log,
      onGained: () => new Promise<void>((resolve) => (started = resolve)),
      onLost: () => Promise.resolve(),
    });
    a.start();
    for (let i = 0; i < 40; i++) await settle(clock, 1_000);
    expect(a.leading()).toBe(true);
    expect(db.row).toMatchObject({ holder: 'a', epoch: 1 });
    expect(db.row!.expiresAt).toBeGreaterThan(clock.now());
    started();
    await a.stop();
  });

  it('a renewal refused (the row was taken) stands by at once', async () => {
    const clock = new FakeClock(0);
    const db = new LeaseRow(clock);
    const events: string[] = [];
    const a = keeper(clock, db, 'a', events);
    a.start();
    await settle(clock);
    db.row = { holder: 'x', epoch: 9, expiresAt: clock.now() + LEASE };
    await settle(clock, 5_000);
    expect(events).toEqual(['a gained 1', 'a lost: another replica holds the lease']);
    expect(a.leading()).toBe(false);
    await a.stop();
  });
});
