import { resolve } from 'node:path';

// What every subcommand receives and returns. Commands write through `io` so tests can run
// them in-process as well as through the real binary.

export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: NodeJS.ReadableStream;
}

/** Exit codes of SPEC §5. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export type Command = (args: readonly string[], io: CommandIo) => Promise<number>;

/** Bad usage (unknown flag, missing argument): printed with the command's usage, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const DEFAULT_CONFIG_PATH = '/etc/whatsgate-monitor/config.yml';

export const CONFIG_ENV = 'WHATSGATE_MONITOR_CONFIG';

/** `--config PATH`, else `$WHATSGATE_MONITOR_CONFIG`, else the default path (SPEC §4). */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? env[CONFIG_ENV] ?? DEFAULT_CONFIG_PATH;
}

/** Where the path came from, for "no config file at …" (it names what to change). */
export function configPathOrigin(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined) return 'given with --config';
  if (env[CONFIG_ENV] !== undefined) return `given in $${CONFIG_ENV}`;
  return `the default; give one with --config PATH or $${CONFIG_ENV}`;
}

/**
 * `Config.configFile` for a config read from `path`: absolute (a command printed in an alert is
 * run from another folder), absent for the default path (the command finds that one itself).
 */
export function configFileOf(path: string): { configFile?: string } {
  return path === DEFAULT_CONFIG_PATH ? {} : { configFile: resolve(path) };
}
