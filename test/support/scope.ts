// What one end-to-end test starts — scratch folders, simulators, webhook receivers, daemons —
// stopped in reverse order after it, whether it passed or not.

import { rmSync } from 'node:fs';
import { afterEach } from 'vitest';
import { startReceiver, type Receiver } from '../../src/notify/test-support/http-receiver.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/server.js';
import { DaemonProcess, tempDir } from './daemon.js';

type Cleanup = () => Promise<void> | void;

/** SIGKILL unless it already stopped, then wait for the exit (which checks its log lines). */
export async function killAndWait(p: DaemonProcess): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
  await p.exited;
}

export interface TestScope {
  /** Runs `cleanup` after the test, before the cleanups added earlier. */
  defer(cleanup: Cleanup): void;
  /** A scratch folder, removed after the test. */
  dir(prefix?: string): string;
  simulator(options: SimulatorOptions): Promise<Simulator>;
  receiver(respond?: Parameters<typeof startReceiver>[0]): Promise<Receiver>;
  /** The daemon on `configPath`, killed after the test unless it stopped. */
  daemon(configPath: string, env?: Record<string, string>): DaemonProcess;
}

/** Call at the top of a test file: registers the `afterEach` that runs the cleanups. */
export function testScope(): TestScope {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const defer = (cleanup: Cleanup): void => void cleanups.push(cleanup);
  return {
    defer,
    dir: (prefix) => {
      const dir = tempDir(prefix);
      defer(() => rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
    simulator: async (options) => {
      const sim = await startSimulator(options);
      defer(() => sim.close());
      return sim;
    },
    receiver: async (respond) => {
      const r = await startReceiver(respond);
      defer(() => r.close());
      return r;
    },
    daemon: (configPath, env) => {
      const p = DaemonProcess.start(configPath, env);
      defer(() => killAndWait(p));
      return p;
    },
  };
}
