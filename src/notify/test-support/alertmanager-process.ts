// The real Alertmanager (Debian's prometheus-alertmanager) on loopback, for end-to-end tests:
// its own storage directory, a minimal config, no cluster listener.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../test/support/ports.js';

export const ALERTMANAGER_BIN =
  process.env['WHATSGATE_TEST_ALERTMANAGER'] ?? '/usr/bin/prometheus-alertmanager';

export function alertmanagerAvailable(): boolean {
  return existsSync(ALERTMANAGER_BIN);
}

export interface AlertmanagerProcess {
  readonly url: string;
  /** `GET /api/v2/alerts`: the alerts it holds as active (resolved ones are not listed). */
  alerts(): Promise<AlertmanagerApiAlert[]>;
  stop(): Promise<void>;
}

export interface AlertmanagerApiAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL?: string;
  readonly status: { readonly state: string };
}

const CONFIG = `route:
  receiver: blackhole
receivers:
  - name: blackhole
`;

/** Resolves once the process logs that it listens; rejects with its log if it exits first. */
function listening(child: ChildProcess, log: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      log.push(...lines);
      if (lines.some((l) => l.includes('msg="Listening on"'))) resolve();
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`alertmanager exited (${code}) before listening:\n${log.join('\n')}`)),
    );
    child.once('error', reject);
  });
}

export async function startAlertmanager(): Promise<AlertmanagerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'wgm-am-'));
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(configFile, CONFIG);
  const port = await freePort();
  const child = spawn(
    ALERTMANAGER_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log: string[] = [];
  try {
    await listening(child, log);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    async alerts() {
      const res = await fetch(`${url}/api/v2/alerts`);
      if (!res.ok) throw new Error(`GET /api/v2/alerts: HTTP ${res.status}`);
      return (await res.json()) as AlertmanagerApiAlert[];
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
