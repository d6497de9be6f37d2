import { parseArgs } from 'node:util';
import { EXIT_OK, UsageError, type Command } from './command.js';
import { findDevices, loadCommandConfig, openStore, withExit } from './context.js';

const unsilence: Command = (args, io) =>
  withExit(io, async () => {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { config: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('usage: unsilence DEVICE|all');
    const config = await loadCommandConfig(values.config, io, 'skip');
    const target = positionals[0] ?? '';
    const refs = target === 'all' ? null : findDevices(config, target);
    const store = openStore(config, 'write');
    let removed = 0;
    try {
      if (refs === null) removed = store?.removeSilences('all') ?? 0;
      else
        for (const ref of refs) {
          removed += store?.removeSilences({ account: ref.account, device: ref.device.number }) ?? 0;
        }
    } finally {
      store?.close();
    }
    io.stdout(`removed ${removed} silence${removed === 1 ? '' : 's'}\n`);
    return EXIT_OK;
  });
export default unsilence;
