// Secrets: `key` inline or `key_file` (systemd credentials, SPEC §4), exactly one of them, read
// and checked so that no message ever echoes the value. Errors name the key path.

import { isAbsolute, resolve as resolvePath } from 'node:path';
import { formatPath, type IssueList, type Path } from './errors.js';
import { secretProblem } from './fields.js';
import type { Tree } from './raw-tree.js';

export interface SecretSource {
  readonly readFile: (path: string) => string;
  /** Relative `*_file` paths are taken from here (the config file's folder). */
  readonly baseDir: string;
}

/** Resolved secrets by the path of their inline key (`accounts[0].token`). */
export type Secrets = ReadonlyMap<string, string>;

export class SecretReader {
  readonly #issues: IssueList;
  readonly #source: SecretSource;
  readonly #secrets = new Map<string, string>();

  constructor(issues: IssueList, source: SecretSource) {
    this.#issues = issues;
    this.#source = source;
  }

  /** Everything read so far. */
  get secrets(): Secrets {
    return this.#secrets;
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
    let value: string;
    let where: Path;
    let suffix = '';
    if (inline !== undefined) {
      if (typeof inline !== 'string') return undefined;
      value = inline;
      where = [...path, key];
    } else {
      if (typeof file !== 'string' || file === '') return undefined;
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

export function describeFsError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return typeof code === 'string' ? code : 'unreadable';
  }
}
