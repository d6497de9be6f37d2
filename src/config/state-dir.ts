// `check-config` looks at `state_dir` on this machine: `run` creates it (mkdir -p) and opens
// monitor.db there, so a path under a file (ENOTDIR) or in a folder this user cannot write
// (EACCES) would fail only at start-up, as a raw Node error, after check-config said OK.
// Nothing is created here: a check must not change the machine.

import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Problem } from '../fields/fields.js';
import { describeFsError } from '../fields/secrets.js';

const WRITABLE = constants.W_OK | constants.X_OK;

/** Why `run` could not use `dir` as its state folder, or null when it could. */
export function stateDirProblem(dir: string): Problem {
  const target = resolve(dir);
  let stat: Stats;
  try {
    stat = statSync(target);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return creatableProblem(target);
    if (codeOf(err) === 'ENOTDIR') return `${nonDirectoryAbove(target)} is not a directory`;
    return `cannot use ${target}: ${describeFsError(err)}`;
  }
  if (!stat.isDirectory()) return `${target} is not a directory`;
  return writable(target) ? null : `${target} is not writable by this user (permission denied)`;
}

/** A missing folder is fine when its nearest existing ancestor is a folder this user may write. */
function creatableProblem(target: string): Problem {
  let parent = dirname(target);
  for (;;) {
    try {
      if (!statSync(parent).isDirectory()) return `cannot be created: ${parent} is not a directory`;
      break;
    } catch (err) {
      if (codeOf(err) !== 'ENOENT' || dirname(parent) === parent) {
        return `cannot be created: ${parent}: ${describeFsError(err)}`;
      }
      parent = dirname(parent);
    }
  }
  return writable(parent)
    ? null
    : `${target} does not exist and cannot be created: ${parent} is not writable by this user (permission denied)`;
}

/** The first ancestor of `target` that exists; after ENOTDIR it is a file (or similar). */
function nonDirectoryAbove(target: string): string {
  let path = dirname(target);
  while (dirname(path) !== path) {
    try {
      statSync(path);
      return path;
    } catch {
      path = dirname(path);
    }
  }
  return path;
}

function writable(path: string): boolean {
  try {
    accessSync(path, WRITABLE);
    return true;
  } catch {
    return false;
  }
}

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}
