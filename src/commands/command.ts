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

/** `--config PATH`, else `$WHATSGATE_MONITOR_CONFIG`, else the default path (SPEC §4). */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? env['WHATSGATE_MONITOR_CONFIG'] ?? DEFAULT_CONFIG_PATH;
}
