import { describe, expect, it } from 'vitest';
import { startSimulator } from './server.js';
import { simulatorsClosedAfterEach } from './test-support/sim-client.js';

const sim = simulatorsClosedAfterEach();

describe('options', () => {
  it.each([
    [{ first: '+49' }, 'digits only'],
    [{ devices: -1 }, 'devices must be'],
    [{ rateLimitPerMinute: 1.5 }, 'rate limit must be'],
  ])('rejects %j', async (options, message) => {
    await expect(startSimulator(options)).rejects.toThrow(message);
  });

  it('rejects a port in use', async () => {
    const s = await sim();
    await expect(startSimulator({ port: s.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
