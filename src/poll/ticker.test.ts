import { describe, expect, it } from 'vitest';

import type { Tick } from './ticker.js';
import { Ticker } from './ticker.js';

describe('Ticker', () => {
  it('calls back on a real node-cron match with the next match, and stops', async () => {
    let ticker: Ticker | undefined;
    const first = new Promise<Tick>((resolve) => {
      ticker = new Ticker('* * * * * *', resolve);
    });
    ticker!.start();
    expect(ticker!.running).toBe(true);
    const tick = await first;
    await ticker!.stop();
    expect(ticker!.running).toBe(false);
    expect(tick.at % 1_000).toBe(0);
    // the next second, unless this one fired late under load
    expect(tick.nextAt).toBeGreaterThan(tick.at);
    expect(tick.nextAt! % 1_000).toBe(0);
  });

  it('rejects an invalid expression', () => {
    expect(() => new Ticker('every ten seconds', () => undefined)).toThrow(/invalid cron expression/);
  });
});
