import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplicateKeyProblems } from '../../src/test-support/log-keys.js';
import { CLI_PATH } from './cli.js';

export type LogLine = Record<string, unknown> & { msg?: string };

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * The real daemon process, with its JSON log lines collected as they arrive.
 *
 * Every line it wrote is checked for repeated JSON keys when it stops: `exited` rejects naming
 * the lines (log shippers such as Elasticsearch refuse them), so every test that awaits the stop
 * — or cleans up with `await p.exited` — fails on one.
 */
export class DaemonProcess {
  readonly lines: LogLine[] = [];
  /** The lines as written, for checks JSON.parse would hide (a repeated key). */
  readonly text: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<Exit>;
  /** Like `exited` without the log check: for waiters that only need to know it stopped. */
  readonly #stopped: Promise<Exit>;
  #waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (text.trim() === '') continue;
        this.text.push(text);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { msg: text, unparsed: true };
        }
        this.lines.push(line);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.test(line)) return true;
          w.resolve(line);
          return false;
        });
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => this.stderr.push(d));
    this.#stopped = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // 'close' comes after stdout ended, so the last lines are in `text` by then.
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    this.exited = this.#stopped.then(async (exit) => {
      await closed;
      const problems = duplicateKeyProblems(this.text);
      if (problems.length > 0) {
        throw new Error(`the daemon wrote log lines with a repeated key:\n${problems.join('\n')}`);
      }
      return exit;
    });
    // A test that never awaits `exited` (it kills the process in a cleanup it does not await)
    // must not turn a finding into an unhandled rejection of the whole run.
    this.exited.catch(() => undefined);
  }

  static start(
    configPath: string,
    env: Record<string, string> = {},
    args: readonly string[] = [],
  ): DaemonProcess {
    const child = spawn(process.execPath, [CLI_PATH, 'run', '--config', configPath, ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new DaemonProcess(child);
  }

  /** Resolves with the first log line (already seen or still to come) that passes `test`. */
  waitFor(test: (l: LogLine) => boolean, what: string, timeoutMs = 20_000, from = 0): Promise<LogLine> {
    const seen = this.lines.slice(from).find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `timed out waiting for ${what}; stderr: ${this.stderr.join('')}\nlast lines:\n` +
              this.lines
                .slice(-15)
                .map((l) => JSON.stringify(l))
                .join('\n'),
          ),
        );
      }, timeoutMs);
      this.#waiters.push({
        test,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void this.#stopped.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(
          new Error(`daemon exited (${code ?? signal}) while waiting for ${what}: ${this.stderr.join('')}`),
        );
      });
    });
  }

  /** The daemon's HTTP base URL, from its start-up line. */
  async url(): Promise<string> {
    const started = await this.waitFor((l) => l.msg === 'whatsgate-monitor started', 'start-up');
    return String(started['listen']);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

export function tempDir(prefix = 'wgm-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeConfig(dir: string, yaml: string): string {
  const path = join(dir, 'config.yml');
  writeFileSync(path, yaml);
  return path;
}
