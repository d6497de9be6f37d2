import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// libfaketime (Debian's `faketime`) for end-to-end clock steps: preloaded into the daemon, it
// fakes the wall clock (CLOCK_REALTIME: Date.now(), new Date()) by an offset read from a file at
// every call, so a test steps the daemon's clock while it runs by rewriting that file. The
// monotonic clock (performance.now(), Node's timers) stays real.

const LIB = 'libfaketime.so.1';

/** The preload library's path, or undefined when libfaketime is not installed. */
export function findLibfaketime(): string | undefined {
  const dirs = ['/usr/lib/faketime', '/usr/local/lib/faketime', '/usr/local/lib'];
  try {
    // Debian installs it per architecture: /usr/lib/x86_64-linux-gnu/faketime/.
    for (const entry of readdirSync('/usr/lib')) {
      if (entry.endsWith('-linux-gnu')) dirs.unshift(join('/usr/lib', entry, 'faketime'));
    }
  } catch {
    // no /usr/lib: not found below either
  }
  return dirs.map((d) => join(d, LIB)).find((path) => existsSync(path));
}

/**
 * The environment that runs a process under libfaketime with the offset in `timestampFile`
 * ("+0", "-1h", "-3600"…; rewrite it to step the clock). Names as libfaketime 0.9.10 reads them:
 * FAKETIME_NO_CACHE re-reads the file at every clock read (else a change shows after up to 10 s),
 * FAKETIME_DONT_FAKE_MONOTONIC keeps CLOCK_MONOTONIC real (the offset applies to it too otherwise).
 */
export function faketimeEnv(library: string, timestampFile: string): Record<string, string> {
  return {
    LD_PRELOAD: library,
    FAKETIME_TIMESTAMP_FILE: timestampFile,
    FAKETIME_NO_CACHE: '1',
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
}
