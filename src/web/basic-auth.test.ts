import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { BasicAuthVerifier, constantTimeEqual, parseBasicAuth } from './basic-auth.js';

// PHP's password_hash('password', PASSWORD_BCRYPT) — the `$2y$` flavour `htpasswd -nBC 10` writes.
const HTPASSWD_HASH = '$2y$10$92IXUNpkjO0rOQ5byMi.Ye4oKoEa3Ro9llC/.og/at2.uheWG/igi';

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

describe('parseBasicAuth', () => {
  it.each([
    [basic('ops', 'p:a:ss'), { user: 'ops', password: 'p:a:ss' }],
    [`basic ${Buffer.from('ops:').toString('base64')}`, { user: 'ops', password: '' }],
    [basic('öps', 'pässword'), { user: 'öps', password: 'pässword' }],
    [undefined, null],
    ['Bearer abc', null],
    ['Basic', null],
    [`Basic ${Buffer.from('no-colon').toString('base64')}`, null],
  ])('%s', (header, expected) => expect(parseBasicAuth(header)).toEqual(expected));
});

describe('constantTimeEqual', () => {
  it.each([
    ['ops', 'ops', true],
    ['ops', 'opz', false],
    ['ops', 'ops2', false],
    ['', '', true],
  ])('%s vs %s', (a, b, eq) => expect(constantTimeEqual(a, b)).toBe(eq));
});

const ok = async (v: BasicAuthVerifier, header: string | undefined, client = 'c'): Promise<boolean> =>
  (await v.check(header, client)).kind === 'ok';

/** A compare whose calls are counted and held until released. */
function heldCompare(right = 'right') {
  const held: (() => void)[] = [];
  const state = {
    calls: 0,
    compare: (password: string) => {
      state.calls++;
      return new Promise<boolean>((done) => held.push(() => done(password === right)));
    },
    releaseAll: () => {
      for (const release of held.splice(0)) release();
    },
    get held() {
      return held.length;
    },
  };
  return state;
}

