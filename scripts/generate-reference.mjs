// Fills the generated parts of docs/reference.md from the built program (dist/), so the reference
// cannot drift from the code: the CLI's own help, every config key of the JSON Schema the loader's
// zod schema produces, every metric family the exporter writes, the event types, the channel
// types of the registry with their keys, and a webhook body rendered by the webhook channel.
// Run through `npm run reference` (which builds first). `--check` exits 1 when the file is stale.
// Node's globals are imported so that linting this plain JS file needs no environment settings.
import console from 'node:console';
import { readFile, writeFile } from 'node:fs/promises';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const dist = new URL('../dist/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);

const root = fileURLToPath(new URL('..', import.meta.url));
export const REFERENCE_FILE = 'docs/reference.md';

/**
 * What each event means. The list itself comes from the program; an event type without a line
 * here fails the generator (and so the staleness test) until someone says what it means.
 */
const EVENT_MEANINGS = {
  'device.down':
    '`failure_threshold` checks in a row answered a status other than `connected`: the device is DOWN',
  'device.up':
    'after DOWN, `success_threshold` checks in a row answered `connected` (only with `send_resolved`)',
  'device.reminder': 'the device is still DOWN, every `repeat_interval`',
  'device.flapping':
    '`flap_threshold` DOWN/UP changes within `flap_window`; per-change alerts pause until it is stable',
  'device.not_found': 'the gateway does not know the device (deleted there, or a typo in the config)',
  'device.stalled':
    'messages are pending at the gateway and none has been delivered for `delivery.stall_after`',
  'device.failing':
    'since the last reading at least `delivery.min_failed` messages failed, and at least `delivery.failed_ratio` of those finished',
  'device.delivery_recovered': 'the delivery problem that was reported no longer holds',
  'device.balance_low': "the device's remaining message balance fell below `delivery.low_balance`",
  'account.unreachable':
    'the monitor cannot see the account: every check failed for `failure_threshold` cycles, or at once on 401/403',
  'account.recovered': 'the account answers again',
  'audit.report': 'the scheduled audit (`audit.schedule`), or `audit --send`',
  test: '`whatsgate-monitor test-notify`',
};

/**
 * One line per channel type: what it talks to. A channel type without a line fails the
 * generator; its keys come from the schema.
 */
const CHANNEL_SUMMARIES = {
  email: 'SMTP (nodemailer): a text and an HTML part, the QR code inline with `reconnect: qr`.',
  webhook: 'an HTTP `POST` of the JSON below, signed per Standard Webhooks 1.0.',
  alertmanager:
    '`POST {url}/api/v2/alerts` to every URL of the cluster: `WhatsGateDeviceDown`, `WhatsGateAccountUnreachable`, re-sent every minute while firing, `endsAt` on recovery.',
  slack: 'a Slack incoming webhook: Block Kit with a plain-text fallback.',
  teams: 'a Microsoft Teams Workflows webhook: an Adaptive Card.',
  discord: 'a Discord channel webhook: embeds coloured by severity.',
  telegram: 'the Telegram Bot API: `sendMessage` (HTML), a QR code as `sendPhoto`.',
  ntfy: 'an ntfy server and topic: priority, tags and a link to the re-link page.',
  pagerduty: 'PagerDuty Events API v2: `trigger` and `resolve` with one `dedup_key` per problem.',
  whatsapp:
    'a WhatsApp message through WhatsGate itself, from a device of one of your accounts that is UP, paid out of its budget.',
};

// ---------------------------------------------------------------------------------------------
// Markdown helpers

const cell = (text) => String(text).replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
const code = (text) => `\`${text}\``;

function table(header, rows) {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// CLI

async function cliSection() {
  const { runCli } = await load('cli.js');
  const capture = async (args) => {
    let out = '';
    const io = {
      stdout: (t) => (out += t),
      stderr: (t) => (out += t),
      env: {},
      stdin: process.stdin,
    };
    await runCli(args, io);
    return out.trimEnd();
  };
  const usage = await capture(['--help']);
  const demo = await capture(['demo', '--help']);
  return [
    '`whatsgate-monitor --help`:',
    '',
    '```text',
    usage,
    '```',
    '',
    '`whatsgate-monitor demo --help`:',
    '',
    '```text',
    demo,
    '```',
  ].join('\n');
}

/**
 * What each field of `status --json` / `history --json` means. The fields themselves come from the
 * program's own report functions; a field without a line here fails the generator.
 */
const STATUS_FIELDS = {
  account: ["the account's `name`"],
  device: ['the device number, digits only'],
  name: ["the device's `name`"],
  status: [
    'the current status (below); `deleted` after `delete` until removed from the config; null before the first answer',
  ],
  status_raw: ["the gateway's text behind the status, verbatim (what an `unknown` was); null when none"],
  state: ['`"UP"` or `"DOWN"` after `failure_threshold` / `success_threshold`; null while not checked yet'],
  since: ['when the current status began (time)'],
  last_check: ['the last check, answer or probe error (time)'],
  probe_error: [
    'why the last check got no status (`timeout`, `http_5xx`, …, with the message); null after an answer',
  ],
  silenced_until: ['while a silence holds, until when (time)'],
  delivery: [
    'delivery health: `{pending, successful, failed, remaining, problem, checked_at}` of the last balance reading — today\'s counts, `problem` `"stalled"`, `"failing"`, `"balance_low"`, a list of them when several hold, or null; null until the balance was read',
  ],
};
const HISTORY_FIELDS = {
  at: ['when the status changed (time)'],
  from: ['the status before; null for the first status seen'],
  to: ['the new status, or `deleted` (the device was deleted with `delete`)'],
  raw: ["the gateway's text for `to`, verbatim; null when none was recorded"],
};

function fieldTable(sample, meanings, what) {
  const rows = Object.keys(sample).map((field) => {
    const meaning = meanings[field];
    if (meaning === undefined) {
      throw new Error(`${what} field ${field} has no meaning: add one in scripts/generate-reference.mjs`);
    }
    return [code(field), meaning[0]];
  });
  return table(['field', 'meaning'], rows);
}

async function jsonSection() {
  const { deviceReport, historyReport } = await load('report/devices.js');
  const { DEVICE_STATUSES } = await load('monitor/model.js');
  const facts = {
    account: 'main',
    device: '1',
    name: 'n',
    status: 'connected',
    statusRaw: 'connected',
    health: 'UP',
    statusSince: 0,
    lastCheckAt: 0,
    probeError: null,
    silencedUntil: null,
    deletedAt: null,
  };
  const [history] = historyReport(
    [{ account: 'main', device: '1', at: 0, from: null, to: 'connected', raw: null }],
    'UTC',
  );
  return [
    '`status --json` and `GET /api/v1/devices`: an array, one object per configured device.',
    '',
    fieldTable(deviceReport(facts, 'UTC'), STATUS_FIELDS, 'status --json'),
    '',
    '`history DEVICE --json` and `GET /api/v1/devices/{number}/history`: an array, oldest first.',
    '',
    fieldTable(history, HISTORY_FIELDS, 'history --json'),
    '',
    `Statuses: ${DEVICE_STATUSES.map(code).join(', ')}.`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Config keys, from the JSON Schema built from the loader's zod schema

function typeOf(node) {
  if (node === undefined || node === true) return 'any';
  if ('const' in node) return JSON.stringify(node.const);
  if (Array.isArray(node.enum)) return node.enum.map((v) => JSON.stringify(v)).join(' | ');
  const alternatives = node.anyOf ?? node.oneOf;
  if (Array.isArray(alternatives)) return [...new Set(alternatives.map(typeOf))].join(' or ');
  const type = Array.isArray(node.type) ? node.type.join(' or ') : node.type;
  if (type === 'array') return `list of ${typeOf(node.items)}`;
  if (type === 'object') {
    if (node.properties !== undefined) return 'object';
    if (typeof node.additionalProperties === 'object') {
      const values = node.additionalProperties;
      return values.oneOf !== undefined && values.oneOf.every((v) => v.properties?.type?.const)
        ? 'map of channels'
        : `map of ${typeOf(values)}`;
    }
    return 'object';
  }
  const bounds = [];
  if (node.minimum !== undefined) bounds.push(`≥ ${node.minimum}`);
  if (node.exclusiveMinimum !== undefined) bounds.push(`> ${node.exclusiveMinimum}`);
  if (node.maximum !== undefined) bounds.push(`≤ ${node.maximum}`);
  if (node.exclusiveMaximum !== undefined) bounds.push(`< ${node.exclusiveMaximum}`);
  return [type ?? 'any', ...bounds].join(' ');
}

/** The schema's `default`, else the one the description states ("… (default 60s)"). */
function defaultOf(node) {
  if (node.default !== undefined) return code(JSON.stringify(node.default).replace(/^"(.*)"$/, '$1'));
  const stated = /\(default:? ([^)]+)\)|^default:? ([^;(]+)/.exec(node.description ?? '');
  return stated === null ? '' : (stated[1] ?? stated[2]).trim();
}

/** The object a key leads into, and how its children's paths continue. */
function childrenOf(node) {
  if (node.properties !== undefined) return { schema: node, suffix: '' };
  if (node.type === 'array' && node.items?.properties !== undefined)
    return { schema: node.items, suffix: '[]' };
  const values = node.additionalProperties;
  if (typeof values === 'object' && values.properties !== undefined)
    return { schema: values, suffix: '.<name>' };
  for (const alt of node.anyOf ?? []) {
    const found = childrenOf(alt);
    if (found !== null) return found;
  }
  return null;
}

/** What a key without a description of its own is, when its name says it. */
function implied(key, fallbacks) {
  if (fallbacks[key] !== undefined) return fallbacks[key];
  if (key.endsWith('_file'))
    return `a file whose first line is \`${key.slice(0, -'_file'.length)}\` (either one)`;
  return '';
}

function keyRows(schema, path, fallbacks = {}) {
  const rows = [];
  const required = new Set(schema.required ?? []);
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    const at = path === '' ? key : `${path}.${key}`;
    rows.push([
      code(at) + (required.has(key) ? ' (required)' : ''),
      typeOf(node),
      defaultOf(node),
      node.description ?? implied(key, fallbacks),
    ]);
    const children = childrenOf(node);
    if (children !== null) rows.push(...keyRows(children.schema, `${at}${children.suffix}`, fallbacks));
  }
  return rows;
}

async function configSection() {
  const { configJsonSchema } = await load('config-schema.js');
  const schema = configJsonSchema();
  return table(['key', 'type', 'default', 'description'], keyRows(schema, ''));
}

/** Every channel type's own schema, from the union under `notify.channels`. */
async function channelSchemas() {
  const { configJsonSchema } = await load('config-schema.js');
  const channels = configJsonSchema().properties.notify.properties.channels.additionalProperties;
  const alternatives = channels.oneOf ?? channels.anyOf ?? [];
  return new Map(alternatives.map((alt) => [alt.properties.type.const, alt]));
}

async function channelsSection() {
  const { CHANNEL_TYPES } = await load('notify/channels/index.js');
  const schemas = await channelSchemas();
  const parts = [
    `Channel types: ${CHANNEL_TYPES.map(code).join(', ')}. Each is an entry of \`notify.channels\`, ` +
      'named by its key, with `type:` one of these. Every secret key has a `*_file` twin that reads ' +
      'the secret from a file (first line), for systemd credentials and Docker secrets.',
  ];
  for (const type of CHANNEL_TYPES) {
    const summary = CHANNEL_SUMMARIES[type];
    if (summary === undefined) {
      throw new Error(
        `channel type ${type} has no summary: add one to CHANNEL_SUMMARIES in scripts/generate-reference.mjs`,
      );
    }
    const schema = schemas.get(type);
    if (schema === undefined) throw new Error(`channel type ${type} is missing from the config schema`);
    const rows = keyRows(schema, '', { timeout: 'one delivery attempt' }).filter(
      ([key]) => key !== '`type` (required)',
    );
    parts.push(`### \`${type}\`\n\n${summary}\n\n${table(['key', 'type', 'default', 'description'], rows)}`);
  }
  return parts.join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// Metrics, from the exporter itself

/** The source the daemon hands the exporter, holding one device, one account, one channel. */
function oneDeviceSource() {
  return {
    devices: () => [
      {
        account: 'main',
        device: '100000000',
        name: 'Sales phone',
        labels: { team: 'sales' },
        status: 'connected',
        up: true,
        probeSuccess: true,
        lastCheckAt: 1_732_468_000_500,
        statusSince: 1_732_460_000_000,
        transitions: 2,
        silenced: false,
      },
    ],
    accounts: () => [
      {
        account: 'main',
        reachable: true,
        intervalMs: 60_000,
        effectiveIntervalMs: 60_000,
        lastCycleDurationMs: 1_500,
      },
    ],
    notificationsPending: () => [{ channel: 'ops', pending: 0 }],
    notificationSenders: () => [{ channel: 'wa', up: 1 }],
    store: () => ({ writable: true }),
  };
}

/** `# HELP` / `# TYPE` / sample lines → families with the label names their samples carry. */
function families(text) {
  const byName = new Map();
  const family = (name) => {
    if (!byName.has(name)) byName.set(name, { name, type: '', help: '', labels: new Set() });
    return byName.get(name);
  };
  for (const line of text.split('\n')) {
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m !== null) {
      family(m[1]).help = m[2].replace(/\\n/g, ' ').replace(/\\\\/g, '\\');
      continue;
    }
    m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m !== null) {
      family(m[1]).type = m[2];
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (m === null) continue;
    const sample = m[1];
    const owner =
      [...byName.values()].find((f) => f.name === sample) ??
      [...byName.values()].find(
        (f) => f.type === 'histogram' && /_(bucket|sum|count)$/.test(sample) && sample.startsWith(f.name),
      );
    if (owner === undefined) continue;
    for (const [, label] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) {
      if (label !== 'le') owner.labels.add(label);
    }
  }
  return [...byName.values()];
}

async function metricsSection() {
  const { Metrics } = await load('metrics/metrics.js');
  const metrics = new Metrics({
    source: oneDeviceSource(),
    version: '0.0.0',
    channels: ['ops'],
    processMetrics: false,
  });
  metrics.recordCheck('main', 0.1, 'ok');
  const list = families(await metrics.render());
  const rows = list.map((f) => {
    const labels = [...f.labels];
    if (f.name === 'whatsgate_device_info') labels.splice(labels.indexOf('team'), 1, '<device labels>');
    return [code(f.name), f.type, labels.map(code).join(', '), f.help];
  });
  return table(['metric', 'type', 'labels', 'help'], rows);
}

// ---------------------------------------------------------------------------------------------
// Events and the webhook body

async function eventsSection() {
  const { EVENT_TYPES } = await load('monitor/model.js');
  const rows = EVENT_TYPES.map((type) => {
    const meaning = EVENT_MEANINGS[type];
    if (meaning === undefined) {
      throw new Error(
        `event type ${type} has no meaning: add one to EVENT_MEANINGS in scripts/generate-reference.mjs`,
      );
    }
    return [code(type), meaning];
  });
  return table(['event', 'when'], rows);
}

async function webhookSection() {
  const { webhookRequest } = await load('notify/channels/webhook/render.js');
  const at = Date.UTC(2025, 0, 15, 9, 30, 12);
  const event = {
    id: '01JHM3Q8S9W7X2K4V6N8P0R2T4',
    kind: 'device',
    account: 'main',
    device: { number: '491511234567', name: 'Sales phone', labels: { team: 'sales' } },
    event: {
      type: 'device.down',
      at,
      status: 'disconnected',
      previousStatus: 'connected',
      since: at - 20_000,
      downSince: at - 20_000,
    },
    qrCode: null,
  };
  const { body, headers } = webhookRequest(
    {
      deliveryId: 'msg_2rJ9VwQfZ6yTnD4pL8sB1c',
      events: [event],
      sentAt: at + 30_000,
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      headers: {},
    },
    { timeZone: 'Europe/Berlin', publicUrl: 'https://monitor.example.com' },
  );
  const headerLines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return [
    'Headers of one delivery (with `secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`):',
    '',
    '```http',
    'POST /your/endpoint HTTP/1.1',
    ...headerLines,
    '```',
    '',
    'Body (one `device.down`, `timezone: Europe/Berlin`; pretty-printed here, sent compact: the signature covers the bytes as sent):',
    '',
    '```json',
    JSON.stringify(JSON.parse(body), null, 2),
    '```',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

const SECTIONS = {
  cli: cliSection,
  json: jsonSection,
  config: configSection,
  metrics: metricsSection,
  events: eventsSection,
  webhook: webhookSection,
  channels: channelsSection,
};

/** The reference with every `<!-- BEGIN GENERATED name -->…<!-- END GENERATED name -->` refilled. */
export async function generateReference(text) {
  let out = text;
  for (const [name, make] of Object.entries(SECTIONS)) {
    const begin = `<!-- BEGIN GENERATED ${name}: npm run reference -->`;
    const end = `<!-- END GENERATED ${name} -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from === -1 || to < from) throw new Error(`${REFERENCE_FILE}: markers for "${name}" are missing`);
    out = `${out.slice(0, from + begin.length)}\n\n${await make()}\n\n${out.slice(to)}`;
  }
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = `${root}${REFERENCE_FILE}`;
  const current = await readFile(file, 'utf8');
  const text = await generateReference(current);
  if (process.argv.includes('--check')) {
    if (current !== text) {
      console.error(`${REFERENCE_FILE} is stale: run npm run reference`);
      process.exitCode = 1;
    } else {
      console.log(`${REFERENCE_FILE} is up to date`);
    }
  } else {
    await writeFile(file, text);
    console.log(`wrote ${REFERENCE_FILE}`);
  }
}
