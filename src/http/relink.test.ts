import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RELINK_LIMITS,
  QrBroker,
  reconnectResultFrom,
  STANDBY_RETRY_MS,
  type ReconnectQrResult,
} from './relink.js';

function broker(results: ReconnectQrResult[], over: Partial<typeof DEFAULT_RELINK_LIMITS> = {}) {
  let now = 1_000_000;
  const calls: string[] = [];
  const b = new QrBroker(
    (device) => {
      calls.push(device);
      return Promise.resolve(
        results.shift() ?? { status: 'qr', dataUrl: `data:image/png;base64,${calls.length}` },
      );
    },
    { ...DEFAULT_RELINK_LIMITS, ...over },
    () => now,
  );
  return { b, calls, advance: (ms: number) => (now += ms), now: () => now };
}

describe('QrBroker', () => {
  it('hands a fresh code to further viewers for qrCacheMs, with the time left to its refresh', async () => {
    const { b, calls, advance, now } = broker([]);
    const first = await b.qr('100');
    expect(first).toEqual({
      status: 'qr',
      dataUrl: 'data:image/png;base64,1',
      fetched_at: now(),
      refresh_in_ms: 45_000,
    });
    advance(15_000);
    expect(await b.qr('100')).toMatchObject({ dataUrl: 'data:image/png;base64,1', refresh_in_ms: 30_000 });
    advance(5_000);
    expect(await b.qr('100')).toMatchObject({ dataUrl: 'data:image/png;base64,2', refresh_in_ms: 45_000 });
    expect(calls).toEqual(['100', '100']);
  });

  it('shares a call in flight', async () => {
    const { b, calls } = broker([]);
    const [x, y] = await Promise.all([b.qr('100'), b.qr('100')]);
    expect(x).toEqual(y);
    expect(calls).toHaveLength(1);
  });

  it('caps gateway calls per minute across devices', async () => {
    const { b, calls, advance } = broker([], { maxQrFetchesPerMinute: 2 });
    await b.qr('1');
    await b.qr('2');
    const third = await b.qr('3');
    expect(third).toMatchObject({
      status: 'error',
      message: 'too many QR codes asked for in the last minute',
    });
    expect(third.status === 'error' && third.retry_in_ms).toBe(60_000);
    advance(60_001);
    expect(await b.qr('3')).toMatchObject({ status: 'qr' });
    expect(calls).toEqual(['1', '2', '3']);
  });

  it('passes on connected / not found / errors, and caches only codes', async () => {
    const { b, calls } = broker([
      { status: 'connected' },
      { status: 'not_found', message: 'device not found!' },
      { status: 'error', message: 'rate_limited: retry after 20 s' },
    ]);
    expect(await b.qr('1')).toEqual({ status: 'connected' });
    expect(await b.qr('1')).toEqual({ status: 'not_found', message: 'device not found!' });
    expect(await b.qr('1')).toEqual({
      status: 'error',
      message: 'rate_limited: retry after 20 s',
      retry_in_ms: 10_000,
    });
    expect(calls).toHaveLength(3);
  });

  it('passes a standby on, with a retry delay, spending no gateway slot and caching nothing', async () => {
    const standby = { status: 'standby', message: 'this replica is a standby' } as const;
    const { b, calls } = broker([standby, standby, standby], { maxQrFetchesPerMinute: 2 });
    for (let i = 0; i < 3; i++) {
      expect(await b.qr('1')).toEqual({
        status: 'standby',
        message: 'this replica is a standby',
        retry_in_ms: STANDBY_RETRY_MS,
      });
    }
    // Promoted: the cap still has its two fetches this minute.
    expect(await b.qr('1')).toMatchObject({ status: 'qr' });
    expect(await b.qr('2')).toMatchObject({ status: 'qr' });
    expect(await b.qr('3')).toMatchObject({ status: 'error' });
    expect(calls).toEqual(['1', '1', '1', '1', '2']);
  });

  it('turns a rejecting handler into an error answer', async () => {
    const b = new QrBroker(
      () => Promise.reject(new Error('scheduler of account main is stopped')),
      DEFAULT_RELINK_LIMITS,
      () => 0,
    );
    expect(await b.qr('1')).toMatchObject({
      status: 'error',
      message: 'scheduler of account main is stopped',
    });
  });

  it('lets watchers ask for a prompt check at most every checkSoonEveryMs per device', () => {
    const { b, advance } = broker([]);
    expect(b.shouldCheckSoon('1')).toBe(true);
    expect(b.shouldCheckSoon('1')).toBe(false);
    expect(b.shouldCheckSoon('2')).toBe(true);
    advance(15_000);
    expect(b.shouldCheckSoon('1')).toBe(true);
  });
});

describe('reconnectResultFrom', () => {
  it.each([
    [
      { kind: 'qr', dataUrl: 'data:image/png;base64,AA', png: Buffer.alloc(0) } as const,
      { status: 'qr', dataUrl: 'data:image/png;base64,AA' },
    ],
    [{ kind: 'already_connected', message: 'device is already connected' } as const, { status: 'connected' }],
    [
      { kind: 'not_found', message: 'device not found!' } as const,
      { status: 'not_found', message: 'device not found!' },
    ],
    [
      { kind: 'probe_error', reason: 'rate_limited', message: 'HTTP 429: retry after 20 s' } as const,
      { status: 'error', message: 'rate_limited: HTTP 429: retry after 20 s' },
    ],
  ])('maps %o', (input, output) => expect(reconnectResultFrom(input)).toEqual(output));
});
