import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { DemoConfigError, applyDemoOverrides, mailTarget, portOf, readDemoSettings } from './demo-config.js';

const DEMO = readFileSync(new URL('../../config/demo.yml', import.meta.url), 'utf8');

describe('the demo config', () => {
  it('tells the launcher where the simulator and the mail catcher must listen', () => {
    expect(readDemoSettings(DEMO)).toEqual({
      stateDir: 'demo-state',
      listen: '127.0.0.1:8749',
      baseUrl: 'http://127.0.0.1:8748/api',
      token: 'sim-token',
      devices: ['100000000', '100000001', '100000002', '100000003', '100000004'],
      smtpUrl: 'smtp://127.0.0.1:2525',
    });
  });

  it('is returned unchanged when no override changes anything', () => {
    expect(applyDemoOverrides(DEMO, {})).toBe(DEMO);
    expect(applyDemoOverrides(DEMO, { listen: '127.0.0.1:8749', smtpUrl: 'smtp://127.0.0.1:2525' })).toBe(
      DEMO,
    );
  });

  it('takes other ports and another state folder, keeping comments, and stays valid', () => {
    const text = applyDemoOverrides(DEMO, {
      stateDir: '/tmp/x',
      listen: '127.0.0.1:18749',
      baseUrl: 'http://127.0.0.1:40000/api',
      smtpUrl: 'smtp://127.0.0.1:40001',
    });
    expect(readDemoSettings(text)).toMatchObject({
      stateDir: '/tmp/x',
      listen: '127.0.0.1:18749',
      baseUrl: 'http://127.0.0.1:40000/api',
      smtpUrl: 'smtp://127.0.0.1:40001',
    });
    expect(text).toContain('public_url: http://127.0.0.1:18749');
    expect(text).toContain("# The simulator's default token; not a secret.");
    const config = parseConfig(text, { env: {} });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 18749 });
    expect(config.accounts[0]?.baseUrl).toBe('http://127.0.0.1:40000/api');
  });

  it('leaves public_url alone while the port is not known (listen port 0)', () => {
    expect(applyDemoOverrides(DEMO, { listen: '127.0.0.1:0' })).toContain(
      'public_url: http://127.0.0.1:8749',
    );
  });

  it.each([
    [
      'a gateway on another machine',
      DEMO.replace('http://127.0.0.1:8748/api', 'https://acme.whatsgate.net/api'),
      /base_url must point at this machine/,
    ],
    [
      'no devices',
      'accounts: [{ name: a, base_url: "http://127.0.0.1:1/api", token: t, devices: [] }]',
      /devices must list/,
    ],
    ['not a mapping', '- a\n- b\n', /mapping/],
    ['broken YAML', 'a: [', /not valid YAML/],
  ])('rejects %s', (_what, text, message) => {
    expect(() => readDemoSettings(text)).toThrow(DemoConfigError);
    expect(() => readDemoSettings(text)).toThrow(message);
  });

  it.each([
    ['http://127.0.0.1:8748/api', 8748],
    ['smtp://127.0.0.1', 25],
    ['https://x', 443],
  ])('portOf(%s) = %i', (url, port) => {
    expect(portOf(url)).toBe(port);
  });
});

describe('mailTarget: where the demo daemon sends its mail', () => {
  const config = 'smtp://127.0.0.1:2525';
  it.each([
    ['the catcher, wherever it listens', config, 2600, 'smtp://127.0.0.1:41234', 'smtp://127.0.0.1:41234'],
    [
      'without a catcher, --smtp-port (an installed package has no smtp-server)',
      config,
      2600,
      null,
      'smtp://127.0.0.1:2600',
    ],
    ['without a catcher or flag, the config', config, null, null, config],
    ['without a catcher, --smtp-port 0 leaves the config', config, 0, null, config],
    ['no loopback email channel: nothing', null, 2600, null, null],
  ] as const)('%s', (_, configUrl, flag, catcher, expected) => {
    expect(mailTarget(configUrl, flag, catcher)).toBe(expected);
  });
});
