// What the read/write CLI commands share: the config they name, and the daemon's database.

import { loadConfig } from '../config/load.js';
import type { Config, DeviceConfig } from '../config/types.js';
import { StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import {
  EXIT_FAILURE,
  EXIT_USAGE,
  UsageError,
  configFileOf,
  resolveConfigPath,
  type CommandIo,
} from './command.js';
import { configFailure } from './config-failure.js';
import { connectStore, type StoreMode } from './store-access.js';

/** Ends a command with an exit code and a message for stderr. */
export class CommandExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The config the command names. `secrets`: `read` for the commands that call the gateway or a
 * channel (`connect`, `delete`, `status --live`, `test-notify`, `audit --send`); `skip` for those
 * that only read or write the database (`status`, `history`, `audit`, `silence`, `unsilence`),
 * which then run on a host without the token — and must hand this config to no client.
 */
export async function loadCommandConfig(
  flag: string | undefined,
  io: CommandIo,
  secrets: 'read' | 'skip',
): Promise<Config> {
  const path = resolveConfigPath(flag, io.env);
  try {
    return { ...(await loadConfig(path, io.env, { secrets })), ...configFileOf(path) };
  } catch (err) {
    const message = configFailure(path, flag, io.env, err);
    if (message !== null) throw new CommandExit(EXIT_USAGE, message);
    throw err;
  }
}

/**
 * Opens the daemon's database (store-access.ts). Readers never create it: `null` when it does
 * not exist yet (the daemon has not run), so they can still list the configured devices. The
 * caller must `await store.close()` when done (withStore does).
 */
export async function openCommandStore(config: Config, mode: StoreMode): Promise<Store | null> {
  try {
    return await connectStore(config, mode);
  } catch (err) {
    if (err instanceof StoreError) {
      if (mode === 'read' && (err.reason === 'missing_file' || err.reason === 'missing_dir')) return null;
      throw new CommandExit(EXIT_FAILURE, err.message);
    }
    throw err;
  }
}

/**
 * Runs `body` with the daemon's database (null when a reader finds none) and closes it after,
 * whatever `body` did.
 */
export async function withStore<T>(
  config: Config,
  mode: StoreMode,
  body: (store: Store | null) => Promise<T>,
): Promise<T> {
  const store = await openCommandStore(config, mode);
  try {
    return await body(store);
  } finally {
    await store?.close();
  }
}

export interface DeviceRef {
  readonly account: string;
  readonly device: DeviceConfig;
}

/** Finds a configured device by number (`+` and spaces allowed) or by name. */
export function findDevices(config: Config, query: string): DeviceRef[] {
  const digits = query.replace(/[\s+-]/g, '');
  const refs: DeviceRef[] = [];
  for (const account of config.accounts) {
    for (const device of account.devices) {
      if (device.number === digits || device.name === query) refs.push({ account: account.name, device });
    }
  }
  if (refs.length === 0) {
    throw new UsageError(`device "${query}" is not in the configuration (give its number or name)`);
  }
  return refs;
}

/** Runs a command body, turning CommandExit into its message and code. */
export async function withExit(io: CommandIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof CommandExit) {
      io.stderr(`${err.message}\n`);
      return err.code;
    }
    throw err;
  }
}