describe('BasicAuthVerifier', () => {
  it('accepts an htpasswd $2y$ hash with the right user and password only', async () => {
    const v = new BasicAuthVerifier(
      { user: 'ops', passwordHash: HTPASSWD_HASH },
      { cacheMs: 0, failures: { max: 100, windowMs: 60_000 } },
    );
    expect(await ok(v, basic('ops', 'password'))).toBe(true);
    expect(await ok(v, basic('ops', 'Password'))).toBe(false);
    expect(await ok(v, basic('admin', 'password'))).toBe(false);
    expect(await ok(v, undefined)).toBe(false);
    expect(await ok(v, 'Basic !!!')).toBe(false);
  });

  it.each(['$2a$', '$2b$'])('accepts %s hashes too', async (prefix) => {
    const hash = bcrypt.hashSync('s3cret', 4).replace(/^\$2[aby]\$/, prefix);
    const v = new BasicAuthVerifier({ user: 'ops', passwordHash: hash }, { cacheMs: 0 });
    expect(await ok(v, basic('ops', 's3cret'))).toBe(true);
  });

  it('treats a malformed hash as a failed check, not a crash', async () => {
    const v = new BasicAuthVerifier({ user: 'ops', passwordHash: 'not-a-hash' });
    expect(await v.check(basic('ops', 'x'), 'c')).toEqual({ kind: 'denied' });
  });

  it('remembers a success for cacheMs after its last use, never a failure; shares checks in flight', async () => {
    let now = 1_000;
    let calls = 0;
    const v = new BasicAuthVerifier(
      { user: 'ops', passwordHash: 'h' },
      {
        now: () => now,
        cacheMs: 60_000,
        compare: (password) => {
          calls++;
          return Promise.resolve(password === 'right');
        },
      },
    );
    const [a, b] = await Promise.all([ok(v, basic('ops', 'right')), ok(v, basic('ops', 'right'))]);
    expect([a, b, calls]).toEqual([true, true, 1]);
    now += 59_000;
    expect(await ok(v, basic('ops', 'right'))).toBe(true); // used: good for another minute
    now += 59_000;
    expect(await ok(v, basic('ops', 'right'))).toBe(true);
    expect(calls).toBe(1);
    now += 60_000; // idle for the whole cacheMs
    expect(await ok(v, basic('ops', 'right'))).toBe(true);
    expect(calls).toBe(2);
    expect(await ok(v, basic('ops', 'wrong'))).toBe(false);
    expect(await ok(v, basic('ops', 'wrong'))).toBe(false);
    expect(calls).toBe(4);
  });

  it('keeps at most maxCached headers, dropping the least recently used', async () => {
    let calls = 0;
    const v = new BasicAuthVerifier(
      { user: 'ops', passwordHash: 'h' },
      {
        maxCached: 2,
        compare: () => {
          calls++;
          return Promise.resolve(true);
        },
      },
    );
    // Three spellings of the same credentials are three headers (`basic`, `Basic`, `BASIC`).
    const [h1, h2, h3] = ['basic', 'Basic', 'BASIC'].map(
      (scheme) => `${scheme} ${Buffer.from('ops:right').toString('base64')}`,
    );
    for (const h of [h1, h2, h1, h3]) await ok(v, h);
    expect(calls).toBe(3); // h1 twice: cached
    await ok(v, h1); // still cached (used after h2)
    expect(calls).toBe(3);
    await ok(v, h2); // dropped for h3
    expect(calls).toBe(4);
  });

  it('runs bcrypt even for a wrong user (no timing hint about the user)', async () => {
    let calls = 0;
    const v = new BasicAuthVerifier(
      { user: 'ops', passwordHash: 'h' },
      {
        compare: () => {
          calls++;
          return Promise.resolve(true);
        },
      },
    );
    expect(await ok(v, basic('root', 'right'))).toBe(false);
    expect(calls).toBe(1);
  });

  it('runs no bcrypt for a missing or malformed header', async () => {
    const held = heldCompare();
    const v = new BasicAuthVerifier({ user: 'ops', passwordHash: 'h' }, { compare: held.compare });
    for (const header of [undefined, 'Bearer x', 'Basic', 'Basic !!!']) {
      expect(await v.check(header, 'c')).toEqual({ kind: 'denied' });
    }
    expect(held.calls).toBe(0);
  });

  it('gives a client 5 failed checks a minute, counting those in flight, then 429 without bcrypt', async () => {
    let now = 0;
    const held = heldCompare();
    const v = new BasicAuthVerifier(
      { user: 'ops', passwordHash: 'h' },
      { now: () => now, compare: held.compare, gate: { running: 100, waiting: 0 } },
    );
    // 20 different guesses at once from one address: 5 run, 15 are refused before bcrypt.
    const outcomes = Array.from({ length: 20 }, (_, i) => v.check(basic('ops', `guess-${i}`), 'attacker'));
    const refused = await Promise.all(outcomes.slice(5));
    expect(refused.every((o) => o.kind === 'throttled')).toBe(true);
    expect(held.calls).toBe(5);
    held.releaseAll();
    expect((await Promise.all(outcomes.slice(0, 5))).map((o) => o.kind)).toEqual(Array(5).fill('denied'));

    now = 20_000;
    expect(await v.check(basic('ops', 'guess-x'), 'attacker')).toEqual({
      kind: 'throttled',
      retryAfterMs: 40_000,
    });
    // Another address is not held back, and the right password from it still works.
    const fromElsewhere = v.check(basic('ops', 'right'), 'operator');
    held.releaseAll();
    expect(await fromElsewhere).toEqual({ kind: 'ok' });
    expect(held.calls).toBe(6);

    now = 60_001; // the failures have left the window
    const again = v.check(basic('ops', 'guess-y'), 'attacker');
    held.releaseAll();
    expect(await again).toEqual({ kind: 'denied' });
    expect(held.calls).toBe(7);
  });

  it('runs one bcrypt at a time with a short queue; past it 503 at once, cached headers never wait', async () => {
    const held = heldCompare();
    const v = new BasicAuthVerifier(
      { user: 'ops', passwordHash: 'h' },
      { compare: held.compare, gate: { running: 1, waiting: 2 }, failures: { max: 1000, windowMs: 60_000 } },
    );
    const login = v.check(basic('ops', 'right'), 'prometheus');
    held.releaseAll();
    expect(await login).toEqual({ kind: 'ok' });
    expect(held.calls).toBe(1);

    // 10 clients guess at once: 1 runs, 2 wait, 7 are turned away without bcrypt.
    const guesses = Array.from({ length: 10 }, (_, i) => v.check(basic('ops', `guess-${i}`), `10.0.0.${i}`));
    const busy = await Promise.all(guesses.slice(3));
    expect(busy).toEqual(Array(7).fill({ kind: 'busy', retryAfterMs: 1_000 }));
    expect([held.calls, held.held]).toEqual([2, 1]); // one runs, two wait their turn

    // Meanwhile the scraper's cached header is answered without waiting for any of them.
    expect(await v.check(basic('ops', 'right'), 'prometheus')).toEqual({ kind: 'ok' });
    expect(held.calls).toBe(2);

    // The queue drains strictly one at a time.
    for (const expected of [3, 4]) {
      held.releaseAll();
      await new Promise((r) => setImmediate(r));
      expect([held.calls, held.held]).toEqual([expected, 1]);
    }
    held.releaseAll();
    expect((await Promise.all(guesses.slice(0, 3))).map((o) => o.kind)).toEqual([
      'denied',
      'denied',
      'denied',
    ]);
  });
});
