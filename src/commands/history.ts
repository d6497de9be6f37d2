// `history DEVICE [--since 7d] [--json] [--limit N] [--cursor C]` (SPEC §5): the device's status
// changes, oldest first, a page of at most `--limit` (default 1,000: a small history prints whole,
// as it always did). When more follow, stderr says how to ask for them, so stdout stays the table
// or the JSON array.

import { parseArgs } from 'node:util';
import { parseDuration } from '../fields/duration.js';
import { historyReport, statusText } from '../report/devices.js';
import {
  DEFAULT_HISTORY_LIMIT,
  MAX_HISTORY_LIMIT,
  decodeHistoryCursor,
  encodeHistoryCursor,
  historyPages,
  parseHistoryLimit,
  type HistoryCursor,
} from '../report/history-page.js';
import { EXIT_OK, UsageError, type Command } from './command.js';
import { findDevices, loadCommandConfig, withExit, withStore } from './context.js';
import { renderTable } from '../report/table.js';

const USAGE = 'usage: history DEVICE [--since 7d] [--json] [--limit N] [--cursor C]';

const history: Command = (args, io) =>
  withExit(io, async () => {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: {
        config: { type: 'string' },
        since: { type: 'string' },
        json: { type: 'boolean' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError(USAGE);
    let since: number | null = null;
    if (values.since !== undefined) {
      const ms = parseDuration(values.since);
      if (ms === null) throw new UsageError(`--since: expected a duration such as 7d, got "${values.since}"`);
      since = Date.now() - ms;
    }
    const limit = values.limit === undefined ? DEFAULT_HISTORY_LIMIT : parseHistoryLimit(values.limit);
    if (limit === null) {
      throw new UsageError(
        `--limit: expected a whole number from 1 to ${MAX_HISTORY_LIMIT}, got "${values.limit}"`,
      );
    }
    let cursor: HistoryCursor | null = null;
    if (values.cursor !== undefined) {
      cursor = decodeHistoryCursor(values.cursor);
      if (cursor === null) throw new UsageError('--cursor: not one this command printed');
    }
    const config = await loadCommandConfig(values.config, io, 'skip');
    const refs = findDevices(config, positionals[0] ?? '');
    const number = refs[0]?.device.number ?? '';
    const page = await withStore(config, 'read', async (store) =>
      store === null
        ? { rows: [], next: null }
        : historyPages(
            store,
            refs.map((r) => r.account),
            number,
            { since, limit, cursor },
          ),
    );
    const report = historyReport(page.rows, config.timezone);
    if (values.json === true) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    else {
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
    }
    if (page.next !== null) {
      io.stderr(`more changes follow: ${nextCommand(positionals[0] ?? '', values, page.next)}\n`);
    }
    return EXIT_OK;
  });
export default history;

/**
 * The command for the next page: the same options and the cursor. Not `--since`: every change after
 * the cursor is later than it anyway, and a duration would count from the next run's time.
 */
function nextCommand(
  device: string,
  values: { readonly config?: string; readonly json?: boolean; readonly limit?: string },
  next: HistoryCursor,
): string {
  const words = ['whatsgate-monitor', 'history', shellWord(device)];
  if (values.config !== undefined) words.push('--config', shellWord(values.config));
  if (values.limit !== undefined) words.push('--limit', values.limit);
  if (values.json === true) words.push('--json');
  words.push('--cursor', encodeHistoryCursor(next));
  return words.join(' ');
}

function shellWord(text: string): string {
  return /^[\w.@%+=:,/-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
