import { parseArgs } from 'node:util';
import {
  DEFAULT_SIM_DEVICES,
  DEFAULT_SIM_FIRST,
  DEFAULT_SIM_RATE_LIMIT,
  DEFAULT_SIM_TOKEN,
  MAX_SIM_TRAFFIC,
  startSimulator,
} from '../simulator/server.js';
import { EXIT_OK, UsageError, type Command } from './command.js';

/** Next to the monitor's own 8749, and outside the Prometheus exporters' 9100–9999. */
export const DEFAULT_SIM_PORT = 8748;
const MAX_DEVICES = 100_000;

const USAGE = `simulate [--port N] [--devices N] [--first NUMBER] [--token T] [--flap] [--rate-limit N] [--traffic N]
  --port N         port on 127.0.0.1 (default ${DEFAULT_SIM_PORT}; 0 picks a free one)
  --devices N      how many devices (default ${DEFAULT_SIM_DEVICES})
  --first NUMBER   first device number, digits only (default ${DEFAULT_SIM_FIRST})
  --token T        the Access-Token it accepts (default ${DEFAULT_SIM_TOKEN})
  --flap           scripted drops and recoveries (see src/simulator/flap-script.ts)
  --rate-limit N   API calls per minute before 429 (default ${DEFAULT_SIM_RATE_LIMIT}; 0 = off)
  --traffic N      background customer messages per minute on each connected device, so
                   /reports/balance counts move (default 0 = off; see src/simulator/messages.ts)`;

const command: Command = async (args, io) => {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: 'string' },
      devices: { type: 'string' },
      first: { type: 'string' },
      token: { type: 'string' },
      flap: { type: 'boolean' },
      'rate-limit': { type: 'string' },
      traffic: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) {
    io.stdout(`Usage: whatsgate-monitor ${USAGE}\n`);
    return EXIT_OK;
  }
  const port = wholeNumber('--port', values.port, DEFAULT_SIM_PORT, 65_535);
  const devices = wholeNumber('--devices', values.devices, DEFAULT_SIM_DEVICES, MAX_DEVICES);
  const rateLimit = wholeNumber('--rate-limit', values['rate-limit'], DEFAULT_SIM_RATE_LIMIT, 1_000_000);
  const traffic = wholeNumber('--traffic', values.traffic, 0, MAX_SIM_TRAFFIC);
  const first = (values.first ?? DEFAULT_SIM_FIRST).replace(/^\+/, '');
  if (!/^\d{1,20}$/.test(first))
    throw new UsageError(`--first must be a phone number (digits): ${values.first}`);
  const token = values.token ?? DEFAULT_SIM_TOKEN;
  if (token === '' || /[\r\n]/.test(token)) throw new UsageError('--token must be non-empty and on one line');

  const stamp = (): string => new Date().toISOString();
  const sim = await startSimulator({
    port,
    devices,
    first,
    token,
    flap: values.flap === true,
    rateLimitPerMinute: rateLimit,
    trafficPerMinute: traffic,
    log: (line) => io.stdout(`${stamp()} ${line}\n`),
  });

  const numbers = sim.devices().map((d) => d.device);
  const range =
    numbers.length === 0
      ? 'none'
      : numbers.length === 1
        ? numbers[0]
        : `${numbers[0]}-${numbers[numbers.length - 1]}`;
  io.stdout(
    `WhatsGate simulator: base_url ${sim.baseUrl} token ${sim.token} devices ${range} (${numbers.length})` +
      ` rate_limit ${rateLimit === 0 ? 'off' : `${rateLimit}/min`} flap ${values.flap === true ? 'on' : 'off'}` +
      (traffic === 0 ? '' : ` traffic ${traffic}/min per device`) +
      ` control ${sim.controlUrl}/\n`,
  );

  // Flap changes apply lazily on requests; ticking makes them show in the log when they happen.
  const ticker = values.flap === true ? setInterval(() => sim.tick(), 1_000) : undefined;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (s: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(s);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  if (ticker !== undefined) clearInterval(ticker);
  await sim.close();
  io.stdout(`${stamp()} ${signal}: simulator stopped\n`);
  return EXIT_OK;
};
export default command;

function wholeNumber(flag: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) > max) {
    throw new UsageError(`${flag} must be a whole number from 0 to ${max}: ${text}`);
  }
  return Number(text);
}
