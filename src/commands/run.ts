import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { parseShard, selectShard } from '../config/shard.js';
import { stateDirProblem } from '../config/state-dir.js';
import { configWarnings, deviceCount } from '../config/summary.js';
import type { Config } from '../config/types.js';
import { Daemon } from '../daemon.js';
import { createLogger } from '../log.js';
import { systemClock } from '../poll/system-clock.js';
import { StoreError } from '../store/errors.js';
import {
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  configFileOf,
  resolveConfigPath,
  type Command,
} from './command.js';
import { configFailure } from './config-failure.js';

// SPEC §9: SIGTERM/SIGINT finish checks in flight within 10 s; past that we exit anyway.
const HARD_STOP_MS = 10_000;

const run: Command = async (args, io) => {
  const { values } = parseArgs({
    args: [...args],
    options: { config: { type: 'string' }, shard: { type: 'string' } },
    strict: true,
  });
  const shard = values.shard === undefined ? null : parseShard(values.shard);
  if (values.shard !== undefined && shard === null) {
    throw new UsageError(`--shard: expected I/N with 1 ≤ I ≤ N, e.g. 1/3, got "${values.shard}"`);
  }
  const path = resolveConfigPath(values.config, io.env);
  // At start-up state_dir is checked as check-config checks it (a file in the way, a folder this
  // user may not write), so the operator reads the same line naming the key, exit 2, instead of a
  // raw ENOTDIR/EACCES from opening the database. A reload does not look: state_dir takes effect
  // only at a restart.
  const load = async (options: { checkStateDir: boolean }): Promise<Config> => {
    const loaded = await loadConfig(path, io.env, options.checkStateDir ? { stateDirProblem } : {});
    const located = { ...loaded, ...configFileOf(path) };
    return shard === null ? located : selectShard(located, shard);
  };
  let config: Config;
  try {
    config = await load({ checkStateDir: true });
  } catch (err) {
    const message = configFailure(path, values.config, io.env, err);
    if (message === null) throw err;
    io.stderr(`${message}\n`);
    return EXIT_USAGE;
  }
  const log = createLogger(config.logLevel);
  for (const warning of configWarnings(config)) log.warn({ component: 'config' }, warning);
  if (shard !== null) {
    log.info(
      { component: 'config', shard: `${shard.index}/${shard.count}`, devices: deviceCount(config) },
      'polling one shard',
    );
  }
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({ config, log, clock: systemClock, shard });
  } catch (err) {
    const message = err instanceof StoreError || err instanceof Error ? err.message : String(err);
    log.fatal({ component: 'daemon' }, message);
    log.flush();
    io.stderr(`whatsgate-monitor run: ${message}\n`);
    return EXIT_FAILURE;
  }

  return await new Promise<number>((resolve) => {
    let reloading = Promise.resolve();
    const onHup = (): void => {
      reloading = reloading.then(async () => {
        log.info({ component: 'daemon', config: path }, 'SIGHUP: reloading configuration');
        try {
          await daemon.reload(await load({ checkStateDir: false }));
        } catch (err) {
          // A bad new config must not take the daemon down: keep running on the old one.
          log.error(
            { component: 'daemon', config: path, err: err instanceof Error ? err.message : String(err) },
            'reload failed; keeping the previous configuration',
          );
        }
      });
    };
    const onStop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onStop);
      process.off('SIGINT', onStop);
      process.off('SIGHUP', onHup);
      log.info({ component: 'daemon', signal }, 'stopping');
      const hard = setTimeout(() => {
        log.error({ component: 'daemon' }, 'checks did not finish in time; exiting');
        log.flush();
        resolve(EXIT_FAILURE);
      }, HARD_STOP_MS);
      hard.unref();
      daemon
        .stop()
        .then(() => EXIT_OK)
        .catch((err: unknown) => {
          log.error({ component: 'daemon', err }, 'error while stopping');
          return EXIT_FAILURE;
        })
        .then((code) => {
          clearTimeout(hard);
          log.flush();
          resolve(code);
        }, resolve);
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', onHup);
  });
};
export default run;
