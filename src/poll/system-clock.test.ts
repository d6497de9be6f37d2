import { describe, expect, it } from 'vitest';

import { systemClock } from './system-clock.js';

describe('systemClock', () => {
  it('sleeps and aborts', async () => {
    const before = systemClock.now();
    await systemClock.sleep(5);
    expect(systemClock.now()).toBeGreaterThanOrEqual(before + 4);
    const controller = new AbortController();
    const forever = systemClock.sleep(Number.POSITIVE_INFINITY, controller.signal);
    controller.abort(new Error('bye'));
    await expect(forever).rejects.toThrow('bye');
  });
});
