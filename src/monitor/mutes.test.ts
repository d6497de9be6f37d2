import { describe, expect, it } from 'vitest';
import { Mutes, windowEndFor, type OpenWindow } from './mutes.js';
import type { Silence } from './silence.js';

const silence = (account: string | null, device: string | null, until: number): Silence => ({
  id: 1,
  account,
  device,
  until,
  reason: null,
  createdAt: 0,
});

describe('Mutes', () => {
  it('takes the latest end among the silences and the open windows covering the device', () => {
    const mutes = new Mutes();
    const windows: OpenWindow[] = [
      { devices: new Set(['1']), until: 5_000 },
      { devices: 'all', until: 3_000 },
    ];
    mutes.refresh([silence('main', '1', 4_000), silence(null, '2', 9_000)], windows, 1_000);
    expect(mutes.mutedUntil('main', '1')).toBe(5_000);
    expect(mutes.mutedUntil('main', '2')).toBe(9_000);
    expect(mutes.mutedUntil('other', '3')).toBe(3_000);
    expect(mutes.isMuted('other', '3')).toBe(true);
  });

  it('mutes account events only by a silence of every device of the account', () => {
    const mutes = new Mutes();
    mutes.refresh([silence('main', '1', 9_000)], [{ devices: 'all', until: 9_000 }], 0);
    expect(mutes.isAccountMuted('main')).toBe(false);
    mutes.refresh([silence('main', null, 9_000)], [], 0);
    expect(mutes.isAccountMuted('main')).toBe(true);
    expect(mutes.isAccountMuted('other')).toBe(false);
    mutes.refresh([silence('main', null, 9_000)], [], 9_000);
    expect(mutes.isAccountMuted('main')).toBe(false);
  });

  it('a reload replaces the windows until the next refresh', () => {
    const mutes = new Mutes();
    mutes.refresh([], [{ devices: 'all', until: 9_000 }], 0);
    mutes.setWindows([]);
    expect(mutes.mutedUntil('main', '1')).toBeNull();
  });

  it('ignores windows already closed', () => {
    expect(windowEndFor([{ devices: 'all', until: 1_000 }], '1', 1_000)).toBeNull();
  });
});
