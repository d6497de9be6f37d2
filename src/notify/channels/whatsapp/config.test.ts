import { describe, expect, it } from 'vitest';
import { channelProblems, loadChannel } from '../../../config/test-support/channel-config.js';

// baseTree: account "main" with devices 491511111111 and 491512222222.
const load = (channel: Record<string, unknown>) => loadChannel('wa', channel);
const problems = (channel: Record<string, unknown>) => channelProblems('wa', channel);

describe('whatsapp config', () => {
  it('resolves: digits only, duplicates removed, order kept, default timeout', () => {
    expect(
      load({
        type: 'whatsapp',
        account: 'main',
        from: ['+49 151 2222222', 491511111111, '491512222222'],
        to: ['+49 170 1234567', '4917012345678'],
      }).notify.channels['wa'],
    ).toEqual({
      type: 'whatsapp',
      name: 'wa',
      account: 'main',
      from: ['491512222222', '491511111111'],
      to: ['491701234567', '4917012345678'],
      timeoutMs: 10_000,
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'an unknown account',
      { account: 'eu', from: ['491511111111'], to: ['49170'] },
      'notify.channels.wa.account: unknown account "eu" (configured: main)',
    ],
    [
      'a sender that is not a device of the account',
      { account: 'main', from: ['491511111111', '4915199'], to: ['49170'] },
      'notify.channels.wa.from[1]: 4915199 is not a device of account "main"',
    ],
    ['no sender', { account: 'main', from: [], to: ['49170'] }, 'notify.channels.wa.from'],
    ['no recipient', { account: 'main', from: ['491511111111'], to: [] }, 'notify.channels.wa.to'],
    [
      'a recipient that is no number',
      { account: 'main', from: ['491511111111'], to: ['ops team'] },
      'not a phone number',
    ],
    ['no account', { from: ['491511111111'], to: ['49170'] }, 'notify.channels.wa.account'],
  ])('%s is an error at its key', (_name, over, message) => {
    expect(problems({ type: 'whatsapp', ...over })).toContain(message);
  });
});
