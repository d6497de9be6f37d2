// Secrets: `key` inline or `key_file` (systemd credentials, SPEC §4), exactly one of them, read
// and checked so that no message ever echoes the value. Errors name the key path.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { formatPath, type IssueList, type Path } from './errors.js';
import { pathProblem, secretProblem } from './fields.js';
import type { Tree } from './raw-tree.js';

/** A token or password is a line; 64 KiB is far more than any real one and bounds the read. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

export interface SecretSource {
  /** Reads one `*_file`; the default is `readSecretFile` (regular files up to 64 KiB only). */
  readonly readFile: (path: string) => string;
  /** Relative `*_file` paths are taken from here (the config file's folder). */
  readonly baseDir: string;
  /**
   * `skip`: check that each secret is set (and not twice), but read no `*_file` and look at no
   * value — for the commands that never use one (`status`, `history`, `audit`, `silence`). Each
   * secret then reads as UNREAD_SECRET. Default `read`.
   */
  readonly secrets?: 'read' | 'skip';
}

/**
 * What a skipped secret holds: never a usable credential. A config loaded with `secrets: 'skip'`
 * must not reach the gateway client or a notifier.
 */
export const UNREAD_SECRET = '';

/** Resolved secrets by the path of their inline key (`accounts[0].token`). */
export type Secrets = ReadonlyMap<string, string>;

export class SecretReader {
  readonly #issues: IssueList;
  readonly #source: SecretSource;
  readonly #secrets = new Map<string, string>();
  readonly #unread: Path[] = [];

  constructor(issues: IssueList, source: SecretSource) {
    this.#issues = issues;
    this.#source = source;
  }

  /** Everything read so far. */
  get secrets(): Secrets {
    return this.#secrets;
  }

  /** The keys (`accounts[0].token` or `…token_file`) whose value `skip` left unread. */
  get unread(): readonly Path[] {
    return this.#unread;
  }

  /**
   * `owner[key]` or the file named by `owner[key_file]`; undefined when absent or unusable (the
   * problem is recorded at its key path).
   */
  read(owner: Tree, path: Path, key: string, required: boolean): string | undefined {
    const fileKey = `${key}_file`;
    const inline = owner[key];
    const file = owner[fileKey];
    if (inline !== undefined && file !== undefined) {
      this.#issues.add([...path, fileKey], `set either ${key} or ${fileKey}, not both`);
      return undefined;
    }
    if (inline === undefined && file === undefined) {
      if (required) this.#issues.add([...path, key], `required (or ${fileKey})`);
      return undefined;
    }
    if (this.#source.secrets === 'skip') {
      this.#unread.push([...path, inline !== undefined ? key : fileKey]);
      this.#secrets.set(formatPath([...path, key]), UNREAD_SECRET);
      return undefined;
    }
    let value: string;
    let where: Path;
    let suffix = '';
    if (inline !== undefined) {
      if (typeof inline !== 'string') return undefined;
      value = inline;
      where = [...path, key];
    } else {
      // A malformed path has its schema error already; it is never opened.
      if (typeof file !== 'string' || pathProblem(file) !== null) return undefined;
      const filePath = isAbsolute(file) ? file : resolvePath(this.#source.baseDir, file);
      where = [...path, fileKey];
      try {
        value = this.#source.readFile(filePath).replace(/\r?\n$/, '');
      } catch (err) {
        this.#issues.add(where, `cannot read ${filePath}: ${describeFsError(err)}`);
        return undefined;
      }
      suffix = ` (in ${filePath})`;
    }
    const problem = secretProblem(value);
    if (problem !== null) {
      this.#issues.add(where, `${problem}${suffix}`);
      return undefined;
    }
    this.#secrets.set(formatPath([...path, key]), value);
    return value;
  }
}

/** Why a file was not read although the OS would have let us: the code names the reason. */
export class UnreadableFileError extends Error {
  override name = 'UnreadableFileError';
  constructor(
    readonly code: 'ENOTREG' | 'EFBIG',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The text of a regular file of at most `maxBytes`. Anything else is refused before a byte is
 * read: `/dev/zero` or `/dev/urandom` would be read until memory runs out, a FIFO or a terminal
 * would wait forever. O_NONBLOCK keeps even the open of a FIFO from waiting for a writer; it does
 * not affect reads of regular files.
 */
export function readBoundedFile(path: string, maxBytes: number): string {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (!stat.isFile()) throw new UnreadableFileError('ENOTREG', 'not a regular file');
    if (stat.size > maxBytes) throw new UnreadableFileError('EFBIG', `larger than ${formatBytes(maxBytes)}`);
    // Sized by fstat with one byte to spare, so a file that grew since is seen; grown to one byte
    // past the cap only if it did (a 16 MiB buffer for every few-KiB config would be waste).
    let buffer = Buffer.allocUnsafe(stat.size + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length <= maxBytes; length += n) {
      if (length === buffer.length)
        buffer = Buffer.concat([buffer, Buffer.allocUnsafe(maxBytes + 1 - length)]);
      n = readSync(fd, buffer, length, buffer.length - length, null);
    }
    if (length > maxBytes) throw new UnreadableFileError('EFBIG', `larger than ${formatBytes(maxBytes)}`);
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export function readSecretFile(path: string): string {
  return readBoundedFile(path, MAX_SECRET_FILE_BYTES);
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0
    ? `${bytes / (1024 * 1024)} MiB`
    : bytes % 1024 === 0
      ? `${bytes / 1024} KiB`
      : `${bytes} bytes`;
}

export function describeFsError(err: unknown): string {
  if (err instanceof UnreadableFileError) return err.message;
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ELOOP':
      return 'too many symbolic links';
    default:
      return typeof code === 'string' ? code : 'unreadable';
  }
}
