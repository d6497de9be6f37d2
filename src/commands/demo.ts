// `whatsgate-monitor demo` (`npm run demo`): the whole product on one machine in one command.
// The WhatsGate simulator with scripted drops (in this process), a mail catcher that saves each
// email as an .eml file (in this process), and the real daemon (a child process, exactly as
// `run` starts it) with config/demo.yml. Its JSON log lines are shown readable. Ctrl-C stops all.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseListen } from '../fields/fields.js';
import {
  DemoConfigError,
  applyDemoOverrides,
  mailTarget,
  portOf,
  readDemoSettings,
  type DemoOverrides,
} from '../demo/demo-config.js';
import { STALL_DRILL, drillModeAt, type DrillMode } from '../demo/delivery-drill.js';
import { formatClock, formatLogLine } from '../demo/log-format.js';
import { MailCatcherUnavailableError, startMailCatcher, type MailCatcher } from '../demo/mail-catcher.js';
import { startSimulator, type Simulator } from '../simulator/server.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command, type CommandIo } from './command.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI_PATH = fileURLToPath(new URL('../cli.js', import.meta.url));
export const DEFAULT_DEMO_CONFIG = join(PACKAGE_ROOT, 'config', 'demo.yml');
/** The derived config, when options change ports or the state folder. */
const DERIVED_CONFIG = 'demo-config.yml';
/** SPEC §9 gives the daemon 10 s to stop; past this it is killed. */
const STOP_TIMEOUT_MS = 15_000;
const DUPLICATE_SIGNAL_MS = 1_000;

const USAGE = `demo [--config FILE] [--listen HOST:PORT] [--state-dir DIR] [--sim-port N] [--smtp-port N] [--raw]
  --config FILE       default: config/demo.yml of this package
  --listen HOST:PORT  the daemon's HTTP address (default: the config's listen, 127.0.0.1:8749)
  --state-dir DIR     monitor.db and mail/ (default: the config's state_dir, ./demo-state)
  --sim-port N        the simulator's port (default: the config's base_url port, 8748; 0 = any free)
  --smtp-port N       the mail catcher's port (default: the config's smtp URL port, 2525; 0 = any free)
  --raw               show the daemon's log as the JSON lines it writes`;

