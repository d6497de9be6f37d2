import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH } from './cli.js';

export type LogLine = Record<string, unknown> & { msg?: string };

/** The real daemon process, with its JSON log lines collected as they arrive. */
export class DaemonProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
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
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
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
      void this.exited.then(({ code, signal }) => {
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
