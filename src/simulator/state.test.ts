import { describe, expect, it } from 'vitest';
import { FLAP_PERIOD_MS } from './flap-script.js';
import { simulatorsClosedAfterEach, status } from './test-support/sim-client.js';

const sim = simulatorsClosedAfterEach();

describe('flap script', () => {
  // Devices #0…#4 at the moments the script is documented to change them.
  const timeline: Array<[number, string[]]> = [
    [0, ['connected', 'connected', 'connected', 'connected', 'connected']],
    [19_999, ['connected', 'connected', 'connected', 'connected', 'connected']],
    [20_000, ['connected', 'disconnected', 'connected', 'connected', 'connected']],
    [45_000, ['connected', 'disconnected', 'connected', 'not connected', 'connected']],
    [60_000, ['connected', 'connected', 'connected', 'not connected', 'connected']],
    [100_000, ['connected', 'connected', 'disconnected', 'not connected', 'connected']],
    [140_000, ['connected', 'connected', 'connected', 'not connected', 'connected']],
    [150_000, ['connected', 'connected', 'connected', 'not connected', 'not initialized']],
    [170_000, ['connected', 'connected', 'connected', 'not connected', 'connected']],
    [FLAP_PERIOD_MS + 20_000, ['connected', 'disconnected', 'connected', 'not connected', 'connected']],
  ];

  it('changes devices at scripted times, read through the API', async () => {
    let clock = 1_000_000;
    const s = await sim({ flap: true, rateLimitPerMinute: 0, now: () => clock });
    for (const [t, expected] of timeline) {
      clock = 1_000_000 + t;
      const seen: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        seen.push(((await status(s, String(100_000_000 + i))).body as { message: string }).message);
      }
      expect([t, seen]).toEqual([t, expected]);
    }
  });

  it('is the same whether observed often or rarely, and a scan fixes #3 for good', async () => {
    let clock = 0;
    const lines: string[] = [];
    const s = await sim({ flap: true, now: () => clock, log: (l) => lines.push(l) });
    clock = 4 * FLAP_PERIOD_MS + 30_000; // one jump over many cycles
    expect(s.devices().map((d) => d.status)).toEqual([
      'connected',
      'disconnected',
      'connected',
      'not connected',
      'connected',
    ]);
    expect(s.scan('100000003')).toBe(true);
    clock += 10 * FLAP_PERIOD_MS;
    expect(s.devices()[3]?.status).toBe('connected');
    expect(lines).toContain('flap: 100000003 connected → not connected (script t+45s)');
  });

  it('a manual change holds until the next scripted change of that device', async () => {
    let clock = 0;
    const s = await sim({ flap: true, now: () => clock });
    clock = 25_000;
    s.setStatus('100000001', 'connected');
    clock = 59_000;
    expect(s.devices()[1]?.status).toBe('connected');
    s.setStatus('100000001', 'not initialized');
    clock = 60_000;
    expect(s.devices()[1]?.status).toBe('connected');
  });

  it('skips devices that do not exist', async () => {
    let clock = 0;
    const s = await sim({ flap: true, devices: 2, now: () => clock });
    clock = FLAP_PERIOD_MS;
    expect(s.devices().map((d) => d.status)).toEqual(['connected', 'connected']);
    clock += 20_000;
    expect(s.devices().map((d) => d.status)).toEqual(['connected', 'disconnected']);
  });
});
