// `audit [--since 7d] [--json] [--send]` (SPEC §5): uptime, outages, stale devices and devices
// the gateway no longer knows, from the daemon's database. `--send` hands the report to the
// notification layer for `audit.channels`.

import { DirectAuditSender } from '../notify/audit-sender.js';
import { parseArgs } from 'node:util';
import { formatDuration, parseDuration } from '../fields/duration.js';
import type { Config } from '../config/types.js';
import { auditFromStore } from '../audit/from-store.js';
import { auditToJson, renderAuditText } from '../audit/render.js';
import { buildAuditMessage, type AuditSender } from '../audit/sender.js';
import { openCliSenders } from './cli-senders.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from './command.js';
import { CommandExit, loadCommandConfig, withExit, withStore } from './context.js';

export const DEFAULT_AUDIT_PERIOD = '7d';

export interface AuditCommandDeps {
  /** The notification layer's sender for this config; null when this build has none. */
  readonly senderFor: (config: Config) => AuditSender | null | Promise<AuditSender | null>;
  readonly now?: () => number;
}

export function createAuditCommand(deps: AuditCommandDeps): Command {
  return (args, io) =>
    withExit(io, async () => {
      const { values, positionals } = parseArgs({
        args: [...args],
        options: {
          config: { type: 'string' },
          since: { type: 'string' },
          json: { type: 'boolean' },
          send: { type: 'boolean' },
        },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length > 0) throw new UsageError('usage: audit [--since 7d] [--json] [--send]');
      const period = parseDuration(values.since ?? DEFAULT_AUDIT_PERIOD);
      if (period === null || period <= 0) {
        throw new UsageError(`--since: expected a duration such as 7d, got "${values.since ?? ''}"`);
      }
      const config = await loadCommandConfig(values.config, io, values.send === true ? 'read' : 'skip');
      let sender: AuditSender | null = null;
      if (values.send === true) {
        sender = await deps.senderFor(config);
        if (sender === null)
          throw new CommandExit(EXIT_FAILURE, 'audit --send: notifications are not available in this build');
        if (config.audit.channels.length === 0) {
          throw new CommandExit(EXIT_FAILURE, 'audit --send: no audit channels configured (audit.channels)');
        }
      }

      const now = (deps.now ?? Date.now)();
      const { report, hasStore } = await withStore(config, 'read', async (store) => ({
        report: await auditFromStore(store, config, { now, since: now - period }),
        hasStore: store !== null,
      }));
      if (values.json === true)
        io.stdout(`${JSON.stringify(auditToJson(report, config.timezone), null, 2)}\n`);
      else {
        if (!hasStore) io.stderr('note: no data yet — the daemon has not written its database.\n');
        io.stdout(renderAuditText(report, config.timezone));
      }
      if (sender === null) return EXIT_OK;

      const deliveries = await sender.sendAuditReport(
        buildAuditMessage(report, config.timezone),
        config.audit.channels,
      );
      let failed = 0;
      for (const d of deliveries) {
        if (d.outcome === 'failed') {
          failed++;
          io.stderr(`audit report to ${d.channel}: failed: ${d.error ?? 'unknown error'}\n`);
        } else io.stderr(`audit report to ${d.channel}: ${d.outcome}\n`);
      }
      if (failed > 0) {
        throw new CommandExit(
          EXIT_FAILURE,
          `audit report: ${failed} of ${deliveries.length} channels failed`,
        );
      }
      io.stderr(
        `audit report for the last ${formatDuration(period)} handed to ${deliveries.length} channel(s)\n`,
      );
      return EXIT_OK;
    });
}

// Until the notification layer is wired in, `--send` fails clearly (it never fakes success).
export default createAuditCommand({
  senderFor: async (config) => {
    // whatsapp sends through the account's gateway, within the CLI's share of its budget.
    const senders = await openCliSenders(config, (line) => process.stderr.write(`${line}\n`));
    return new DirectAuditSender(config, { services: () => senders });
  },
});
