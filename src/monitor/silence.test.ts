import { describe, expect, it } from 'vitest';
import { silenceMatches, type Silence } from './silence.js';

describe('silenceMatches', () => {
  const s = (account: string | null, device: string | null): Silence => ({
    id: 1,
    account,
    device,
    until: 1,
    reason: null,
    createdAt: 0,
  });
  it.each<[string | null, string | null, string, string, boolean]>([
    [null, null, 'main', '1', true],
    ['main', null, 'main', '1', true],
    ['main', null, 'other', '1', false],
    [null, '1', 'other', '1', true],
    [null, '1', 'main', '2', false],
    ['main', '1', 'main', '1', true],
    ['main', '1', 'other', '1', false],
  ])('silence %s/%s covers %s/%s: %s', (account, device, a, d, expected) => {
    expect(silenceMatches(s(account, device), a, d)).toBe(expected);
  });
});
