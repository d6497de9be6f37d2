import { describe, expect, it } from 'vitest';
import { fromSqliteError, StoreError } from './errors.js';
import type { StoreErrorReason } from './errors.js';

function sqliteError(code: string, message = 'sqlite says no'): Error {
  return Object.assign(new Error(message), { code });
}

describe('fromSqliteError', () => {
  it.each<[string, StoreErrorReason]>([
    ['SQLITE_BUSY', 'locked'],
    ['SQLITE_BUSY_SNAPSHOT', 'locked'],
    ['SQLITE_LOCKED', 'locked'],
    ['SQLITE_READONLY', 'readonly'],
    ['SQLITE_READONLY_DBMOVED', 'readonly'],
    ['SQLITE_READONLY_DIRECTORY', 'permission'],
    ['SQLITE_NOTADB', 'corrupt'],
    ['SQLITE_CORRUPT', 'corrupt'],
    ['SQLITE_CORRUPT_INDEX', 'corrupt'],
    ['SQLITE_FULL', 'disk_full'],
    ['SQLITE_CANTOPEN', 'permission'],
    ['SQLITE_PERM', 'permission'],
    ['SQLITE_IOERR_SHORT_READ', 'io'],
    ['SQLITE_CONSTRAINT_CHECK', 'invalid'],
    ['SQLITE_ERROR', 'other'],
  ])('%s → %s, one line naming the file', (code, reason) => {
    const cause = sqliteError(code, 'line one\nline two');
    const err = fromSqliteError(cause, 'cannot read history from', '/x/monitor.db');
    expect(err).toBeInstanceOf(StoreError);
    expect(err?.reason).toBe(reason);
    expect(err?.file).toBe('/x/monitor.db');
    expect(err?.cause).toBe(cause);
    expect(err?.message.startsWith('cannot read history from /x/monitor.db: ')).toBe(true);
    expect(err?.message).not.toContain('\n');
  });

  it('leaves errors that are not SQLite’s to the caller', () => {
    expect(fromSqliteError(new TypeError('bug'), 'cannot open', '/x')).toBeNull();
    expect(fromSqliteError('string', 'cannot open', '/x')).toBeNull();
  });

  it('passes a StoreError through', () => {
    const err = new StoreError('cannot open /x: nope', { file: '/x', reason: 'other' });
    expect(fromSqliteError(err, 'cannot save to', '/y')).toBe(err);
  });
});
