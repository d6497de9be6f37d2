import { parseArgs } from 'node:util';
import { parseDuration } from '../fields/duration.js';
import { historyReport, statusText } from '../report/devices.js';
import { EXIT_OK, UsageError, type Command } from './command.js';
import { findDevices, loadCommandConfig, withExit, withStore } from './context.js';
import { renderTable } from '../report/table.js';

const history: Command = (args, io) =>
  withExit(io, async () => {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { config: { type: 'string' }, since: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('usage: history DEVICE [--since 7d] [--json]');
    let since: number | undefined;
    if (values.since !== undefined) {
      const ms = parseDuration(values.since);
      if (ms === null) throw new UsageError(`--since: expected a duration such as 7d, got "${values.since}"`);
      since = Date.now() - ms;
    }
    const config = await loadCommandConfig(values.config, io, 'skip');
    const refs = findDevices(config, positionals[0] ?? '');
    const rows = await withStore(config, 'read', async (store) => {
      if (store === null) return [];
      const options = since === undefined ? {} : { since };
      const perDevice = [];
      for (const ref of refs) perDevice.push(await store.history(ref.account, ref.device.number, options));
      return perDevice.flat();
    });
    const report = historyReport(rows, config.timezone);
    if (values.json === true) {
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return EXIT_OK;
    }
    const title = refs.map((r) => `${r.device.name} (${r.device.number}, account ${r.account})`).join(', ');
    io.stdout(`${title}\n`);
    if (report.length === 0) io.stdout('no status changes recorded\n');
    else
      io.stdout(
        renderTable(
          ['AT', 'FROM', 'TO'],
          report.map((r) => [r.at, r.from ?? '-', statusText({ status: r.to, status_raw: r.raw })]),
        ),
      );
    return EXIT_OK;
  });
export default history;
