import { parseArgs } from 'node:util';
import { formatDuration, parseDuration } from '../fields/duration.js';
import { isoWithOffset } from '../report/time.js';
import { EXIT_OK, UsageError, type Command } from './command.js';
import { findDevices, loadCommandConfig, withExit, withStore } from './context.js';

const silence: Command = (args, io) =>
  withExit(io, async () => {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { config: { type: 'string' }, for: { type: 'string' }, reason: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    const usage = 'usage: silence DEVICE|all --for 2h [--reason TEXT]';
    if (positionals.length !== 1 || values.for === undefined) throw new UsageError(usage);
    const ms = parseDuration(values.for);
    if (ms === null || ms <= 0)
      throw new UsageError(`--for: expected a duration such as 2h, got "${values.for}"`);
    const config = await loadCommandConfig(values.config, io, 'skip');
    const target = positionals[0] ?? '';
    const refs = target === 'all' ? null : findDevices(config, target);
    const now = Date.now();
    const until = now + ms;
    await withStore(config, 'write', async (store) => {
      if (store === null) return;
      const scopes =
        refs === null
          ? [{ account: null, device: null }]
          : refs.map((ref) => ({ account: ref.account, device: ref.device.number }));
      // All of them or none: a command that failed half-way must not leave some devices muted.
      await store.transaction(async (tx) => {
        for (const scope of scopes) {
          await tx.addSilence({ ...scope, until, reason: values.reason ?? null, createdAt: now });
        }
      });
    });
    const what =
      refs === null ? 'all devices' : refs.map((r) => `${r.device.name} (${r.device.number})`).join(', ');
    io.stdout(
      `silenced ${what} for ${formatDuration(ms)}, until ${isoWithOffset(until, config.timezone)}` +
        `${values.reason === undefined ? '' : ` — ${values.reason}`}\n` +
        'checks, history and metrics go on; only notifications are muted.\n',
    );
    return EXIT_OK;
  });
export default silence;
