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

describe('BasicAuthVerifier', () => {
  it('accepts an htpasswd $2y$ hash with the right user and password only', async () => {
    const v = new BasicAuthVerifier({ user: 'ops', passwordHash: HTPASSWD_HASH }, { cacheMs: 0 });
    expect(await v.verify(basic('ops', 'password'))).toBe(true);
    expect(await v.verify(basic('ops', 'Password'))).toBe(false);
    expect(await v.verify(basic('admin', 'password'))).toBe(false);
    expect(await v.verify(undefined)).toBe(false);
    expect(await v.verify('Basic !!!')).toBe(false);
  });

  it.each(['$2a$', '$2b$'])('accepts %s hashes too', async (prefix) => {
    const hash = bcrypt.hashSync('s3cret', 4).replace(/^\$2[aby]\$/, prefix);
    const v = new BasicAuthVerifier({ user: 'ops', passwordHash: hash }, { cacheMs: 0 });
    expect(await v.verify(basic('ops', 's3cret'))).toBe(true);
  });

  it('treats a malformed hash as a failed check, not a crash', async () => {
    const v = new BasicAuthVerifier({ user: 'ops', passwordHash: 'not-a-hash' });
    expect(await v.verify(basic('ops', 'x'))).toBe(false);
  });

  it('remembers a success briefly, never a failure; shares checks in flight', async () => {
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
    const [a, b] = await Promise.all([v.verify(basic('ops', 'right')), v.verify(basic('ops', 'right'))]);
    expect([a, b, calls]).toEqual([true, true, 1]);
    expect(await v.verify(basic('ops', 'right'))).toBe(true);
    expect(calls).toBe(1);
    now += 60_000;
    expect(await v.verify(basic('ops', 'right'))).toBe(true);
    expect(calls).toBe(2);
    expect(await v.verify(basic('ops', 'wrong'))).toBe(false);
    expect(await v.verify(basic('ops', 'wrong'))).toBe(false);
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
    expect(await v.verify(basic('root', 'right'))).toBe(false);
    expect(calls).toBe(1);
  });
});
