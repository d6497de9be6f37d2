import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFsError, readBoundedFile } from './secrets.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'wgm-secrets-'));

function failure(path: string, max = 16): string {
  try {
    readBoundedFile(path, max);
  } catch (err) {
    return describeFsError(err);
  }
  return 'read';
}

function hasMkfifo(): boolean {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('readBoundedFile', () => {
  it('reads a regular file up to the cap exactly', () => {
    const file = join(dir(), 'f');
    writeFileSync(file, 'x'.repeat(16));
    expect(readBoundedFile(file, 16)).toBe('x'.repeat(16));
    writeFileSync(file, 'x'.repeat(17));
    expect(failure(file)).toBe('larger than 16 bytes');
  });

  it.each([
    ['/dev/zero', 'not a regular file'],
    ['/dev/urandom', 'not a regular file'],
    ['/nonexistent/token', 'no such file'],
  ])('%s → %s', (path, message) => expect(failure(path)).toBe(message));

  it('a folder', () => expect(failure(dir())).toBe('is a directory'));

  it('a path below a file', () => {
    const file = join(dir(), 'f');
    writeFileSync(file, 'x');
    expect(failure(join(file, 'token'))).toBe('a part of the path is not a directory');
  });

  // Opening a FIFO without O_NONBLOCK waits for a writer: the whole process would hang here.
  it.runIf(hasMkfifo())('a named pipe without a writer, at once', () => {
    const fifo = join(dir(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(failure(fifo)).toBe('not a regular file');
  });
});
