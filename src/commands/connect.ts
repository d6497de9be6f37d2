// `connect DEVICE [--out FILE.png]` (SPEC §5): asks the gateway for a QR code that links the
// device, and writes it as PNG. One call to /connect: it counts against the account's budget of
// 60 requests a minute, shared with message sending and with a running daemon: the call is
// reserved in the call log the daemon keeps in the store (api-budget.ts) before it is made.

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../config/types.js';
import type { GatewayClient } from '../gateway/client.js';
import { gatewayClientFor } from '../gateway/for-account.js';
import { openCliCallBudget } from './api-budget.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from './command.js';
import { CommandExit, findDevices, loadCommandConfig, withExit, type DeviceRef } from './context.js';

/** A QR code lives about 60 s at the gateway (SPEC §2). */
export const QR_LIFETIME_S = 60;

/** One configured device by number or name; `--account` picks one when several accounts have it. */
export function resolveOneDevice(config: Config, query: string, account: string | undefined): DeviceRef {
  const refs = findDevices(config, query).filter((r) => account === undefined || r.account === account);
  const [first, ...more] = refs;
  if (first === undefined)
    throw new UsageError(`device "${query}" is not configured in account "${account ?? ''}"`);
  if (more.length > 0) {
    const where = refs.map((r) => `${r.device.name} (${r.device.number}) in account ${r.account}`).join(', ');
    throw new UsageError(`"${query}" matches ${refs.length} devices: ${where} — add --account NAME`);
  }
  return first;
}

export function clientForAccount(config: Config, account: string): GatewayClient {
  const a = config.accounts.find((x) => x.name === account);
  if (a === undefined) throw new CommandExit(EXIT_FAILURE, `account ${account} is not configured`);
  return gatewayClientFor(a);
}

export function describeDevice(ref: DeviceRef): string {
  return ref.device.name === ref.device.number
    ? `${ref.device.number} (account ${ref.account})`
    : `${ref.device.name} (${ref.device.number}, account ${ref.account})`;
}

const USAGE = 'usage: connect DEVICE [--out FILE.png] [--account NAME]';

const connect: Command = (args, io) =>
  withExit(io, async () => {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { config: { type: 'string' }, out: { type: 'string' }, account: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError(USAGE);
    if (values.out === '') throw new UsageError('--out: expected a file name');
    const config = await loadCommandConfig(values.config, io, 'read');
    const ref = resolveOneDevice(config, positionals[0] ?? '', values.account);
    const number = ref.device.number;
    const client = clientForAccount(config, ref.account);
    // Out of the account's budget, shared with a running daemon through the call log.
    const calls = await openCliCallBudget(config, ref.account, (line) => io.stderr(`${line}\n`));
    let result;
    try {
      await calls.budget.reserve('out_of_band');
      result = await client.connect(number);
    } finally {
      await calls.close();
      await client.close();
    }
    switch (result.kind) {
      case 'qr': {
        const file = resolve(process.cwd(), values.out ?? `whatsgate-${number}-qr.png`);
        try {
          // A QR code links a WhatsApp account: readable by its owner only.
          writeFileSync(file, result.png, { mode: 0o600 });
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          throw new CommandExit(EXIT_FAILURE, `could not write the QR code to ${file}: ${reason}`);
        }
        io.stdout(
          `QR code for ${describeDevice(ref)} written to ${file} (${result.png.length} bytes).\n` +
            `Scan it now with WhatsApp on that phone: Settings → Linked devices → Link a device.\n` +
            `It expires in about ${QR_LIFETIME_S} s; run this command again for a fresh one.\n` +
            `(This used one API call of the account's budget — 60 a minute, shared with message sending.)\n`,
        );
        return EXIT_OK;
      }
      case 'already_connected':
        io.stdout(`${describeDevice(ref)} is already connected — nothing to scan, no file written.\n`);
        return EXIT_OK;
      case 'not_found':
        throw new CommandExit(
          EXIT_FAILURE,
          `the gateway does not know ${describeDevice(ref)} ("${result.message}"): check the number, ` +
            'add the device at the gateway first, or remove it from the config',
        );
      case 'probe_error':
        throw new CommandExit(
          EXIT_FAILURE,
          `could not get a QR code for ${describeDevice(ref)}: ${result.reason}: ${result.message}`,
        );
    }
  });
export default connect;