const command: Command = async (args, io) => {
  const { values } = parseArgs({
    args: [...args],
    options: {
      config: { type: 'string' },
      listen: { type: 'string' },
      'state-dir': { type: 'string' },
      'sim-port': { type: 'string' },
      'smtp-port': { type: 'string' },
      raw: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) {
    io.stdout(`Usage: whatsgate-monitor ${USAGE}\n`);
    return EXIT_OK;
  }
  if (values.listen !== undefined && typeof parseListen(values.listen) === 'string') {
    throw new UsageError(`--listen must be host:port, e.g. 127.0.0.1:8749: ${values.listen}`);
  }
  const configPath = values.config ?? DEFAULT_DEMO_CONFIG;
  let text: string;
  let settings: ReturnType<typeof readDemoSettings>;
  try {
    text = readFileSync(configPath, 'utf8');
    settings = readDemoSettings(text);
  } catch (err) {
    if (err instanceof DemoConfigError) throw new UsageError(`${configPath}: ${err.message}`);
    throw new UsageError(`cannot read ${configPath}: ${(err as Error).message}`);
  }
  const simPort = port('--sim-port', values['sim-port']) ?? portOf(settings.baseUrl);
  const smtpFlag = port('--smtp-port', values['smtp-port']);
  const smtpPort = smtpFlag ?? (settings.smtpUrl === null ? null : portOf(settings.smtpUrl));
  const stateDir = values['state-dir'] ?? settings.stateDir;

  const out = new Output(io);
  const cleanup: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of cleanup.reverse()) await close().catch(() => undefined);
    cleanup.length = 0;
  };

  try {
    mkdirSync(stateDir, { recursive: true });

    // 1. The simulator, numbering its devices from the config's first one.
    let sim: Simulator;
    try {
      sim = await startSimulator({
        port: simPort,
        devices: settings.devices.length,
        first: settings.devices[0] ?? '100000000',
        token: settings.token,
        flap: true,
        log: (line) => out.line('sim', line),
      });
    } catch (err) {
      out.line('demo', listenProblem('the simulator', simPort, '--sim-port', err));
      return EXIT_FAILURE;
    }
    cleanup.push(() => sim.close());
    // Devices the simulator did not number (a config with gaps) are created connected.
    const known = new Set(sim.devices().map((d) => d.device));
    for (const device of settings.devices) if (!known.has(device)) sim.setStatus(device, 'connected');
    // Flap changes apply on requests; ticking logs them when they happen. The stall drill
    // (src/demo/delivery-drill.ts) runs on the same tick.
    sim.setTraffic(STALL_DRILL.trafficPerMinute);
    const drillDevice = settings.devices[STALL_DRILL.deviceIndex];
    const drillStart = Date.now();
    let drillMode: DrillMode = 'normal';
    const ticker = setInterval(() => {
      sim.tick();
      const mode = drillModeAt(Date.now() - drillStart);
      if (drillDevice === undefined || mode === drillMode) return;
      drillMode = mode;
      sim.setDelivery(drillDevice, { mode });
      out.line(
        'sim',
        `drill: ${drillDevice} ${mode === 'stall' ? 'stalls (connected, nothing sent)' : 'sends again'}`,
      );
    }, 1_000);
    cleanup.push(() => {
      clearInterval(ticker);
      return Promise.resolve();
    });

    // 2. The mail catcher, when the config has an email channel on this machine.
    const mailDir = join(stateDir, 'mail');
    let catcher: MailCatcher | null = null;
    let mailNote: string;
    if (smtpPort === null) {
      mailNote = 'no email channel on 127.0.0.1 in the config: no mail catcher';
    } else {
      try {
        catcher = await startMailCatcher({
          dir: mailDir,
          port: smtpPort,
          onMail: (mail) => out.line('mail', `${mail.subject} → ${shortPath(mail.file)}`),
        });
        const started = catcher;
        cleanup.push(() => started.close());
        mailNote = `each email is saved in ${shortPath(mailDir)}/ (lines "mail | …")`;
      } catch (err) {
        if (!(err instanceof MailCatcherUnavailableError)) {
          out.line('demo', listenProblem('the mail catcher', smtpPort, '--smtp-port', err));
          return EXIT_FAILURE;
        }
        const target = mailTarget(settings.smtpUrl, smtpFlag, null);
        mailNote = `no mail catcher (${err.message}); mail goes to ${target ?? 'nowhere'}`;
      }
    }

    // 3. The config the daemon runs with: the file itself, or a copy with the ports in use.
    const overrides: { -readonly [K in keyof DemoOverrides]: DemoOverrides[K] } = {};
    if (values.listen !== undefined) overrides.listen = values.listen;
    if (values['state-dir'] !== undefined) overrides.stateDir = values['state-dir'];
    if (sim.baseUrl !== settings.baseUrl) overrides.baseUrl = sim.baseUrl;
    const smtpUrl = mailTarget(settings.smtpUrl, smtpFlag, catcher?.url ?? null);
    if (smtpUrl !== null && smtpUrl !== settings.smtpUrl) overrides.smtpUrl = smtpUrl;
    const derived = applyDemoOverrides(text, overrides);
    let runConfig = configPath;
    if (derived !== text) {
      runConfig = join(stateDir, DERIVED_CONFIG);
      writeFileSync(runConfig, derived);
    }

    // 4. The daemon. In its own process group, so that the terminal's Ctrl-C reaches only this
    // launcher, which then stops the daemon with exactly one SIGTERM.
    const child = spawn(process.execPath, [CLI_PATH, 'run', '--config', runConfig], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: io.env,
    });
    const killOnExit = (): void => {
      if (isRunning(child)) child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    cleanup.push(() => {
      process.off('exit', killOnExit);
      return Promise.resolve();
    });
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', (err) => {
        out.line('demo', `cannot start the daemon: ${err.message}`);
        resolve(EXIT_FAILURE);
      });
    });

    createInterface({ input: child.stdout }).on('line', (line) => {
      out.line('daemon', values.raw === true ? line : formatLogLine(line));
      if (!line.includes('"whatsgate-monitor started"')) return;
      const listen = daemonUrl(line);
      if (listen !== null) {
        out.banner(
          banner({
            simulator: sim,
            daemonPid: child.pid ?? 0,
            daemonUrl: listen,
            configArg: shortPath(runConfig),
            mailNote,
            devices: settings.devices,
          }),
        );
      }
    });
    createInterface({ input: child.stderr }).on('line', (line) => out.line('daemon', line));

    // 5. Until Ctrl-C (or SIGTERM), or until the daemon ends by itself.
    const outcome = await new Promise<{ signal: NodeJS.Signals } | { code: number | null }>((resolve) => {
      const onSignal = (signal: NodeJS.Signals): void => resolve({ signal });
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      cleanup.push(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        return Promise.resolve();
      });
      void exited.then((code) => resolve({ code }));
    });

    if ('code' in outcome) {
      out.line('demo', `the daemon exited with code ${outcome.code ?? 'null'}: see its lines above`);
      return EXIT_FAILURE;
    }
    out.line(
      'demo',
      `${outcome.signal}: stopping the daemon, the simulator and the mail catcher (Ctrl-C again kills)`,
    );
    const code = await stopChild(child, exited);
    out.line('demo', code === 0 ? 'stopped' : `the daemon stopped with code ${code ?? 'null'}`);
    return code === 0 ? EXIT_OK : EXIT_FAILURE;
  } finally {
    await closeAll();
  }
};
export default command;

