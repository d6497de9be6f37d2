#!/usr/bin/env node
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { EXIT_FAILURE, EXIT_USAGE, UsageError, type Command, type CommandIo } from './commands/command.js';
import { VERSION } from './version.js';

const USAGE = `whatsgate-monitor ${VERSION} — WhatsGate device health monitor

Usage: whatsgate-monitor <command> [options] [--config PATH]

Commands:
  run [--shard I/N]                     run the daemon (a shard polls only the devices hashing to I of N)
  check-config                          validate the config; print a summary or every error (exit 2)
  status [--live] [--json]              every device: status, DOWN/UP, since, last check, silenced
  history DEVICE [--since 7d] [--json] [--limit N] [--cursor C]
                                        the device's status changes, a page at a time
  connect DEVICE [--out FILE.png] [--account NAME]
                                        ask the gateway for a QR code and write it as PNG
  delete DEVICE [--yes] [--account NAME]
                                        delete the device at the gateway (typed confirmation)
  audit [--since 7d] [--json] [--send]  uptime, outages and stale devices
  silence DEVICE|all --for 2h [--reason TEXT]
  unsilence DEVICE|all                  mute / unmute notifications
  test-notify [--channel NAME]          send a test event through each channel
  webhook-secret                        print a fresh whsec_… signing key for a webhook channel's secret
  simulate [--port N] [--devices N] [--first NUMBER] [--token T] [--flap] [--rate-limit N]
                                        a local WhatsGate stand-in on 127.0.0.1
  demo                                  simulator + daemon + mail catcher on this machine (npm run demo)

Config: --config PATH, else $WHATSGATE_MONITOR_CONFIG, else /etc/whatsgate-monitor/config.yml
Exit codes: 0 ok, 1 failure at run time, 2 bad usage or bad config.
`;

// Loaded lazily so `--help` and short commands do not pay for the daemon's imports.
const COMMANDS: Record<string, () => Promise<{ default: Command }>> = {
  run: () => import('./commands/run.js'),
  'check-config': () => import('./commands/check-config.js'),
  status: () => import('./commands/status.js'),
  history: () => import('./commands/history.js'),
  silence: () => import('./commands/silence.js'),
  unsilence: () => import('./commands/unsilence.js'),
  simulate: () => import('./commands/simulate.js'),
  demo: () => import('./commands/demo.js'),
  connect: () => import('./commands/connect.js'),
  delete: () => import('./commands/delete.js'),
  audit: () => import('./commands/audit.js'),
  'test-notify': () => import('./commands/test-notify.js'),
  'webhook-secret': () => import('./commands/webhook-secret.js'),
};

const PLANNED: Record<string, string> = {};

export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(USAGE);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    if (PLANNED[name] !== undefined) {
      io.stderr(`whatsgate-monitor: '${name}' is not available in this version yet (${PLANNED[name]}).\n`);
      return EXIT_FAILURE;
    }
    io.stderr(`whatsgate-monitor: unknown command '${name}'\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    const command = (await load()).default;
    return await command(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`whatsgate-monitor ${name}: ${err.message}\n`);
      return EXIT_USAGE;
    }
    // Node's parseArgs throws TypeErrors with these codes for unknown or malformed flags.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`whatsgate-monitor ${name}: ${(err as Error).message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`whatsgate-monitor ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const io: CommandIo = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    stdin: process.stdin,
  };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`whatsgate-monitor: ${String(err)}\n`);
      process.exitCode = EXIT_FAILURE;
    },
  );
}
