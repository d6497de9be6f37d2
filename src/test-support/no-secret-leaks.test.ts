import { describe, expect, it } from 'vitest';
import { expectNoSecretLeaks, findSecretLeaks, leakForms } from './no-secret-leaks.js';

const SECRETS = { 'notify.channels.ops.password': 'smtp-pass-1', 'accounts[0].token': 'tok/en+42' };

describe('findSecretLeaks', () => {
  it.each([
    ['as written', 'x smtp-pass-1 y'],
    ['URL-encoded', `x ${encodeURIComponent('tok/en+42')} y`],
    ['form-encoded', 'q=tok%2Fen%2B42'],
    ['JSON-escaped', JSON.stringify({ v: 'a"smtp-pass-1' })],
    ['hex', Buffer.from('smtp-pass-1').toString('hex')],
    ['base64', Buffer.from('smtp-pass-1').toString('base64')],
    ['base64url', Buffer.from('tok/en+42').toString('base64url')],
    ['an AUTH PLAIN line', `535 5.7.8 ${Buffer.from('\0mon\0smtp-pass-1').toString('base64')}`],
    ['a Basic header', `Basic ${Buffer.from('alice:smtp-pass-1').toString('base64')}`],
  ])('finds a secret %s', (_form, text) => {
    expect(findSecretLeaks(SECRETS, [{ name: 'the log', content: text }]).length).toBeGreaterThan(0);
  });

  it('finds it in bytes (a database file) and says where', () => {
    const file = Buffer.concat([Buffer.alloc(100, 0), Buffer.from('..smtp-pass-1..'), Buffer.alloc(10)]);
    expect(findSecretLeaks(SECRETS, [{ name: 'monitor.db', content: file }])).toEqual([
      { secret: 'notify.channels.ops.password', source: 'monitor.db', form: 'as written', where: 'byte 102' },
    ]);
  });

  it('stays quiet on text without them, redacted text included', () => {
    const text = 'HTTP 500 from https://hooks.example.com/…: [redacted] smtp-pass-2 dG9r';
    expect(findSecretLeaks(SECRETS, [{ name: 'the log', content: text }])).toEqual([]);
  });

  it('refuses a secret too short to search for', () => {
    expect(() => findSecretLeaks(['abc'], [])).toThrow(/secret #1 is 3 characters/);
  });

  it('every form is distinct and non-empty', () => {
    const forms = leakForms('p@ss w/rd');
    expect(new Set(forms.map((f) => f.text)).size).toBe(forms.length);
    expect(forms.every((f) => f.text.length > 0)).toBe(true);
  });
});

describe('expectNoSecretLeaks', () => {
  it('fails naming the key path, the source and the form, never the secret', () => {
    let message = '';
    try {
      expectNoSecretLeaks(SECRETS, [
        { name: 'GET /metrics', content: 'fine' },
        { name: 'outbox.last_error', content: `AUTH ${Buffer.from('\0u\0smtp-pass-1').toString('base64')}` },
      ]);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/notify\.channels\.ops\.password leaked into outbox\.last_error base64/);
    expect(message).not.toContain('GET /metrics');
    for (const { text } of leakForms('smtp-pass-1')) expect(message).not.toContain(text);
  });

  it('passes when nothing leaks', () => {
    expect(() => expectNoSecretLeaks(SECRETS, [{ name: 'page', content: '<html>ok</html>' }])).not.toThrow();
  });
});
