import { parseArgs } from 'node:util';
import type { AccountConfig, Config } from '../config/types.js';
import { openCliCallBudget } from './api-budget.js';
import type { GatewayClient } from '../gateway/client.js';
import type { Observation } from '../monitor/model.js';
import { deliveryFromStoredState, PROBLEM_WORDS, type DeliveryReport } from '../report/delivery.js';
import { deletedIndex, deviceReport, stateText, statusText, type DeviceReport } from '../report/devices.js';
import { silenceMatches, type Silence } from '../monitor/silence.js';
import type { DeviceRow } from '../store/store.js';
import { EXIT_OK, type Command } from './command.js';
import { loadCommandConfig, withExit, withStore } from './context.js';
import { renderTable } from '../report/table.js';
import { LIVE_FOOTER, LIVE_HEADERS, liveFields, liveText, type LiveFields } from './status-live.js';

/**
 * One call per device, at most `concurrency` at a time, each reserved from the account's budget
 * (shared with a running daemon through the call log); answers keyed `account\0device`.
 */
async function askLive(
  config: Config,
  account: AccountConfig,
  client: GatewayClient,
  live: Map<string, Observation>,
  tell: (line: string) => void,
): Promise<void> {
  const calls = await openCliCallBudget(config, account.name, tell);
  try {
    const queue = [...account.devices];
    const worker = async (): Promise<void> => {
      for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
        await calls.budget.reserve('check');
        live.set(`${account.name}\0${d.number}`, await client.status(d.number));
      }
    };
    await Promise.all(Array.from({ length: account.concurrency }, worker));
  } finally {
    await calls.close();
    await client.close();
  }
}

const status: Command = (args, io) =>
  withExit(io, async () => {
    const { values } = parseArgs({
      args: [...args],
      options: { config: { type: 'string' }, live: { type: 'boolean' }, json: { type: 'boolean' } },
      strict: true,
    });
    const config = await loadCommandConfig(values.config, io, values.live === true ? 'read' : 'skip');
    const now = Date.now();
    let rows = new Map<string, DeviceRow>();
    let silences: Silence[] = [];
    let deleted = new Map<string, number>();
    const hasStore = await withStore(config, 'read', async (store) => {
      if (store === null) return false;
      rows = new Map((await store.getDevices()).map((r) => [`${r.account}\0${r.device}`, r]));
      silences = await store.activeSilences(now);
      deleted = deletedIndex(await store.deletedDevices());
      return true;
    });

    // --live asks the gateway now, one call per device, at most `concurrency` at a time. These
    // calls come out of the same per-minute budget the daemon spends.
    const live = new Map<string, Observation>();
    if (values.live === true) {
      // Loaded only here: the store readers load neither the gateway client nor undici.
      const { gatewayClientFor } = await import('../gateway/for-account.js');
      const tell = (line: string): void => io.stderr(`${line}\n`);
      await Promise.all(
        config.accounts.map((account) => askLive(config, account, gatewayClientFor(account), live, tell)),
      );
    }

    // The report is the daemon's stored view, --live or not; the live answer goes beside it.
    const reports: (DeviceReport & Partial<LiveFields>)[] = [];
    for (const account of config.accounts) {
      for (const d of account.devices) {
        const key = `${account.name}\0${d.number}`;
        const row = rows.get(key);
        const until = silences
          .filter((s) => silenceMatches(s, account.name, d.number))
          .reduce<number | null>((m, s) => (m === null || s.until > m ? s.until : m), null);
        const report = deviceReport(
          {
            account: account.name,
            device: d.number,
            name: d.name,
            status: row?.status ?? null,
            statusRaw: row?.statusRaw ?? null,
            health: row?.health ?? 'UP',
            statusSince: row?.statusSince ?? null,
            lastCheckAt: row?.lastCheckAt ?? null,
            probeError: row?.probeError ?? null,
            silencedUntil: until,
            deletedAt: deleted.get(key) ?? null,
            ...(row === undefined ? {} : { delivery: deliveryFromStoredState(row.state) }),
          },
          config.timezone,
        );
        reports.push(
          values.live === true ? { ...report, ...liveFields(live.get(key), now, config.timezone) } : report,
        );
      }
    }

    if (values.json === true) {
      io.stdout(`${JSON.stringify(reports, null, 2)}\n`);
      return EXIT_OK;
    }
    if (!hasStore) io.stderr('note: no data yet — the daemon has not written its database.\n');
    const isLive = values.live === true;
    io.stdout(
      renderTable(
        [
          'ACCOUNT',
          'DEVICE',
          'NAME',
          ...(isLive ? [LIVE_HEADERS.live, LIVE_HEADERS.status, LIVE_HEADERS.state] : ['STATUS', 'STATE']),
          'SINCE',
          isLive ? LIVE_HEADERS.lastCheck : 'LAST CHECK',
          'SILENCED UNTIL',
          'DELIVERY TODAY',
          'PROBE ERROR',
        ],
        reports.map((r) => [
          r.account,
          r.device,
          r.name,
          ...(isLive ? [liveText(r)] : []),
          statusText(r),
          stateText(r),
          r.since ?? '-',
          r.last_check ?? 'never',
          r.silenced_until ?? '-',
          deliveryCell(r.delivery),
          r.probe_error ?? '',
        ]),
      ),
    );
    if (isLive) io.stdout(`\n${LIVE_FOOTER}`);
    return EXIT_OK;
  });
/** `500 sent, 50 pending, 10 failed: messages stuck pending`; `-` until the balance was read. */
function deliveryCell(d: DeliveryReport | null): string {
  if (d === null) return '-';
  const counts = `${d.successful} sent, ${d.pending} pending, ${d.failed} failed`;
  const problems = d.problem === null ? [] : Array.isArray(d.problem) ? d.problem : [d.problem];
  return problems.length === 0 ? counts : `${counts}: ${problems.map((p) => PROBLEM_WORDS[p]).join(', ')}`;
}

export default status;
