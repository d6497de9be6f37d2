import { describe, expect, it } from 'vitest';
import { StoreError, type StoreErrorReason } from './errors.js';
import { databaseLabel, fromPgError, urlCredentials } from './postgres-errors.js';

const WHERE = 'db.example.com:5432/wgm';

function pgError(code: string, message = 'the server says no'): Error {
  return Object.assign(new Error(message), { code });
}

describe('fromPgError', () => {
  it.each<[string, StoreErrorReason]>([
    ['28P01', 'permission'],
    ['28000', 'permission'],
    ['42501', 'permission'],
    ['3D000', 'other'],
    ['25006', 'readonly'],
    ['53100', 'disk_full'],
    ['53300', 'io'],
    ['40001', 'locked'],
    ['40P01', 'locked'],
    ['55P03', 'locked'],
    ['08006', 'io'],
    ['57P01', 'io'],
    ['57014', 'locked'],
    ['25P03', 'io'],
    ['58030', 'io'],
    ['23505', 'invalid'],
    ['22021', 'invalid'],
    ['XX001', 'corrupt'],
    ['42P01', 'other'],
    ['ECONNREFUSED', 'io'],
    ['ENOTFOUND', 'io'],
    ['ETIMEDOUT', 'io'],
    ['ECONNRESET', 'io'],
  ])('%s → %s, one line naming the database', (code, reason) => {
    const cause = pgError(code, 'line one\nline two');
    const err = fromPgError(cause, 'cannot read history from', WHERE);
    expect(err).toBeInstanceOf(StoreError);
    expect(err?.reason).toBe(reason);
    expect(err?.file).toBe(WHERE);
    // A copy of pg's error, for debug logs: its code and message.
    expect(err?.cause).toMatchObject({ code, message: expect.stringMatching(/^line one\nline two/) });
    expect(err?.message.startsWith(`cannot read history from ${WHERE}: `)).toBe(true);
    expect(err?.message).not.toContain('\n');
  });

  it('pg’s own connection failures, without a code', () => {
    for (const message of [
      'timeout exceeded when trying to connect',
      'Connection terminated unexpectedly',
      'Client has encountered a connection error and is not queryable',
      'Query read timeout',
    ]) {
      expect(fromPgError(new Error(message), 'cannot open', WHERE)?.reason).toBe('io');
    }
  });

  it('cuts the secrets out, should a server ever echo one', () => {
    const err = fromPgError(pgError('XX000', 'bad password s3cr3t-pw here'), 'cannot open', WHERE, [
      's3cr3t-pw',
    ]);
    expect(err?.message).not.toContain('s3cr3t-pw');
    expect(err?.message).toContain('[redacted]');
  });

  it('keeps no secret in its cause either: a copy of pg’s error with its code, message and stack redacted', () => {
    const raw = Object.assign(new Error('bad password s3cr3t-pw here'), {
      code: 'XX000',
      detail: 'echoed s3cr3t-pw',
    });
    const cause = fromPgError(raw, 'cannot open', WHERE, ['s3cr3t-pw'])?.cause as Error & { code?: string };
    expect(cause).not.toBe(raw);
    expect(cause.code).toBe('XX000');
    expect(cause.message).toBe('bad password [redacted] here (SQLSTATE XX000)');
    expect(cause.stack).toContain('bad password [redacted] here');
    expect(JSON.stringify({ ...cause, stack: cause.stack, message: cause.message })).not.toContain(
      's3cr3t-pw',
    );
  });

  it('leaves errors that are not the database’s to the caller; passes a StoreError through', () => {
    expect(fromPgError(new TypeError('bug'), 'cannot open', WHERE)).toBeNull();
    expect(fromPgError('text', 'cannot open', WHERE)).toBeNull();
    const err = new StoreError('x', { file: WHERE, reason: 'deposed' });
    expect(fromPgError(err, 'cannot open', WHERE)).toBe(err);
  });
});

describe('urlCredentials and databaseLabel', () => {
  it('the password as written and decoded, and credential parameters; the label shows none', () => {
    const url =
      'postgres://monitor:p%40ss-word@db:5432/wgm?sslmode=require&sslpassword=key-pass&application_name=x';
    expect(urlCredentials(new URL(url)).sort()).toEqual(['key-pass', 'p%40ss-word', 'p@ss-word']);
    expect(urlCredentials(new URL('postgres://monitor@db/wgm'))).toEqual([]);
    expect(databaseLabel(url)).toBe('db:5432/wgm');
  });
});