/**
 * SIGTERM, then SIGKILL if it has not exited in time or Ctrl-C comes again. A signal within the
 * first second is the same Ctrl-C arriving twice (`npm run` forwards it to the launcher, which the
 * terminal has signalled already), not a second one.
 */
async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (!isRunning(child)) return exited;
  const since = Date.now();
  const kill = (): void => {
    if (isRunning(child)) child.kill('SIGKILL');
  };
  const force = (): void => {
    if (Date.now() - since >= DUPLICATE_SIGNAL_MS) kill();
  };
  const timer = setTimeout(kill, STOP_TIMEOUT_MS);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  try {
    child.kill('SIGTERM');
    return await exited;
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', force);
    process.off('SIGTERM', force);
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

function port(flag: string, text: string | undefined): number | null {
  if (text === undefined) return null;
  if (!/^\d+$/.test(text) || Number(text) > 65_535) {
    throw new UsageError(`${flag} must be a port number from 0 to 65535: ${text}`);
  }
  return Number(text);
}

function listenProblem(what: string, port: number, flag: string, err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'EADDRINUSE') {
    return `${what} cannot listen on 127.0.0.1:${port}: the port is in use (another demo running?). Try ${flag} 0.`;
  }
  return `${what} did not start: ${err instanceof Error ? err.message : String(err)}`;
}

function daemonUrl(line: string): string | null {
  try {
    const entry = JSON.parse(line) as { listen?: unknown };
    return typeof entry.listen === 'string' ? entry.listen : null;
  } catch {
    return null;
  }
}

/** A path as the user would type it from here. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

interface BannerFacts {
  readonly simulator: Simulator;
  readonly daemonPid: number;
  readonly daemonUrl: string;
  readonly configArg: string;
  readonly mailNote: string;
  readonly devices: readonly string[];
}

function banner(f: BannerFacts): string {
  const second = f.devices[1] ?? f.devices[0] ?? 'DEVICE';
  const status = `npx whatsgate-monitor status --config ${f.configArg}`;
  return [
    'whatsgate-monitor demo is running. Ctrl-C stops everything.',
    '',
    `  simulator  ${f.simulator.baseUrl} (token ${f.simulator.token}, ${f.devices.length} devices, scripted drops)`,
    `  daemon     ${f.daemonUrl} (pid ${f.daemonPid})`,
    '',
    `  metrics    ${f.daemonUrl}/metrics`,
    `  devices    ${f.daemonUrl}/api/v1/devices`,
    `  status     ${status}`,
    `  history    npx whatsgate-monitor history ${second} --config ${f.configArg}`,
    `  alerts     "device.down account=… device=… status=…" lines below; ${f.mailNote}`,
    `  first drop ${second} at about 20 s, DOWN a few seconds later, back at about 60 s`,
    `  drop one   curl -X POST -d '{"status":"disconnected"}' ${f.simulator.controlUrl}/devices/${f.devices[0] ?? 'DEVICE'}/status`,
  ].join('\n');
}

/** Lines prefixed by their source, so the three voices stay apart. */
class Output {
  constructor(private readonly io: CommandIo) {}

  line(source: 'sim' | 'mail' | 'daemon' | 'demo', text: string): void {
    // The daemon's lines carry their own time; the others get the same column.
    const time = source === 'daemon' ? '' : `${formatClock(new Date().toISOString())} `;
    this.io.stdout(`${source.padEnd(6)}| ${time}${text}\n`);
  }

  banner(text: string): void {
    const rule = '─'.repeat(78);
    this.io.stdout(`${rule}\n${text}\n${rule}\n`);
  }
}
