// `delete DEVICE [--yes]` (SPEC §5): deletes the device at the gateway — the best practice for
// devices no longer in use — after the operator typed its number back, and records the deletion
// in the history (`to: 'deleted'`). The gateway's refusal is reported, not thrown.

import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { CliCallBudget } from './api-budget.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, type Command } from './command.js';
import { clientForAccount, describeDevice, resolveOneDevice } from './connect.js';
import { CommandExit, loadCommandConfig, openCommandStore, withExit } from './context.js';
import { isoWithOffset } from '../report/time.js';

/** The first line on `input`, or null when it ends without one. */
export function readLine(input: NodeJS.ReadableStream): Promise<string | null> {
  return new Promise((resolvePromise) => {
    const rl = createInterface({ input, terminal: false });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolvePromise(line);
    });
    rl.once('close', () => {
      if (!answered) resolvePromise(null);
    });
  });
}

const USAGE = 'usage: delete DEVICE [--yes] [--account NAME]';

const del: Command = (args, io) =>
  withExit(io, async () => {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { config: { type: 'string' }, yes: { type: 'boolean' }, account: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError(USAGE);
    const config = await loadCommandConfig(values.config, io, 'read');
    const ref = resolveOneDevice(config, positionals[0] ?? '', values.account);
    const number = ref.device.number;

    // Opened before the gateway call: a deletion that cannot be recorded is not started.
    const store = await openCommandStore(config, 'write');
    if (store === null) throw new CommandExit(EXIT_FAILURE, 'could not open the database');
    try {
      const row = await store.getDevice(ref.account, number);
      const last =
        row?.status == null
          ? 'never checked'
          : `${row.status}${row.statusSince === null ? '' : ` since ${isoWithOffset(row.statusSince, config.timezone)}`}`;
      io.stdout(
        'This deletes the device at the WhatsGate gateway:\n' +
          `  account:  ${ref.account}\n` +
          `  number:   ${number}\n` +
          `  name:     ${ref.device.name}\n` +
          `  status:   ${last}\n` +
          'Its WhatsApp session is unlinked; sending from this number through WhatsGate stops until it\n' +
          'is added and linked again.\n',
      );

      if (values.yes !== true) {
        const tty = (io.stdin as { isTTY?: boolean }).isTTY === true;
        io.stdout(`Type the device number (${number}) to confirm: `);
        const answer = await readLine(io.stdin);
        if (answer === null) {
          io.stdout('\n');
          throw new CommandExit(
            EXIT_USAGE,
            tty
              ? 'no confirmation: nothing deleted'
              : 'refusing to delete without confirmation: stdin is not a terminal and gave no answer — ' +
                  'pipe the number in, or pass --yes',
          );
        }
        const typed = answer.trim().replace(/[\s+-]/g, '');
        if (typed !== number) {
          throw new CommandExit(
            EXIT_FAILURE,
            `confirmation "${answer.trim()}" does not match ${number}: nothing deleted`,
          );
        }
      }

      const client = clientForAccount(config, ref.account);
      const rate = config.accounts.find((a) => a.name === ref.account)?.rateLimitPerMinute ?? 1;
      // Out of the account's budget, shared with a running daemon through the call log.
      const calls = new CliCallBudget({
        store,
        account: ref.account,
        ratePerMinute: rate,
        tell: (line) => io.stderr(`${line}\n`),
      });
      let result;
      try {
        await calls.reserve('out_of_band');
        result = await client.delete(number);
      } finally {
        await client.close();
      }
      switch (result.kind) {
        case 'deleted': {
          try {
            await store.appendHistory({
              account: ref.account,
              device: number,
              at: Date.now(),
              from: row?.status ?? null,
              to: 'deleted',
              raw: result.message,
            });
          } catch (err) {
            const reason = err instanceof Error ? err.message : String(err);
            throw new CommandExit(
              EXIT_FAILURE,
              `deleted ${describeDevice(ref)} at the gateway, but could not record it in the history: ${reason}`,
            );
          }
          io.stdout(
            `Deleted ${describeDevice(ref)} at the gateway: ${result.message}\n` +
              `Recorded in the history (${row?.status ?? 'none'} → deleted).\n` +
              `Now remove it from the config (account ${ref.account}, number "${number}") and reload the ` +
              'daemon (SIGHUP, e.g. systemctl reload whatsgate-monitor); until then it is reported as ' +
              'unknown to the gateway.\n',
          );
          return EXIT_OK;
        }
        case 'refused':
          throw new CommandExit(
            EXIT_FAILURE,
            `the gateway refused to delete ${describeDevice(ref)}: ${result.message}\n` +
              '(it does not know this number — already deleted, or a typo in the config?) Nothing recorded.',
          );
        case 'probe_error':
          throw new CommandExit(
            EXIT_FAILURE,
            `could not delete ${describeDevice(ref)}: ${result.reason}: ${result.message} — nothing recorded; ` +
              'check with `whatsgate-monitor status --live` before trying again',
          );
      }
    } finally {
      await store.close();
    }
  });
export default del;
