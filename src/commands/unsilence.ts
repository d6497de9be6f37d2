import { parseArgs } from 'node:util';
import { EXIT_OK, UsageError, type Command } from './command.js';
import { findDevices, loadCommandConfig, withExit, withStore } from './context.js';

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
    const removed = await withStore(config, 'write', async (store) => {
      if (store === null) return 0;
      if (refs === null) return store.removeSilences('all');
      return store.transaction(async (tx) => {
        let n = 0;
        for (const ref of refs)
          n += await tx.removeSilences({ account: ref.account, device: ref.device.number });
        return n;
      });
    });
    io.stdout(`removed ${removed} silence${removed === 1 ? '' : 's'}\n`);
    return EXIT_OK;
  });
export default unsilence;
