// One wording, in every command, for a config that could not be used: a missing file is not an
// "invalid configuration" — it says where it looked and how to point elsewhere.

import { ConfigError, formatIssue } from '../fields/errors.js';
import { ConfigFileError } from '../config/load.js';
import { configPathOrigin } from './command.js';

/**
 * The lines for stderr when loading the config failed with `err`; null when `err` is not a
 * config problem (a bug, to be rethrown).
 */
export function configFailure(
  path: string,
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  err: unknown,
): string | null {
  if (err instanceof ConfigFileError) {
    if (err.missing) return `no config file at ${path} (${configPathOrigin(flag, env)})`;
    return formatIssue(err.issues[0] ?? { path, message: err.message });
  }
  if (err instanceof ConfigError) return `${path}: invalid configuration\n${err.message}`;
  return null;
}
