// `test-notify [--channel NAME]`: a `test` event through each channel (or one), sent directly —
// not via the outbox — so the operator learns now, per channel, whether delivery works.

import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { testNotification } from '../notify/message.js';
import type { Notifier } from '../notify/notifier.js';
import { createNotifiers, type NotifierFactory } from '../notify/registry.js';
import { openCliSenders } from './cli-senders.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command, type CommandIo } from './command.js';
import { CommandExit, loadCommandConfig, withExit } from './context.js';

export interface TestNotifyOptions {
  /** Tests replace the real channels. */
  readonly createNotifier?: NotifierFactory;
}

export function testNotifyCommand(options: TestNotifyOptions = {}): Command {
  return (args, io) =>
    withExit(io, async () => {
      const { values, positionals } = parseArgs({
        args: [...args],
        options: { config: { type: 'string' }, channel: { type: 'string' } },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length > 0) throw new UsageError('usage: test-notify [--channel NAME] [--config PATH]');
      const config = await loadCommandConfig(values.config, io, 'read');
      const configured = Object.keys(config.notify.channels);
      if (configured.length === 0) {
        throw new CommandExit(EXIT_FAILURE, 'no notification channels are configured under notify.channels');
      }
      if (values.channel !== undefined && !configured.includes(values.channel)) {
        throw new UsageError(
          `--channel: unknown channel "${values.channel}" (configured: ${configured.join(', ')})`,
        );
      }
      // Channels that send through WhatsGate (whatsapp) use the account's gateway, within its budget.
      const senders = await openCliSenders(config, (line) => io.stderr(`${line}\n`));
      const notifiers = createNotifiers(config, options.createNotifier, senders.services);
      const selected = values.channel === undefined ? configured : [values.channel];
      try {
        return await sendTests(selected, notifiers, io);
      } finally {
        await senders.close();
      }
    });
}

async function sendTests(
  names: readonly string[],
  notifiers: ReadonlyMap<string, Notifier>,
  io: CommandIo,
): Promise<number> {
  const now = Date.now();
  const never = new AbortController().signal;
  try {
    const results = await Promise.all(
      names.map(async (name) => {
        const notifier = notifiers.get(name)!;
        const result = await notifier.send(
          { deliveryId: randomUUID(), events: [testNotification(randomUUID(), name, now)], now },
          never,
        );
        return { name, result };
      }),
    );
    let failed = false;
    for (const { name, result } of results) {
      if (result.ok) {
        io.stdout(`${name}: sent\n`);
      } else {
        failed = true;
        io.stdout(`${name}: failed — ${result.error}\n`);
      }
    }
    return failed ? EXIT_FAILURE : EXIT_OK;
  } finally {
    await Promise.allSettled([...notifiers.values()].map((n) => n.close()));
  }
}

const testNotify: Command = testNotifyCommand();
export default testNotify;
