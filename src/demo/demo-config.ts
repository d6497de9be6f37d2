// What the demo launcher reads from config/demo.yml (where the simulator and the mail catcher must
// listen for the daemon to find them), and the same file with other ports or another state
// folder, for `demo --listen … --sim-port …` (tests, or a machine where 8749 is taken).
// Comments and layout survive: the YAML is edited as a document, not re-serialised from data.

import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';

export interface DemoSettings {
  readonly stateDir: string;
  readonly listen: string;
  /** The first account's base_url: the simulator serves it. */
  readonly baseUrl: string;
  readonly token: string;
  /** Device numbers of the first account, digits only, in file order. */
  readonly devices: readonly string[];
  /** The `smtp` URL of the email channels that point at this machine: the mail catcher's. */
  readonly smtpUrl: string | null;
}

export interface DemoOverrides {
  readonly stateDir?: string;
  readonly listen?: string;
  readonly baseUrl?: string;
  readonly smtpUrl?: string;
}

export class DemoConfigError extends Error {
  override name = 'DemoConfigError';
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function readDemoSettings(text: string): DemoSettings {
  const doc = parse(text);
  const str = (path: readonly (string | number)[], fallback?: string): string => {
    const value: unknown = doc.getIn(path);
    if (typeof value === 'string' || typeof value === 'number') return String(value);
    if (fallback !== undefined) return fallback;
    throw new DemoConfigError(`the demo config needs ${path.join('.')}`);
  };
  const baseUrl = str(['accounts', 0, 'base_url']);
  if (!isLoopbackUrl(baseUrl)) {
    throw new DemoConfigError(
      `accounts[0].base_url must point at this machine for the simulator: ${baseUrl}`,
    );
  }
  const devicesNode: unknown = doc.getIn(['accounts', 0, 'devices']);
  const devices = isSeq(devicesNode)
    ? devicesNode.items.map((item) => {
        const number: unknown = isMap(item) ? item.get('number') : undefined;
        return typeof number === 'string' || typeof number === 'number'
          ? String(number).replace(/\D/g, '')
          : '';
      })
    : [];
  if (devices.length === 0 || devices.some((d) => d === '')) {
    throw new DemoConfigError('accounts[0].devices must list device numbers');
  }
  const smtp = loopbackSmtpUrls(doc);
  return {
    stateDir: str(['state_dir'], '/var/lib/whatsgate-monitor'),
    listen: str(['listen'], '127.0.0.1:8749'),
    baseUrl,
    token: str(['accounts', 0, 'token']),
    devices,
    smtpUrl: smtp[0]?.url ?? null,
  };
}

/** The config text with the overrides applied; the input text itself when none changes anything. */
export function applyDemoOverrides(text: string, overrides: DemoOverrides): string {
  const doc = parse(text);
  const before = doc.toString();
  if (overrides.stateDir !== undefined) doc.setIn(['state_dir'], overrides.stateDir);
  if (overrides.listen !== undefined) {
    doc.setIn(['listen'], overrides.listen);
    // Links in alerts should lead to the daemon that sent them (unknown yet for port 0).
    if (doc.hasIn(['public_url']) && !overrides.listen.endsWith(':0')) {
      doc.setIn(['public_url'], `http://${overrides.listen}`);
    }
  }
  if (overrides.baseUrl !== undefined) doc.setIn(['accounts', 0, 'base_url'], overrides.baseUrl);
  if (overrides.smtpUrl !== undefined) {
    for (const { path } of loopbackSmtpUrls(doc)) doc.setIn(path, overrides.smtpUrl);
  }
  const after = doc.toString();
  return after === before ? text : after;
}

function parse(text: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    throw new DemoConfigError(`the demo config is not valid YAML: ${doc.errors[0]?.message}`);
  if (!isMap(doc.contents)) throw new DemoConfigError('the demo config must be a YAML mapping');
  return doc;
}

function loopbackSmtpUrls(doc: Document): { path: (string | number)[]; url: string }[] {
  const channels: unknown = doc.getIn(['notify', 'channels']);
  if (!isMap(channels)) return [];
  const found: { path: (string | number)[]; url: string }[] = [];
  for (const pair of channels.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : null;
    const channel = pair.value;
    if (name === null || !isMap(channel) || channel.get('type') !== 'email') continue;
    const url: unknown = channel.get('smtp');
    if (typeof url === 'string' && isLoopbackUrl(url))
      found.push({ path: ['notify', 'channels', name, 'smtp'], url });
  }
  return found;
}

function isLoopbackUrl(text: string): boolean {
  try {
    return LOOPBACK.has(new URL(text).hostname);
  } catch {
    return false;
  }
}

/**
 * Where the daemon's loopback email channels send: the mail catcher when it runs; without one (an
 * installed package has no smtp-server) `--smtp-port` on the config's host, so the flag is never
 * ignored; else the config's own URL. Null when the config has no loopback email channel.
 */
export function mailTarget(
  configUrl: string | null,
  portFlag: number | null,
  catcherUrl: string | null,
): string | null {
  if (configUrl === null) return null;
  if (catcherUrl !== null) return catcherUrl;
  if (portFlag === null || portFlag === 0) return configUrl;
  const url = new URL(configUrl);
  url.port = String(portFlag);
  return url.toString().replace(/\/$/, '');
}

/** The port of a URL, or the scheme's default. */
export function portOf(url: string): number {
  const parsed = new URL(url);
  if (parsed.port !== '') return Number(parsed.port);
  return { 'http:': 80, 'https:': 443, 'smtp:': 25, 'smtps:': 465 }[parsed.protocol] ?? 0;
}
