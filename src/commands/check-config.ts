import { parseArgs } from 'node:util';
import { ConfigError, formatIssue } from '../fields/errors.js';
import { loadConfig } from '../config/load.js';
import { stateDirProblem } from '../config/state-dir.js';
import { summarizeConfig } from '../config/summary.js';
import { EXIT_OK, EXIT_USAGE, resolveConfigPath, type Command } from './command.js';

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
    // state_dir is looked at here only: `run` creates it, and a reload must not fail on it.
    const config = await loadConfig(path, io.env, { stateDirProblem });
    io.stdout(summarizeConfig(config, { source: path }));
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const count = err.issues.length;
    io.stderr(`${path}: ${count} error${count === 1 ? '' : 's'}\n`);
    for (const issue of err.issues) io.stderr(`  ${formatIssue(issue)}\n`);
    return EXIT_USAGE;
  }
};
export default command;
