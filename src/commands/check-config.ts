import { parseArgs } from 'node:util';
import { ConfigError, formatIssue } from '../fields/errors.js';
import { ConfigFileError, loadConfig } from '../config/load.js';
import { stateDirProblem } from '../config/state-dir.js';
import { summarizeConfig } from '../config/summary.js';
import { EXIT_OK, EXIT_USAGE, resolveConfigPath, type Command } from './command.js';
import { configFailure } from './config-failure.js';

/** `check-config [--config PATH]`: the summary and exit 0, or every error and exit 2 (SPEC §5). */
const command: Command = async (args, io) => {
  const { values } = parseArgs({
    args: [...args],
    options: { config: { type: 'string', short: 'c' } },
    allowPositionals: false,
    strict: true,
  });
  const path = resolveConfigPath(values.config, io.env);
  try {
    // state_dir is looked at here and at `run` start-up (not at a reload, where it cannot change).
    const config = await loadConfig(path, io.env, { stateDirProblem });
    io.stdout(summarizeConfig(config, { source: path }));
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (err instanceof ConfigFileError) {
      io.stderr(`${configFailure(path, values.config, io.env, err) ?? err.message}\n`);
      return EXIT_USAGE;
    }
    const count = err.issues.length;
    io.stderr(`${path}: ${count} error${count === 1 ? '' : 's'}\n`);
    for (const issue of err.issues) io.stderr(`  ${formatIssue(issue)}\n`);
    return EXIT_USAGE;
  }
};
export default command;
