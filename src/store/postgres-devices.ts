// The device rows, their history and their delivery problems on PostgreSQL: the SQL that
// PostgresStore runs on a session's connection (it decides which, and fences the writes).
// Statement for statement what sqlite-tables.ts does, a batch in one statement where SQLite
// loops (a round trip per row would cost seconds for 10,000 devices).

import { insertHistory } from './postgres-rollups.js';
import type { Sql } from './postgres-session.js';
import { json, storable } from './postgres-text.js';
import type {
  DeletedDevice,
  DeliveryProblemChange,
  DeliveryProblemPeriod,
  DeviceRow,
  DeviceSave,
  HistoryRow,
} from './store.js';

const DEVICE_COLUMNS = `account, device, status, status_raw AS "statusRaw", health, status_since AS "statusSince",
  last_check_at AS "lastCheckAt", probe_error AS "probeError", transitions, state`;
const HISTORY_COLUMNS = 'id, account, device, at, from_status AS "from", to_status AS "to", raw';

type DeviceRecord = Omit<DeviceRow, 'state'> & { state: string };
type HistoryRecord = HistoryRow & { id: number };

const toDeviceRow = (r: DeviceRecord): DeviceRow => ({ ...r, state: JSON.parse(r.state) as unknown });
const toHistoryRow = ({ account, device, at, from, to, raw }: HistoryRecord): HistoryRow => ({
  account,
  device,
  at,
  from,
  to,
  raw,
});

/** All devices ordered by account then device, or the one named. */
export async function readDevices(sql: Sql, one?: { account: string; device: string }): Promise<DeviceRow[]> {
  const { rows } =
    one === undefined
      ? await sql<DeviceRecord>(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY account, device`)
      : await sql<DeviceRecord>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE account = $1 AND device = $2`, [
          one.account,
          one.device,
        ]);
  return rows.map(toDeviceRow);
}

export interface PreparedSave {
  readonly rows: readonly (DeviceRow & { readonly json: string })[];
  readonly changes: readonly HistoryRow[];
  readonly problems: readonly DeliveryProblemChange[];
}

/**
 * Encoded before any statement: a state JSON cannot hold fails the batch with nothing sent.
 * A device saved twice in one batch: its last row wins, as it would row by row.
 */
export function prepareSave(batch: readonly DeviceSave[]): PreparedSave {
  const rows = new Map<string, DeviceRow & { json: string }>();
  for (const { row } of batch) {
    const state = json(row.state, `device ${row.account}/${row.device}: state`);
    rows.set(JSON.stringify([row.account, row.device]), { ...row, json: state });
  }
  return {
    rows: [...rows.values()],
    changes: batch.flatMap((s) => (s.change === null ? [] : [s.change])),
    problems: batch.flatMap((s) => s.deliveryChanges ?? []),
  };
}

/** Several statements: the caller runs them as one write. */
export async function saveDevices(sql: Sql, { rows, changes, problems }: PreparedSave): Promise<void> {
  await sql(
    `INSERT INTO devices (account, device, status, status_raw, health, status_since, last_check_at,
                          probe_error, transitions, state)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                          $7::bigint[], $8::text[], $9::integer[], $10::text[])
     ON CONFLICT (account, device) DO UPDATE SET
       status = excluded.status, status_raw = excluded.status_raw, health = excluded.health,
       status_since = excluded.status_since, last_check_at = excluded.last_check_at,
       probe_error = excluded.probe_error, transitions = excluded.transitions, state = excluded.state`,
    [
      rows.map((r) => r.account),
      rows.map((r) => r.device),
      rows.map((r) => r.status),
      rows.map((r) => storable(r.statusRaw)),
      rows.map((r) => r.health),
      rows.map((r) => r.statusSince),
      rows.map((r) => r.lastCheckAt),
      rows.map((r) => storable(r.probeError)),
      rows.map((r) => r.transitions),
      rows.map((r) => r.json),
    ],
  );
  await insertHistory(sql, changes);
  for (const c of problems) await recordProblem(sql, c);
}

export async function removeDevice(sql: Sql, account: string, device: string): Promise<boolean> {
  return (
    (await sql('DELETE FROM devices WHERE account = $1 AND device = $2', [account, device])).rowCount! > 0
  );
}

export async function readHistory(
  sql: Sql,
  account: string,
  device: string,
  since: number,
): Promise<HistoryRow[]> {
  const { rows } = await sql<HistoryRecord>(
    `SELECT ${HISTORY_COLUMNS} FROM history WHERE account = $1 AND device = $2 AND at >= $3 ORDER BY at, id`,
    [account, device, since],
  );
  return rows.map(toHistoryRow);
}

/** The period, plus each device's last change before it. */
export async function readHistoryAll(sql: Sql, since: number): Promise<HistoryRow[]> {
  const { rows } = await sql<HistoryRecord>(
    `(SELECT ${HISTORY_COLUMNS} FROM history WHERE at >= $1)
     UNION ALL
     (SELECT DISTINCT ON (account, device) ${HISTORY_COLUMNS} FROM history WHERE at < $1
      ORDER BY account, device, at DESC, id DESC)
     ORDER BY account, device, at, id`,
    [since],
  );
  return rows.map(toHistoryRow);
}

/** A later row other than not_found means the device was added again; a later deletion replaces this one. */
export async function readDeleted(sql: Sql): Promise<DeletedDevice[]> {
  const { rows } = await sql<DeletedDevice>(`
    SELECT h.account, h.device, h.at FROM history AS h
    WHERE h.to_status = 'deleted' AND NOT EXISTS (
      SELECT 1 FROM history AS l
      WHERE l.account = h.account AND l.device = h.device
        AND (l.at > h.at OR (l.at = h.at AND l.id > h.id)) AND l.to_status <> 'not_found')
    ORDER BY h.account, h.device`);
  return rows;
}

/** A start opens a period unless one is open; an end closes the open one, if any. */
export async function recordProblem(sql: Sql, c: DeliveryProblemChange): Promise<void> {
  const params = [c.account, c.device, c.problem, c.at];
  if (c.kind === 'started') {
    await sql(
      `INSERT INTO delivery_problems (account, device, problem, started_at)
       SELECT $1::text, $2::text, $3::text, $4::bigint WHERE NOT EXISTS (
         SELECT 1 FROM delivery_problems
         WHERE account = $1 AND device = $2 AND problem = $3 AND ended_at IS NULL)`,
      params,
    );
  } else {
    await sql(
      `UPDATE delivery_problems SET ended_at = greatest($4::bigint, started_at)
       WHERE account = $1 AND device = $2 AND problem = $3 AND ended_at IS NULL`,
      params,
    );
  }
}

export async function readProblemPeriods(sql: Sql, since: number): Promise<DeliveryProblemPeriod[]> {
  const { rows } = await sql<DeliveryProblemPeriod>(
    `SELECT account, device, problem, started_at AS "startedAt", ended_at AS "endedAt"
     FROM delivery_problems WHERE ended_at IS NULL OR ended_at >= $1
     ORDER BY account, device, started_at, id`,
    [since],
  );
  return rows;
}

/** Delivery problem periods that ended before `before` (the history goes in slices: postgres-rollups.ts). */
export async function pruneProblems(sql: Sql, before: number): Promise<number> {
  return (await sql('DELETE FROM delivery_problems WHERE ended_at < $1', [before])).rowCount!;
}
