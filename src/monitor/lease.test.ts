import { describe, expect, it } from 'vitest';
import {
  afterAttempt,
  epochAt,
  leads,
  leaseName,
  nextAttemptAt,
  nextAttemptKind,
  STANDBY,
  worstFailoverMs,
  type LeaseAnswer,
  type Leadership,
} from './lease.js';

const LEASE = 15_000;
const granted = (epoch: number): LeaseAnswer => ({ kind: 'granted', epoch });
const refused: LeaseAnswer = { kind: 'refused' };
const failed: LeaseAnswer = { kind: 'failed' };

describe('the lease, as one replica sees it', () => {
  it('leads from a granted claim until a lease after the request was SENT, not answered', () => {
    const state = afterAttempt(STANDBY, granted(4), 1_000, LEASE);
    expect(state).toEqual({ kind: 'leader', epoch: 4, validUntil: 16_000, renewedAt: 1_000 });
    expect(leads(state, 15_999)).toBe(true);
    expect(leads(state, 16_000)).toBe(false);
    expect(epochAt(state, 2_000)).toBe(4);
    expect(epochAt(state, 16_000)).toBeNull();
  });

  it('renews a third of a lease after the last renewal, and extends from the renewal sent', () => {
    let state = afterAttempt(STANDBY, granted(1), 0, LEASE);
    expect(nextAttemptAt(state, granted(1), 0, LEASE)).toBe(5_000);
    expect(nextAttemptKind(state, 5_000)).toBe('renew');
    state = afterAttempt(state, granted(1), 5_000, LEASE);
    expect(state).toMatchObject({ epoch: 1, validUntil: 20_000, renewedAt: 5_000 });
  });

  it('keeps the lease through failed renewals until it lapses on its own clock, retrying sooner', () => {
    let state = afterAttempt(STANDBY, granted(1), 0, LEASE);
    for (const at of [5_000, 6_500, 8_000, 9_500, 11_000, 12_500, 14_000]) {
      state = afterAttempt(state, failed, at, LEASE);
      expect(leads(state, at)).toBe(true);
      expect(nextAttemptAt(state, failed, at, LEASE)).toBe(Math.min(at + 1_500, 15_000));
    }
    expect(leads(state, 15_000)).toBe(false);
    expect(nextAttemptKind(state, 15_000)).toBe('claim');
    // Lapsed, and the database still does not answer: standby, retrying at the failure pace.
    state = afterAttempt(state, failed, 15_000, LEASE);
    expect(state).toBe(STANDBY);
    expect(nextAttemptAt(state, failed, 15_000, LEASE)).toBe(16_500);
  });

  it('stands by at once when a renewal is refused (another replica took the lease)', () => {
    const state = afterAttempt(afterAttempt(STANDBY, granted(1), 0, LEASE), refused, 5_000, LEASE);
    expect(state).toBe(STANDBY);
    expect(leads(state, 5_000)).toBe(false);
    expect(nextAttemptAt(state, refused, 5_000, LEASE)).toBe(10_000);
  });

  it('a standby tries to claim every third of a lease, sooner after a failure', () => {
    expect(nextAttemptAt(STANDBY, refused, 0, LEASE)).toBe(5_000);
    expect(nextAttemptAt(STANDBY, failed, 0, LEASE)).toBe(1_500);
    expect(nextAttemptKind(STANDBY, 0)).toBe('claim');
  });

  it('a holder paused past its lease wakes up not leading, whatever it believed', () => {
    const state = afterAttempt(STANDBY, granted(7), 0, LEASE);
    // SIGSTOP at 1 s, SIGCONT at 60 s: the first thing asked is whether it leads.
    expect(leads(state, 60_000)).toBe(false);
    expect(epochAt(state, 60_000)).toBeNull();
  });

  it('never leads while another replica may: a holder stops by the time the database lets others claim', () => {
    // For any request sent at s and run by the database at d >= s, the database's expiry is
    // d + lease (same rate of time) and the holder stops at s + lease.
    for (const [sent, delay] of [
      [0, 0],
      [0, 4_000],
      [10_000, 250],
    ] as const) {
      const state: Leadership = afterAttempt(STANDBY, granted(1), sent, LEASE);
      const dbExpiry = sent + delay + LEASE;
      expect(leads(state, dbExpiry)).toBe(false);
    }
  });

  it('bounds a failover: a lease plus a standby’s third', () => {
    expect(worstFailoverMs(LEASE)).toBe(20_000);
  });

  it('names one lease group per shard', () => {
    expect(leaseName(null)).toBe('whatsgate-monitor');
    expect(leaseName({ index: 2, count: 3 })).toBe('whatsgate-monitor shard 2/3');
  });
});
