// Runs Debian's / upstream's promtool when present. Tests that need it skip locally with a
// reason, and fail in CI, where a missing promtool means the check silently did not happen.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'vitest';

export const PROMTOOL = process.env['PROMTOOL'] ?? '/usr/bin/promtool';
export const HAVE_PROMTOOL = existsSync(PROMTOOL);
export const PROMTOOL_MISSING_REASON = `promtool not found at ${PROMTOOL} (set PROMTOOL=…; apt install prometheus)`;

/**
 * Call first in a test that needs promtool: skips it with the reason locally, fails it in CI
 * (where a missing promtool would mean the check silently did not happen).
 */
export function needPromtool(ctx: Pick<TestContext, 'skip'>): void {
  if (HAVE_PROMTOOL) return;
  if (process.env['CI']) throw new Error(`${PROMTOOL_MISSING_REASON}; required when CI is set`);
  ctx.skip(PROMTOOL_MISSING_REASON);
}

export interface PromtoolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function promtool(args: readonly string[], input?: string): PromtoolResult {
  const result = spawnSync(PROMTOOL, args, {
    input: input ?? '',
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
